import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NAMESPACE_PATTERN } from '../../src/pixie/scripts/http-pod-stats.js'
import { DURATION_PATTERN } from '../../src/duration.js'
import { FAULT_KINDS, loadScenarioFile, parseScenario, SCENARIO_SCHEMA_URL, scenarioFromObject, scenarioValidator } from '../../src/simulator/scenario.js'
import { expectedCounts } from '../../src/simulator/traffic.js'
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
    ['pods[0].until: must be a duration like 500ms, 10s, 1m30s, 1.5m or 1h (got "2 minutes")'],
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

const SCHEMA_FILE = join(import.meta.dirname, '..', '..', 'schemas', 'scenario.schema.json')

t.test('every shipped scenario validates', async (t) => {
  const files = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yaml'))
  t.same(
    files.sort(),
    ['4xx-canary.yaml', 'argo-canary.yaml', 'large-cluster.yaml', 'late-outage.yaml', 'late-turn.yaml', 'latency-regression.yaml', 'no-traffic.yaml', 'one-bad-pod.yaml', 'pixie-outage.yaml', 'pod-churn.yaml', 'slow-canary.yaml', 'steady-canary.yaml'],
    'the documented scenarios are shipped',
  )
  for (const file of files) {
    const s = loadScenarioFile(join(SCENARIO_DIR, file))
    t.ok(s.pods.length > 0, `${file} is valid and has pods`)
    t.match(readFileSync(join(SCENARIO_DIR, file), 'utf8'), /^# SIMULATED DATA\. .*\n#\n# /, `${file} starts with its story`)
  }
})

t.test('the validator compiles schemas/scenario.schema.json itself', async (t) => {
  t.equal(fileURLToPath(SCENARIO_SCHEMA_URL), SCHEMA_FILE, 'the schema URL points at the shipped file')
  t.same(scenarioValidator().schema, JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')), 'the compiled schema is that file, parsed')
})

t.test('the full example in docs/scenarios.md validates', async (t) => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'scenarios.md'), 'utf8')
  const example = /### A full example\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1]
  t.ok(example, 'the example is there')
  t.same(scenarioProblems(example ?? ''), [], 'it has no problems')
})

t.test('the schema file agrees with the code constants', async (t) => {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { definitions: Record<string, { pattern?: string; properties?: Record<string, { enum?: string[] }> }> }
  t.equal(schema.definitions['duration']?.pattern, DURATION_PATTERN.source, 'durations: DURATION_PATTERN')
  t.equal(schema.definitions['label']?.pattern, NAMESPACE_PATTERN.source, 'labels: NAMESPACE_PATTERN')
  t.same(schema.definitions['fault']?.properties?.['kind']?.enum, [...FAULT_KINDS], 'fault kinds: FAULT_KINDS')
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

t.test('the new scenarios tell their stories', async (t) => {
  const load = (f: string) => loadScenarioFile(join(SCENARIO_DIR, f))
  const canaries = (f: string) => load(f).pods.filter((p) => p.name.startsWith('canary-demo-7f6d5c9b4b-'))
  const stable = (f: string) => load(f).pods.filter((p) => p.name.startsWith('canary-demo-6d8c6b9c8f-'))

  const idle = canaries('no-traffic.yaml')
  t.same(idle.map((p) => [p.phases.length, p.phases[0]?.rps, p.untilMs]), [[1, 0, Number.POSITIVE_INFINITY]], 'no-traffic: one canary pod, 0 rps, for ever')
  t.ok(stable('no-traffic.yaml').every((p) => (p.phases[0]?.rps ?? 0) > 0), 'no-traffic: the stable pods serve')

  const three = canaries('one-bad-pod.yaml')
  t.same(three.map((p) => p.phases[0]?.statuses.find((s) => s.code === 500)?.share ?? 0).sort(), [0, 0, 0.5], 'one-bad-pod: three canaries, one failing 50%')
  t.ok(stable('one-bad-pod.yaml').length > 0, 'one-bad-pod: with stable pods')

  const fours = canaries('4xx-canary.yaml')
  t.same(fours.map((p) => p.phases.map((ph) => ph.statuses)), [[[{ code: 200, share: 0.7 }, { code: 404, share: 0.3 }]]], '4xx-canary: 30% 404, no 5xx')

  const slow = canaries('slow-canary.yaml')
  t.same(slow.map((p) => p.phases.map((ph) => [ph.latencyNs.p50, ph.latencyNs.p99, ph.statuses])), [[[400e6, 2.5e9, [{ code: 200, share: 1 }]]]], 'slow-canary: p50 400ms, p99 2.5s, no errors')

  t.same(load('late-outage.yaml').faults, [{ kind: 'unavailable', fromMs: 150_000, untilMs: Number.POSITIVE_INFINITY, delayMs: 0 }], 'late-outage: unavailable from 150s on')
  t.same(canaries('late-turn.yaml').map((p) => p.phases.map((ph) => [ph.atMs, ph.statuses.find((x) => x.code === 500)?.share ?? 0])), [[[0, 0], [135_000, 0.25]]], 'late-turn: healthy, then 25 % 500 from 135s')
  t.same(canaries('latency-regression.yaml').map((p) => p.phases.map((ph) => [ph.latencyNs.p99, ph.statuses])), [[[240e6, [{ code: 200, share: 1 }]]]], 'latency-regression: p99 240ms, no errors')
  t.ok(stable('latency-regression.yaml').every((p) => p.phases[0]?.latencyNs.p99 === 80e6), 'latency-regression: stable p99 80ms (3x)')

  const churn = load('pod-churn.yaml').pods.filter((p) => p.name.startsWith('worker-'))
  t.equal(churn.length, 30, 'pod-churn: 30 worker pods')
  t.same(churn.map((p) => p.fromMs), churn.map((_, i) => i * 20_000), 'pod-churn: a new worker every 20 s')
  const alive = (ms: number) => churn.filter((p) => p.fromMs <= ms && ms < p.untilMs).map((p) => p.name)
  t.same([alive(10_000).length, alive(30_000).length, alive(590_000).length, alive(3_600_000).length], [1, 2, 2, 1], 'pod-churn: two alive from 20s to 600s, the last one for good')
  const scenario = load('pod-churn.yaml')
  t.ok(
    churn.every((p) => expectedCounts(scenario, p, p.fromMs, p.fromMs + 40_000).requests === 200),
    'pod-churn: each worker serves 40 s at 5 rps while it lives',
  )
})
