import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeLargeScenario } from '../../src/simulator/scenario.js'
import { loadScenarioFile, parseScenario, scenarioFromObject } from '../../src/simulator/scenario.js'
import { scenarioProblems } from '../fixtures/simulator-helpers.js'

const LARGE = join(import.meta.dirname, '..', '..', 'scenarios', 'large-cluster.yaml')

const LISTED = `
name: mixed
pods:
  - namespace: default
    name: web-6d8c6b9c8f-x7k2p
    phases:
      - {at: 0s, rps: 10, errorRatio: 0, latency: {p50: 20ms, p99: 80ms}}
generate: {pods: 12, namespaces: 3, podsPerService: 2}
`

t.test('scenarios/large-cluster.yaml loads to 10,000 distinct pods, quickly', async (t) => {
  const started = performance.now()
  const s = loadScenarioFile(LARGE)
  const elapsed = performance.now() - started
  t.equal(s.name, 'large-cluster', 'its name')
  t.equal(s.pods.length, 10_000, '10,000 pods')
  t.equal(new Set(s.pods.map((p) => `${p.namespace}/${p.name}`)).size, 10_000, 'every pod name is unique')
  t.equal(new Set(s.pods.map((p) => p.namespace)).size, 20, 'spread over 20 namespaces')
  t.equal(new Set(s.pods.map((p) => p.services[0])).size, 2_000, '2,000 services of 5 pods')
  // Schema compilation included; the generated pods skip the schema.
  t.ok(elapsed < 2_000, `loads in well under two seconds (took ${Math.round(elapsed)} ms)`)
  t.ok(readFileSync(LARGE, 'utf8').length < 2_000, 'the file itself is small')
})

t.test('generate uses the makeLargeScenario model', async (t) => {
  const fromFile = scenarioFromObject({ name: 'g', generate: { pods: 300, namespaces: 7, podsPerService: 3 } })
  const fromCode = makeLargeScenario(300, { namespaces: 7, podsPerService: 3 })
  t.same(fromFile.pods, fromCode.pods, 'the same pods as makeLargeScenario with the same options')
  const defaults = scenarioFromObject({ name: 'g', generate: { pods: 100 } })
  t.same(defaults.pods, makeLargeScenario(100).pods, 'namespaces and podsPerService default to 20 and 5, as in makeLargeScenario')
})

t.test('listed pods come first, generated pods after them', async (t) => {
  const s = parseScenario(LISTED, 'mixed.yaml')
  t.equal(s.pods.length, 13, 'one listed pod plus 12 generated')
  t.equal(s.pods[0]?.name, 'web-6d8c6b9c8f-x7k2p', 'the listed pod is first')
  t.same(s.pods.slice(1), makeLargeScenario(12, { namespaces: 3, podsPerService: 2 }).pods, 'then the generated ones, in model order')
  t.ok(Object.isFrozen(s.pods) && Object.isFrozen(s.pods[5]), 'generated pods are frozen like listed ones')
})

t.test('pods may be left out when generate is set, but not both', async (t) => {
  t.same(scenarioProblems('name: g\ngenerate: {pods: 3}\n'), [], 'generate alone is enough')
  t.same(scenarioProblems('name: g\n'), ['pods: is required'], 'neither pods nor generate: pods is required')
  t.same(scenarioProblems('name: g\npods: []\n'), [], 'an empty pod list is still valid')
})

t.test('a listed pod with a generated pod name is a duplicate', async (t) => {
  const generated = makeLargeScenario(3, { namespaces: 1 }).pods[2]
  const text = LISTED.replace('namespace: default', `namespace: ${generated?.namespace}`)
    .replace('web-6d8c6b9c8f-x7k2p', generated?.name ?? '')
    .replace('{pods: 12, namespaces: 3, podsPerService: 2}', '{pods: 3, namespaces: 1}')
  t.same(scenarioProblems(text), [`generate: pod 2 (${generated?.namespace}/${generated?.name}) duplicates pods[0]`], 'exact message')
})

t.test('invalid generate sections give exact messages naming the field', async (t) => {
  const cases: [string, string[]][] = [
    ['{pods: 0}', ['generate.pods: must be an integer from 1 to 100000']],
    ['{pods: 100001}', ['generate.pods: must be an integer from 1 to 100000']],
    ['{pods: 1.5}', ['generate.pods: must be an integer from 1 to 100000']],
    ['{pods: ten}', ['generate.pods: must be an integer from 1 to 100000']],
    ['{namespaces: 2}', ['generate.pods: is required']],
    ['{pods: 5, namespaces: 0}', ['generate.namespaces: must be an integer from 1 to 1000']],
    ['{pods: 5, podsPerService: 1001}', ['generate.podsPerService: must be an integer from 1 to 1000']],
    ['{pods: 5, replicas: 2}', ['generate.replicas: unknown key']],
    ['10000', ['generate: must be object']],
  ]
  for (const [value, want] of cases) {
    t.same(scenarioProblems(`name: g\ngenerate: ${value}\n`), want, `generate: ${value}`)
  }
})
