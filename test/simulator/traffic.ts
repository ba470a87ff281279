import t from 'tap'
import { join } from 'node:path'
import { offsetMs, simulateHttpPodStats } from '../../src/simulator/http-pod-stats.js'
import { loadScenarioFile, scenarioFromObject, type PodInput } from '../../src/simulator/scenario.js'
import { buildTraffic, expectedCounts, PodTraffic, renderServices } from '../../src/simulator/traffic.js'
import { cutPoints, SIM_T0 as STARTED_AT, windowParams } from '../fixtures/simulator-helpers.js'


const phased: PodInput = {
  namespace: 'shop',
  name: 'cart-1',
  services: ['cart'],
  from: '5s',
  until: '170s',
  phases: [
    { at: '0s', rps: 10, statuses: { 200: 0.9, 404: 0.04, 500: 0.06 }, latency: { p50: '10ms', p99: '50ms' } },
    { at: '60s', rps: 3.7, errorRatio: 0.25, latency: { p50: '20ms', p99: '90ms' } },
    { at: '100s', rps: 0, errorRatio: 0, latency: { p50: '20ms', p99: '90ms' } },
    { at: '110s', rps: 7.3, statuses: { 200: 0.5, 503: 0.5 }, latency: { p50: '40ms', p90: '60ms', p99: '200ms' } },
  ],
}
const scenario = scenarioFromObject({
  name: 'traffic-test',
  pods: [
    phased,
    { namespace: 'shop', name: 'db-1', phases: [{ at: '0s', rps: 2, statuses: { 200: 1 }, latency: { p50: '1ms', p99: '2ms' } }] },
    { namespace: 'other', name: 'api-1', services: ['api', 'api-v2'], phases: [{ at: '0s', rps: 1, statuses: { 200: 0.5, 429: 0.5 }, latency: { p50: '1ms', p99: '2ms' } }] },
  ],
})

t.test('counts over contiguous windows add up exactly, across phase changes', async (t) => {
  const model = new PodTraffic(scenario.pods[0]!)
  for (const seed of [1, 7, 42]) {
    const cuts = [0, ...cutPoints(seed, 40, 200_000), 200_000]
    const whole = model.countsByIndex(0, 200_000)
    const summed = whole.map(() => 0)
    for (let k = 1; k < cuts.length; k++) {
      model.countsByIndex(cuts[k - 1]!, cuts[k]!).forEach((n, i) => (summed[i]! += n))
    }
    t.same(summed, whole, `seed ${seed}: the sum of ${cuts.length - 1} windows equals the whole window, per status code`)
  }
  const [a, b, c] = [12_345.678, 60_000, 123_456.789]
  const ab = expectedCounts(scenario, 'shop/cart-1', a, b).requests
  const bc = expectedCounts(scenario, 'shop/cart-1', b, c).requests
  t.equal(ab + bc, expectedCounts(scenario, 'shop/cart-1', a, c).requests, '[a,b) + [b,c) = [a,c) for requests')
})

t.test('totals match rps × duration', async (t) => {
  const counts = expectedCounts(scenario, 'shop/cart-1', 5_000, 60_000)
  t.equal(counts.requests, 550, '10 rps over the 55 s the pod lives in its first phase')
  t.same(counts.byStatus, { 200: 495, 404: 22, 500: 33 }, 'split by status share')
  const mixed = expectedCounts(scenario, 'shop/cart-1', 30_000, 90_000).requests
  t.ok(Math.abs(mixed - (10 * 30 + 3.7 * 30)) < 3, `across a phase change, within one per status code (got ${mixed})`)
  const odd = expectedCounts(scenario, 'shop/cart-1', 61_234, 97_891).requests
  t.ok(Math.abs(odd - 3.7 * 36.657) < 2, `an odd window in a 2-code phase is within 2 of rps × duration (got ${odd})`)
  t.equal(expectedCounts(scenario, 'shop/db-1', 0, 3_600_000).requests, 7_200, 'an hour of 2 rps')
})

t.test('a pod serves nothing outside its lifetime or in a 0 rps phase', async (t) => {
  t.equal(expectedCounts(scenario, 'shop/cart-1', 0, 5_000).requests, 0, 'nothing before from')
  t.equal(expectedCounts(scenario, 'shop/cart-1', 170_000, 500_000).requests, 0, 'nothing after until')
  t.equal(expectedCounts(scenario, 'shop/cart-1', 100_000, 110_000).requests, 0, 'nothing in a 0 rps phase')
  t.equal(expectedCounts(scenario, 'shop/cart-1', 110_000, 170_000).requests, Math.floor(7.3 * 0.5 * 60) * 2, 'the last phase ends at until')
  t.equal(expectedCounts(scenario, 'shop/cart-1', 50_000, 40_000).requests, 0, 'a reversed window is empty')
})

t.test('shares such as 0.18 count as a human expects', async (t) => {
  const steady = loadScenarioFile(join(import.meta.dirname, '..', '..', 'scenarios', 'steady-canary.yaml'))
  t.same(expectedCounts(steady, 'default/canary-demo-7f6d5c9b4b-aaaaa', 0, 10_000), { requests: 100, byStatus: { 200: 18, 500: 82 } }, '10 s of the canary')
  t.same(expectedCounts(steady, 'default/canary-demo-7f6d5c9b4b-aaaaa', 10_000, 20_000), { requests: 100, byStatus: { 200: 18, 500: 82 } }, 'the next 10 s too')
})

t.test('expectedCounts names an unknown pod', async (t) => {
  t.throws(() => expectedCounts(scenario, 'shop/nope', 0, 1), new TypeError('scenario traffic-test has no pod shop/nope'), 'TypeError')
})

t.test('services are rendered like ctx[service]', async (t) => {
  t.equal(renderServices(scenario.pods[0]!), 'shop/cart', 'one service: ns/svc')
  t.equal(renderServices(scenario.pods[1]!), '', 'no service: empty')
  t.equal(renderServices(scenario.pods[2]!), '["other/api","other/api-v2"]', 'several: a JSON array')
})

t.test('the table counts errors from errorStatusMin', async (t) => {
  const traffic = buildTraffic(scenario)
  const at400 = simulateHttpPodStats(traffic, windowParams(5_000, 60_000, { errorStatusMin: 400 }), STARTED_AT)
  const at500 = simulateHttpPodStats(traffic, windowParams(5_000, 60_000, { errorStatusMin: 500 }), STARTED_AT)
  t.equal(at400.errors[0], 22 + 33, '404 and 500 are errors from 400')
  t.equal(at500.errors[0], 33, 'only 500 is an error from 500')
  t.equal(at400.errors[2], 30 - 2, "api-1's 429s are errors from 400 (floor(0.5 × 60) − floor(0.5 × 5))")
  t.equal(at500.errors[2], 0, "api-1's 429s are not errors from 500")
  t.same(at400.requests, [550, 110, 56], 'requests do not depend on errorStatusMin')
})

t.test('the table has rows only for pods with requests in included namespaces', async (t) => {
  const traffic = buildTraffic(scenario)
  const idle = simulateHttpPodStats(traffic, windowParams(100_000, 110_000), STARTED_AT)
  t.same(idle.pod, ['shop/db-1', 'other/api-1'], 'cart-1 has no row in its 0 rps phase')
  t.same(simulateHttpPodStats(traffic, windowParams(0, 60_000, { include: ['other'] }), STARTED_AT).pod, ['other/api-1'], 'include')
  t.same(simulateHttpPodStats(traffic, windowParams(0, 60_000, { exclude: ['other'] }), STARTED_AT).pod, ['shop/cart-1', 'shop/db-1'], 'exclude')
  const cut = simulateHttpPodStats(traffic, windowParams(0, 60_000, { maxRows: 2 }), STARTED_AT)
  t.same([cut.length, cut.truncated, cut.pod.length], [2, 1, 2], 'maxRows truncates')
  t.equal(cut.recordsProcessed, 550 + 120 + 60, 'records processed still count every pod')
})

t.test('latency is that of the phase serving most requests in the window', async (t) => {
  const traffic = buildTraffic(scenario)
  const early = simulateHttpPodStats(traffic, windowParams(50_000, 80_000), STARTED_AT)
  t.same([early.latencyP50Ns[0], early.latencyP99Ns[0]], [10e6, 50e6], '10 s at 10 rps outweigh 20 s at 3.7 rps')
  const late = simulateHttpPodStats(traffic, windowParams(111_000, 130_000), STARTED_AT)
  t.same([late.latencyP50Ns[0], late.latencyP90Ns[0], late.latencyP99Ns[0]], [40e6, 60e6, 200e6], 'the last phase, with its given p90')
})

t.test('window offsets come from absolute nanoseconds', async (t) => {
  t.equal(offsetMs(BigInt(STARTED_AT) * 1_000_000n + 1_500_000n, STARTED_AT), 1.5, 'sub-millisecond precision is kept')
  t.equal(offsetMs(BigInt(STARTED_AT - 10) * 1_000_000n, STARTED_AT), -10, 'before the start is negative')
})
