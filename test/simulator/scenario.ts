import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadScenarioFile, parseScenario, scenarioFromObject } from '../../src/simulator/scenario.js'
import { scenarioProblems } from '../fixtures/simulator-helpers.js'

const SCENARIO_DIR = join(import.meta.dirname, '..', '..', 'scenarios')

/** A valid scenario; each case below breaks one line of it. */
const VALID = `
name: test
pods:
  - namespace: default
    name: web-6d8c6b9c8f-x7k2p
    services: [web]
    from: 0s
    until: 120s
    phases:
      - at: 0s
        rps: 10
        statuses: {200: 0.9, 500: 0.1}
        latency: {p50: 20ms, p99: 80ms}
      - at: 60s
        rps: 5
        errorRatio: 0.5
        latency: {p50: 30ms, p90: 50ms, p99: 90ms}
faults:
  - kind: slow
    from: 10s
    until: 20s
    delay: 2s
`

t.test('the base scenario is valid and normalised', async (t) => {
  const s = parseScenario(VALID, 'test.yaml')
  const pod = s.pods[0]
  t.equal(pod?.untilMs, 120_000, 'until is converted to milliseconds')
  t.same(pod?.phases[0]?.statuses, [{ code: 200, share: 0.9 }, { code: 500, share: 0.1 }], 'statuses become sorted shares')
  t.same(pod?.phases[1]?.statuses, [{ code: 200, share: 0.5 }, { code: 500, share: 0.5 }], 'errorRatio means 500 for that share and 200 for the rest')
  t.same(pod?.phases[1]?.latencyNs, { p50: 30e6, p90: 50e6, p99: 90e6 }, 'latency is in nanoseconds')
  const p90 = pod?.phases[0]?.latencyNs.p90 ?? 0
  t.ok(p90 > 20e6 && p90 < 80e6, `an omitted p90 lies between p50 and p99 (got ${p90})`)
  t.same(s.faults, [{ kind: 'slow', fromMs: 10_000, untilMs: 20_000, delayMs: 2_000 }], 'faults are normalised')
  t.ok(Object.isFrozen(s) && Object.isFrozen(s.pods), 'the scenario is frozen')
})

t.test('statuses that do not sum to 1 are rejected', async (t) => {
  t.same(scenarioProblems(VALID.replace('{200: 0.9, 500: 0.1}', '{200: 0.9, 500: 0.2}')), ['pods[0].phases[0].statuses: shares must sum to 1 (got 1.1)'], 'exact message')
})

t.test('statuses and errorRatio together are rejected', async (t) => {
  t.same(
    scenarioProblems(VALID.replace('        errorRatio: 0.5\n', '        errorRatio: 0.5\n        statuses: {200: 1}\n')),
    ['pods[0].phases[1]: set exactly one of statuses and errorRatio'],
    'exact message',
  )
})

t.test('a phase with neither statuses nor errorRatio is rejected', async (t) => {
  t.same(scenarioProblems(VALID.replace('        errorRatio: 0.5\n', '')), ['pods[0].phases[1]: set exactly one of statuses and errorRatio'], 'exact message')
})

t.test('an errorRatio outside 0..1 is rejected', async (t) => {
  t.same(scenarioProblems(VALID.replace('errorRatio: 0.5', 'errorRatio: 1.5')), ['pods[0].phases[1].errorRatio: must be between 0 and 1'], 'exact message')
})

t.test('a negative rps is rejected', async (t) => {
  t.same(scenarioProblems(VALID.replace('rps: 5', 'rps: -5')), ['pods[0].phases[1].rps: must be >= 0'], 'exact message')
})

t.test('a bad duration is rejected', async (t) => {
  t.same(
    scenarioProblems(VALID.replace('until: 120s', 'until: 2 minutes')),
    ['pods[0].until: must be a duration like 500ms, 10s, 2m or 1h (got "2 minutes")'],
    'exact message',
  )
})

t.test('an unknown key is rejected', async (t) => {
  t.same(scenarioProblems(VALID.replace('    services: [web]\n', '    services: [web]\n    colour: blue\n')), ['pods[0].colour: unknown key'], 'exact message')
})

t.test('phases out of order are rejected', async (t) => {
  t.same(scenarioProblems(VALID.replace('at: 60s', 'at: 0s')), ['pods[0].phases[1].at: must be after phases[0].at (0s)'], 'exact message')
})

t.test('the first phase must start at 0s or when the pod appears', async (t) => {
  t.same(scenarioProblems(VALID.replace('from: 0s', 'from: 5s')), [], 'at 0s with a later from is fine')
  t.same(scenarioProblems(VALID.replace('from: 0s', 'from: 5s').replace('at: 0s', 'at: 5s')), [], 'at from is fine')
  t.same(scenarioProblems(VALID.replace('from: 0s', 'from: 5s').replace('at: 0s', 'at: 10s')), ["pods[0].phases[0].at: must be 0s or the pod's from (5s)"], 'exact message')
})

t.test('a phase after the pod is gone is rejected', async (t) => {
  t.same(scenarioProblems(VALID.replace('until: 120s', 'until: 30s')), ["pods[0].phases[1].at: must be before the pod's until (30s)"], 'exact message')
})

t.test('until not after from is rejected, for pods and faults', async (t) => {
  t.same(
    scenarioProblems(VALID.replace('from: 0s\n    until: 120s', 'from: 0s\n    until: 0s').replace('until: 20s', 'until: 10s')),
    ['pods[0].until: must be after from (0s)', "pods[0].phases[0].at: must be before the pod's until (0s)", "pods[0].phases[1].at: must be before the pod's until (0s)", 'faults[0].until: must be after from (10s)'],
    'every problem is listed',
  )
})

t.test('a bad fault kind is rejected', async (t) => {
  t.same(
    scenarioProblems(VALID.replace('kind: slow', 'kind: flaky')),
    ['faults[0].kind: must be one of unavailable, slow, compile-error, cut, malformed (got "flaky")'],
    'exact message',
  )
})

t.test('a slow fault needs a delay and other kinds must not have one', async (t) => {
  t.same(scenarioProblems(VALID.replace('    delay: 2s\n', '')), ['faults[0].delay: is required for kind slow'], 'slow without delay')
  t.same(scenarioProblems(VALID.replace('kind: slow', 'kind: cut')), ['faults[0].delay: only allowed for kind slow'], 'delay on another kind')
})

t.test('missing fields, bad names and bad status codes are named by path', async (t) => {
  t.same(scenarioProblems('pods: []\n'), ['name: is required'], 'missing top-level name')
  t.same(scenarioProblems(VALID.replace('namespace: default', 'namespace: Default')), ['pods[0].namespace: must be a DNS-1123 label (got "Default")'], 'bad namespace')
  t.same(scenarioProblems(VALID.replace('{200: 0.9, 500: 0.1}', '{200: 0.9, 700: 0.1}')), ['pods[0].phases[0].statuses.700: not an HTTP status code (100 to 599)', 'pods[0].phases[0].statuses: shares must sum to 1 (got 0.9)'], 'bad status code')
  t.same(scenarioProblems(VALID.replace('p50: 30ms', 'p50: 60ms')), ['pods[0].phases[1].latency: must have p50 <= p90 <= p99'], 'quantiles out of order')
})

t.test('duplicate pods are rejected', async (t) => {
  const pod = { namespace: 'a', name: 'p', phases: [{ at: '0s', rps: 1, errorRatio: 0, latency: { p50: '1ms', p99: '2ms' } }] }
  t.throws(() => scenarioFromObject({ name: 'dup', pods: [pod, pod] }), { errors: ['pods[1].name: duplicate of pods[0] (a/p)'] }, 'exact message')
})

t.test('invalid YAML is a ScenarioError naming the source', async (t) => {
  const errors = scenarioProblems('name: [unclosed\n')
  t.equal(errors.length, 1, 'one problem')
  t.match(errors[0], /^\(root\): test\.yaml is not valid YAML: /, 'names the source')
})

t.test('every shipped scenario loads', async (t) => {
  const files = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yaml'))
  t.ok(files.length >= 3, 'the three scenarios are shipped')
  for (const file of files) {
    const s = loadScenarioFile(join(SCENARIO_DIR, file))
    t.ok(s.pods.length > 0, `${file} has pods`)
  }
})

t.test('the shipped scenarios tell the documented stories', async (t) => {
  const steady = loadScenarioFile(join(SCENARIO_DIR, 'steady-canary.yaml'))
  const canary = steady.pods.filter((p) => p.name.endsWith('-aaaaa'))
  t.equal(canary.length, 1, 'steady-canary has one canary pod')
  t.same(canary[0]?.phases.map((p) => [p.rps, p.statuses]), [[10, [{ code: 200, share: 0.18 }, { code: 500, share: 0.82 }]]], 'constant 10 rps, 82% errors')
  const outage = loadScenarioFile(join(SCENARIO_DIR, 'pixie-outage.yaml'))
  t.same(outage.faults, [{ kind: 'unavailable', fromMs: 20_000, untilMs: 80_000, delayMs: 0 }], 'pixie-outage is unavailable from 20s to 80s')
  const argo = loadScenarioFile(join(SCENARIO_DIR, 'argo-canary.yaml'))
  t.same(new Set(argo.pods.map((p) => p.namespace)), new Set(['default', 'px-sock-shop']), 'argo-canary spans two namespaces')
})
