import t from 'tap'
import { Registry } from 'prom-client'
import { CountRangePlanner } from '../../src/collectors/count-range.js'
import { HttpCollector } from '../../src/collectors/http.js'
import { CollectorResultError, PixieUnavailableError } from '../../src/errors.js'
import { loadConfig } from '../../src/config/load.js'
import { httpParamsOfCall } from '../fixtures/http-call.js'
import { sinkLogger } from '../fixtures/logger.js'
import { ScriptedPixie, answer, httpConfig, podCountsTable, podStatsTable, type PodRow } from '../fixtures/http-fixtures.js'

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0)
const signal = () => new AbortController().signal

t.test('count ranges are contiguous, catch up after failures, and skip beyond maxCatchUp', async (t) => {
  const p = new CountRangePlanner({ windowMs: 30_000, lagMs: 5_000, maxCatchUpMs: 60_000 })
  const first = p.plan(T0)
  t.same(first, { endMs: T0 - 5_000, windowStartMs: T0 - 35_000, countStartMs: T0 - 35_000, skippedMs: 0, clockStepMs: 0, monotonicMs: T0 }, 'first run counts one window ending lag ago')
  t.same(p.plan(T0), first, 'planning alone changes nothing')
  p.commit(first)
  const second = p.plan(T0 + 10_000)
  t.equal(second.countStartMs, first.endMs, 'the next range starts where the last one ended')
  // second fails: not committed. The third catches up from the same point.
  const third = p.plan(T0 + 20_000)
  t.same([third.countStartMs, third.endMs, third.skippedMs], [first.endMs, T0 + 15_000, 0], 'catch-up covers the missed span')
  p.commit(third)
  const afterOutage = p.plan(T0 + 200_000)
  t.equal(afterOutage.countStartMs, afterOutage.endMs - 60_000, 'a longer gap is cut at maxCatchUp')
  t.equal(afterOutage.skippedMs, afterOutage.endMs - 60_000 - third.endMs, 'the older part is reported as skipped')
  p.commit(afterOutage)
  t.equal(p.plan(T0 + 100_000).countStartMs, undefined, 'nothing to count when the clock went back')
})

function setup(answers: ConstructorParameters<typeof ScriptedPixie>[0], overrides: Parameters<typeof httpConfig>[0] = {}) {
  let now = T0
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  const registry = new Registry()
  const pixie = new ScriptedPixie(answers)
  const collector = new HttpCollector({ pixie, registry, logger: sinkLogger().logger, now: clock.now, config: httpConfig(overrides) })
  const run = () => collector.run({ signal: signal(), timeoutMs: 5000 })
  const samples = async (name: string) => (await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? []
  return { clock, registry, pixie, collector, run, samples }
}

const pod = (name: string, requests: number, errors: number): PodRow => ({
  namespace: 'default',
  pod: `default/${name}`,
  service: 'default/canary-demo',
  requests,
  errors,
  p50: 20e6,
  p90: 50e6,
  p99: 80e6,
})

t.test('counters add up the counts of successive runs', async (t) => {
  const s = setup([answer([pod('a-1-x', 100, 10)]), answer([pod('a-1-x', 50, 5)])])
  await s.run()
  s.clock.advance(10_000)
  await s.run()
  const total = await s.samples('pixie_http_requests_total')
  const value = (c: string) => total.find((v) => v.labels.status_class === c)?.value
  t.equal(value('2xx'), 135, '90 + 45 successes')
  t.equal(value('5xx'), 15, '10 + 5 errors')
  t.equal(value('4xx'), undefined, 'no series for a class the pod never answered')
  t.same(total.map((v) => v.labels.status_class), ['2xx', '5xx'], '2xx and 5xx always exist; 1xx, 3xx, 4xx only once answered')
  const first = httpParamsOfCall(s.pixie.calls[0])
  const second = httpParamsOfCall(s.pixie.calls[1])
  t.equal(second?.counts?.startNs, first?.endNs, 'the second range starts exactly where the first ended')
  t.equal(first?.endNs, BigInt(T0 - 5_000) * 1_000_000n, 'ranges end lag before now')
})

t.test('the histogram has cumulative buckets, +Inf, _sum and _count equal to the requests', async (t) => {
  const counts = podCountsTable(
    [{ namespace: 'default', pod: 'default/a-1-x', service: 'default/a', byClass: [0, 8, 0, 1, 1], buckets: [2, 9], latencySumNs: 1.5e9 }],
    2,
  )
  const s = setup([[podStatsTable([pod('a-1-x', 10, 1)]), counts]], { bucketsSeconds: [0.05, 1] })
  await s.run()
  const h = await s.samples('pixie_http_request_duration_seconds')
  const get = (metric: string, le?: string) => h.find((v) => (v as { metricName?: string }).metricName === metric && v.labels.le === le)?.value
  t.equal(get('pixie_http_request_duration_seconds_bucket', '0.05'), 2, 'first bucket')
  t.equal(get('pixie_http_request_duration_seconds_bucket', '1'), 9, 'second bucket is cumulative')
  t.equal(get('pixie_http_request_duration_seconds_bucket', '+Inf'), 10, '+Inf is every request')
  t.equal(get('pixie_http_request_duration_seconds_count'), 10, '_count equals the requests over all classes')
  t.equal(get('pixie_http_request_duration_seconds_sum'), 1.5, '_sum is in seconds')
  const text = await s.registry.metrics()
  t.match(text, /# TYPE pixie_http_request_duration_seconds histogram/, 'typed as histogram')
  t.match(text, /# TYPE pixie_http_requests_total counter/, 'requests typed as counter')
})

t.test('inconsistent count rows are rejected and nothing is published', async (t) => {
  const bad = podCountsTable(
    [{ namespace: 'default', pod: 'default/a-1-x', service: '', byClass: [0, 8, 0, 1, 1], buckets: [9, 2], latencySumNs: 1 }],
    2,
  )
  const s = setup([answer([pod('a-1-x', 10, 1)], 2), [podStatsTable([pod('a-1-x', 10, 5)]), bad]], { bucketsSeconds: [0.05, 1] })
  await s.run()
  s.clock.advance(10_000)
  await t.rejects(s.run(), CollectorResultError, 'decreasing buckets are refused')
  const ratio = (await s.samples('pixie_http_error_ratio'))[0]?.value
  t.equal(ratio, 0.1, 'the gauges of the failed run were not published either')
  const total = (await s.samples('pixie_http_requests_total')).reduce((a, v) => a + v.value, 0)
  t.equal(total, 10, 'counters unchanged')
  const third = httpParamsOfCall(s.pixie.calls[1])
  t.ok(third?.counts !== undefined, 'the failed range will be counted again by the next success')
})

t.test('series of a pod that is gone are removed after expireAfter', async (t) => {
  const answers = [answer([pod('a-1-x', 10, 0), pod('b-1-y', 10, 0)])]
  for (let i = 0; i < 8; i++) answers.push(answer([pod('b-1-y', 10, 0)]))
  const s = setup(answers, { expireAfterMs: 60_000 })
  const pods = async () => new Set((await s.samples('pixie_http_requests_total')).map((v) => v.labels.pod)).size
  await s.run()
  t.equal(await pods(), 2, 'two pods')
  for (let i = 0; i < 5; i++) {
    s.clock.advance(10_000)
    await s.run()
  }
  t.equal(await pods(), 2, 'the vanished pod keeps counting for expireAfter')
  s.clock.advance(20_000)
  await s.run()
  t.equal(await pods(), 1, 'then its series are removed')
  t.equal(s.collector.counterPods, 1, 'and its state is freed')
})

t.test('counters are hidden while the data is stale, and come back caught up', async (t) => {
  const s = setup([answer([pod('a-1-x', 10, 1)]), new PixieUnavailableError('down'), answer([pod('a-1-x', 40, 4)])], {
    staleAfterMs: 30_000,
  })
  await s.run()
  s.clock.advance(40_000)
  await t.rejects(s.run())
  t.same(await s.samples('pixie_http_requests_total'), [], 'no counter series while stale: an outage never reads as zero errors')
  await s.run()
  const total = (await s.samples('pixie_http_requests_total')).reduce((a, v) => a + v.value, 0)
  t.equal(total, 50, 'back with the caught-up total')
  const third = httpParamsOfCall(s.pixie.calls[2])
  const first = httpParamsOfCall(s.pixie.calls[0])
  t.equal(third?.counts?.startNs, first?.endNs, 'the catch-up range starts at the last counted point')
})

t.test('a gap longer than maxCatchUp is reported as skipped seconds', async (t) => {
  const s = setup([answer([pod('a-1-x', 10, 1)]), answer([pod('a-1-x', 10, 1)])], { maxCatchUpMs: 60_000, staleAfterMs: 3_600_000 })
  await s.run()
  s.clock.advance(100_000)
  const summary = await s.run()
  t.equal(summary.skippedSeconds, 40, '100s gap, 60s caught up, 40s skipped')
  const second = httpParamsOfCall(s.pixie.calls[1])
  t.equal(second?.counts?.startNs, (second?.endNs ?? 0n) - 60_000_000_000n, 'the range is cut at maxCatchUp')
})

t.test('a status class that appears later starts at 0 and gets its count at the next publication', async (t) => {
  const classes = (byClass: [number, number, number, number, number]) =>
    podCountsTable([{ namespace: 'default', pod: 'default/a-1-x', service: 'default/a', byClass, buckets: Array.from({ length: 11 }, () => byClass.reduce((a, b) => a + b, 0)), latencySumNs: 1e9 }])
  const stats = podStatsTable([pod('a-1-x', 10, 0)])
  const s = setup([
    [stats, classes([0, 10, 0, 0, 0])],
    [stats, classes([0, 10, 0, 3, 0])],
    [stats, classes([0, 10, 0, 2, 0])],
    [stats, classes([1, 10, 0, 0, 0])],
  ])
  const byClass = async () => Object.fromEntries((await s.samples('pixie_http_requests_total')).map((v) => [v.labels.status_class, v.value]))
  await s.run()
  t.same(await byClass(), { '2xx': 10, '5xx': 0 }, 'first poll: 2xx and 5xx')
  s.clock.advance(10_000)
  await s.run()
  t.same(await byClass(), { '2xx': 20, '5xx': 0, '4xx': 0 }, 'the poll that first sees 4xx publishes it at 0 (an explicit first sample)')
  s.clock.advance(10_000)
  await s.run()
  t.same(await byClass(), { '2xx': 30, '5xx': 0, '4xx': 5 }, 'the next poll adds the held 3 and its own 2: nothing lost')
  s.clock.advance(10_000)
  await s.run()
  t.same(await byClass(), { '1xx': 0, '2xx': 40, '5xx': 0, '4xx': 5 }, '1xx appears at 0 too')
  const count = (await s.samples('pixie_http_request_duration_seconds')).find((v) => (v as { metricName?: string }).metricName === 'pixie_http_request_duration_seconds_count')?.value
  t.equal(count, 46, 'the histogram _count is never held back')
})

t.test('a new pod starts with the classes it answered in its first range', async (t) => {
  const counts = podCountsTable([{ namespace: 'default', pod: 'default/a-1-x', service: 'default/a', byClass: [0, 8, 1, 1, 0], buckets: Array.from({ length: 11 }, () => 10), latencySumNs: 1e9 }])
  const s = setup([[podStatsTable([pod('a-1-x', 10, 0)]), counts]])
  await s.run()
  const total = await s.samples('pixie_http_requests_total')
  t.same(Object.fromEntries(total.map((v) => [v.labels.status_class, v.value])), { '2xx': 8, '3xx': 1, '4xx': 1, '5xx': 0 }, 'the whole pod is new: its classes start with their counts, like before')
})

t.test('the default series set: 10 series per pod that answered 2xx and 5xx (docs/metrics.md)', async (t) => {
  const { config } = loadConfig({ argv: [], env: { PX_CLUSTER_ID: '00000000-0000-0000-0000-000000000001', PX_API_KEY: 'px-api-test' } })
  const { metrics, bucketsSeconds, histogramSumAndCount } = config.collectors.http
  const buckets = bucketsSeconds.length
  const counts = podCountsTable(
    [
      { namespace: 'default', pod: 'default/a-1-x', service: 'default/a', byClass: [0, 9, 0, 0, 1], buckets: Array.from({ length: buckets }, () => 10), latencySumNs: 1e9 },
      { namespace: 'default', pod: 'default/b-1-x', service: 'default/a', byClass: [0, 8, 0, 1, 1], buckets: Array.from({ length: buckets }, () => 10), latencySumNs: 1e9 },
    ],
    buckets,
  )
  const s = setup([[podStatsTable([pod('a-1-x', 10, 1), pod('b-1-x', 10, 1)]), counts]], { bucketsSeconds, ...(metrics !== undefined && { metrics }), ...(histogramSumAndCount !== undefined && { histogramSumAndCount }) })
  await s.run()
  const lines = (await s.registry.metrics()).split('\n').filter((l) => l.startsWith('pixie_http_'))
  const of = (pod: string) => lines.filter((l) => l.includes(`pod="${pod}"`))
  t.equal(of('a-1-x').length, 10, `2 gauges + 2xx/5xx + ${buckets} buckets + +Inf:\n${of('a-1-x').join('\n')}`)
  t.equal(of('b-1-x').length, 11, 'one more for a pod that also answered 4xx')
  t.same([...new Set(lines.map((l) => l.slice(0, l.indexOf('{'))))], [
    'pixie_http_requests_per_second',
    'pixie_http_errors_per_second',
    'pixie_http_requests_total',
    'pixie_http_request_duration_seconds_bucket',
  ], 'the families: per-second gauges, counters, histogram buckets')
})
