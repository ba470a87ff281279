import t from 'tap'
import { join } from 'node:path'
import { simulateHttpPodCounts } from '../../src/simulator/http-pod-counts.js'
import { logNormalCdf, logNormalMean, logNormalOf } from '../../src/simulator/latency.js'
import { loadScenarioFile, scenarioFromObject, type Scenario, type ScenarioPod } from '../../src/simulator/scenario.js'
import { buildTraffic, expectedPodCounts, PodTraffic, trueLatencyQuantile } from '../../src/simulator/traffic.js'
import { cutPoints, SIM_T0, TEST_BUCKETS_NS, windowParams } from '../fixtures/simulator-helpers.js'

const BUCKETS = TEST_BUCKETS_NS.map(Number)

const scenario = scenarioFromObject({
  name: 'counts-test',
  pods: [
    {
      namespace: 'shop',
      name: 'cart-1',
      services: ['cart'],
      from: '5s',
      until: '170s',
      phases: [
        { at: '0s', rps: 10, statuses: { 101: 0.01, 200: 0.8, 302: 0.05, 404: 0.08, 500: 0.06 }, latency: { p50: '10ms', p99: '50ms' } },
        { at: '60s', rps: 3.7, errorRatio: 0.25, latency: { p50: '200ms', p99: '3s' } },
        { at: '100s', rps: 0, errorRatio: 0, latency: { p50: '20ms', p99: '90ms' } },
        { at: '110s', rps: 7.3, statuses: { 200: 0.5, 503: 0.5 }, latency: { p50: '40ms', p90: '60ms', p99: '200ms' } },
      ],
    },
    { namespace: 'shop', name: 'db-1', phases: [{ at: '0s', rps: 2, statuses: { 200: 1 }, latency: { p50: '1ms', p99: '1ms' } }] },
    { namespace: 'other', name: 'idle-1', phases: [{ at: '0s', rps: 0, statuses: { 200: 1 }, latency: { p50: '1ms', p99: '2ms' } }] },
  ],
})
const cart = scenario.pods[0]!

const countParams = (startMs: number, endMs: number, extra: Parameters<typeof windowParams>[2] = {}) =>
  windowParams(startMs, endMs, { counts: { startNs: BigInt(SIM_T0 + startMs) * 1_000_000n, bucketsNs: TEST_BUCKETS_NS }, ...extra })

t.test('the table has one row per pod with requests, equal to expectedPodCounts', async (t) => {
  const rows = simulateHttpPodCounts(buildTraffic(scenario), countParams(30_000, 90_000), SIM_T0)
  t.same(rows?.pod, ['shop/cart-1', 'shop/db-1'], 'the idle pod has no row, like a groupby without events')
  for (let r = 0; r < (rows?.length ?? 0); r++) {
    const want = expectedPodCounts(scenario, rows?.pod[r] ?? '', 30_000, 90_000, BUCKETS)
    t.same(
      [rows?.requests[r], rows?.byClass.map((c) => c[r]), rows?.latencySumNs[r], rows?.buckets.map((c) => c[r])],
      [want.requests, Object.values(want.byClass), want.latencySumNs, want.bucketCounts],
      `${rows?.pod[r]}: requests, classes, latency sum and buckets`,
    )
  }
  t.same([rows?.service, rows?.namespace], [['shop/cart', ''], ['shop', 'shop']], 'service in ctx form, namespace')
  t.equal(simulateHttpPodCounts(buildTraffic(scenario), windowParams(30_000, 90_000), SIM_T0), undefined, 'no counts asked, no table')
})

t.test('a fixed range gives the expected numbers', async (t) => {
  const c = expectedPodCounts(scenario, 'shop/cart-1', 5_000, 60_000, BUCKETS)
  t.equal(c.requests, 549, '10 rps over the 55 s the pod lives in its first phase, less the fractions floored per code')
  t.same(c.byClass, { '1xx': 5, '2xx': 440, '3xx': 27, '4xx': 44, '5xx': 33 }, 'split by class (floors of 5.5, 440, 27.5, 44, 33)')
  t.same(c.byStatus, { 101: 5, 200: 440, 302: 27, 404: 44, 500: 33 }, 'and by code')
  const d = logNormalOf(cart.phases[0]!.latencyNs)
  const wantSum = 550 * logNormalMean(d) // the integral: rps × duration × mean
  t.ok(Math.abs(c.latencySumNs - wantSum) <= 1, `latency sum is 550 × the mean latency (want ${wantSum}, got ${c.latencySumNs})`)
  BUCKETS.forEach((le, j) => {
    const want = Math.min(550 * logNormalCdf(d, le), c.requests)
    t.ok(Math.abs((c.bucketCounts[j] ?? -1) - want) < 1, `le ${le / 1e6}ms: want within 1 of min(550 × CDF, requests) = ${want.toFixed(2)}, got ${c.bucketCounts[j]}`)
  })
})

t.test('class counts, requests and latency sum add up exactly over contiguous ranges, across phase changes', async (t) => {
  const model = new PodTraffic(cart)
  for (const seed of [3, 11, 29]) {
    const cuts = [0, ...cutPoints(seed, 60, 200_000), 200_000]
    const whole = model.podCounts(0, 200_000, BUCKETS)
    const summed = { requests: 0, byClass: [0, 0, 0, 0, 0], latencySumNs: 0 }
    for (let k = 1; k < cuts.length; k++) {
      const part = model.podCounts(cuts[k - 1]!, cuts[k]!, BUCKETS)
      summed.requests += part.requests
      Object.values(part.byClass).forEach((n, i) => (summed.byClass[i]! += n))
      summed.latencySumNs += part.latencySumNs
    }
    t.same(
      summed,
      { requests: whole.requests, byClass: Object.values(whole.byClass), latencySumNs: whole.latencySumNs },
      `seed ${seed}: ${cuts.length - 1} ranges add up to the whole range`,
    )
  }
})

t.test('buckets never decrease, never exceed requests, and requests is the sum of the classes', async (t) => {
  const model = new PodTraffic(cart)
  const cuts = [0, ...cutPoints(5, 200, 200_000), 200_000]
  const problems: string[] = []
  for (let k = 1; k < cuts.length; k++) {
    const c = model.podCounts(cuts[k - 1]!, cuts[k]!, BUCKETS)
    const classes = Object.values(c.byClass).reduce((a, b) => a + b, 0)
    if (classes !== c.requests) problems.push(`[${cuts[k - 1]}, ${cuts[k]}): classes ${classes} != requests ${c.requests}`)
    c.bucketCounts.forEach((n, j) => {
      if (n < (c.bucketCounts[j - 1] ?? 0)) problems.push(`[${cuts[k - 1]}, ${cuts[k]}): le_${j} decreases`)
      if (n > c.requests || n < 0) problems.push(`[${cuts[k - 1]}, ${cuts[k]}): le_${j} = ${n} outside 0..${c.requests}`)
    })
  }
  t.same(problems, [], `${cuts.length - 1} ranges checked`)
})

t.test('bucket sums over many ranges stay within the clamp error of one range', async (t) => {
  const model = new PodTraffic(cart)
  const cuts = [0, ...cutPoints(8, 40, 200_000), 200_000]
  const whole = model.podCounts(0, 200_000, BUCKETS).bucketCounts
  const summed = BUCKETS.map(() => 0)
  for (let k = 1; k < cuts.length; k++) model.podCounts(cuts[k - 1]!, cuts[k]!, BUCKETS).bucketCounts.forEach((n, j) => (summed[j]! += n))
  const worst = Math.max(...summed.map((n, j) => Math.abs(n - (whole[j] ?? 0))))
  // At most a few requests per range move (about one per status code), over 40 ranges.
  t.ok(worst <= 40 * 5, `largest difference ${worst}`)
  t.ok(summed.every((n, j) => n <= (summed[j + 1] ?? Number.POSITIVE_INFINITY)), 'the sums are still cumulative')
})

t.test('a pod gets no row outside its lifetime, in a 0 rps phase, or in an empty range', async (t) => {
  const traffic = buildTraffic(scenario)
  t.same(simulateHttpPodCounts(traffic, countParams(0, 5_000, { include: ['shop'] }), SIM_T0)?.pod, ['shop/db-1'], 'before from')
  t.same(simulateHttpPodCounts(traffic, countParams(100_000, 110_000, { include: ['shop'] }), SIM_T0)?.pod, ['shop/db-1'], 'in a 0 rps phase')
  t.same(simulateHttpPodCounts(traffic, countParams(170_000, 200_000, { include: ['shop'] }), SIM_T0)?.pod, ['shop/db-1'], 'after until')
  t.same(expectedPodCounts(scenario, 'shop/cart-1', 50_000, 50_000, BUCKETS).bucketCounts, BUCKETS.map(() => 0), 'an empty range is all zero')
})

t.test('statuses outside 100..599 are left out of the counts table', async (t) => {
  // Scenario files only accept 100..599; a pod built in code can carry others,
  // as Pixie records resp_status 0 for responses it could not parse.
  const odd: ScenarioPod = {
    namespace: 'x',
    name: 'odd-1',
    services: [],
    node: undefined,
    fromMs: 0,
    untilMs: Number.POSITIVE_INFINITY,
    phases: [{ atMs: 0, rps: 10, statuses: [{ code: 0, share: 0.2 }, { code: 200, share: 0.7 }, { code: 600, share: 0.1 }], latencyNs: { p50: 1e6, p90: 2e6, p99: 3e6 } }],
  }
  const model = new PodTraffic(odd)
  t.equal(model.counts(0, 10_000).requests, 100, 'the traffic model itself counts every status')
  const rows = simulateHttpPodCounts([model], countParams(0, 10_000), SIM_T0)
  t.same([rows?.requests, rows?.byClass.map((c) => c[0])], [[70], [0, 70, 0, 0, 0]], 'only the 200s are counted')
  t.same(rows?.buckets.at(-1), [70], 'and buckets are capped at those requests')
})

t.test('namespace filters and max rows apply to the counts table too', async (t) => {
  const traffic = buildTraffic(scenario)
  t.same(simulateHttpPodCounts(traffic, countParams(0, 60_000, { exclude: ['shop'] }), SIM_T0)?.pod, [], 'exclude')
  const cut = simulateHttpPodCounts(traffic, countParams(10_000, 60_000, { maxRows: 1 }), SIM_T0)
  t.same([cut?.length, cut?.truncated, cut?.pod], [1, 1, ['shop/cart-1']], 'maxRows truncates')
  t.equal(cut?.recordsProcessed, 500 + 100, 'records processed count every pod')
})

t.test('trueLatencyQuantile is the quantile of the phases served in the range', async (t) => {
  const p99 = trueLatencyQuantile(scenario, 'shop/cart-1', 0.99, 10_000, 50_000) ?? 0
  t.ok(Math.abs(p99 - 50e6) < 1, `within one phase: its p99 (got ${p99})`)
  const mixed = trueLatencyQuantile(scenario, 'shop/cart-1', 0.99, 30_000, 90_000) ?? 0
  const fast = logNormalOf(cart.phases[0]!.latencyNs)
  const slow = logNormalOf(cart.phases[1]!.latencyNs)
  const cdf = (300 * logNormalCdf(fast, mixed) + 111 * logNormalCdf(slow, mixed)) / 411
  t.ok(Math.abs(cdf - 0.99) < 1e-9, `across a phase change: the request-weighted mixture CDF is 0.99 there (got ${cdf})`)
  t.equal(trueLatencyQuantile(scenario, 'other/idle-1', 0.5, 0, 60_000), undefined, 'no requests, no quantile')
  t.throws(() => trueLatencyQuantile(scenario, 'nope/none', 0.5, 0, 1), TypeError, 'an unknown pod is a TypeError')
})

t.test('the bucket a histogram_quantile would pick holds the true quantile', async (t) => {
  const slow = loadScenarioFile(join(import.meta.dirname, '..', '..', 'scenarios', 'slow-canary.yaml'))
  const cases: [Scenario, string, number, number][] = [
    [slow, 'default/canary-demo-7f6d5c9b4b-aaaaa', 0, 300_000],
    [slow, 'default/canary-demo-6d8c6b9c8f-x7k2p', 0, 300_000],
    [scenario, 'shop/cart-1', 30_000, 90_000],
  ]
  for (const [s, pod, start, end] of cases) {
    for (const q of [0.5, 0.9, 0.99]) {
      const c = expectedPodCounts(s, pod, start, end, BUCKETS)
      // Prometheus: the first bucket whose count reaches q × total (the +Inf count).
      const j = c.bucketCounts.findIndex((n) => n >= q * c.requests)
      const truth = trueLatencyQuantile(s, pod, q, start, end) ?? Number.NaN
      const lower = BUCKETS[j - 1] ?? 0
      const upper = j < 0 ? Number.POSITIVE_INFINITY : (BUCKETS[j] ?? Number.NaN)
      // The quantile is found to ~1e-12 relative, and slow-canary's p99 IS a bound (2.5 s): allow that much.
      t.ok(truth > lower * (1 - 1e-9) && truth <= upper * (1 + 1e-9), `${pod} q${q}: true ${(truth / 1e6).toFixed(1)}ms in (${lower / 1e6}, ${upper / 1e6}] ms`)
    }
  }
})
