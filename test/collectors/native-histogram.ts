import t from 'tap'
import { Registry } from 'prom-client'
import { HttpCollector } from '../../src/collectors/http.js'
import type { HttpCollectorConfig } from '../../src/config/types.js'
import { CollectorResultError } from '../../src/errors.js'
import { Exposition } from '../../src/metrics/exposition.js'
import { ZERO_THRESHOLD_SECONDS, zeroIndex } from '../../src/metrics/native-histogram.js'
import { MetricType } from '../../src/metrics/protobuf.js'
import { HTTP_POD_NATIVE_BUCKETS_COLUMNS, HTTP_POD_NATIVE_BUCKETS_TABLE } from '../../src/pixie/scripts/http-pod-stats.js'
import { httpParamsOfCall } from '../fixtures/http-call.js'
import type { ColumnValues, PixieTable } from '../../src/pixie/types.js'
import { sinkLogger } from '../fixtures/logger.js'
import { ScriptedPixie, httpConfig, podCountsTable, podStatsTable, type PodCountsRow, type PodRow } from '../fixtures/http-fixtures.js'
import { decodeFamilies, nativeCounts } from '../fixtures/protobuf-wire.js'

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0)
const NATIVE: HttpCollectorConfig['nativeHistogram'] = { schema: 3, classicBuckets: 'separate' }
const ZERO = zeroIndex(3)

interface NativeRow {
  pod: string
  bucket: number
  count: number
}
function nativeTable(rows: readonly NativeRow[]): PixieTable {
  const data: ColumnValues[] = [
    { type: 'STRING', values: rows.map(() => 'default') },
    { type: 'STRING', values: rows.map((r) => `default/${r.pod}`) },
    { type: 'STRING', values: rows.map(() => 'default/cart') },
    { type: 'INT64', values: rows.map((r) => BigInt(r.bucket)) },
    { type: 'INT64', values: rows.map((r) => BigInt(r.count)) },
  ]
  return {
    id: '20000000-0000-0000-0000-000000000003',
    name: HTTP_POD_NATIVE_BUCKETS_TABLE,
    columns: HTTP_POD_NATIVE_BUCKETS_COLUMNS.map((c) => ({ name: c.name, type: c.type, semanticType: 1 })),
    data,
    numRows: rows.length,
  }
}
const statsRow = (pod: string, requests: number): PodRow => ({ namespace: 'default', pod: `default/${pod}`, service: 'default/cart', requests, errors: 0, p50: 20e6, p90: 50e6, p99: 80e6 })
const countsRow = (pod: string, requests: number, buckets: number[], latencySumNs: number): PodCountsRow => ({
  namespace: 'default',
  pod: `default/${pod}`,
  service: 'default/cart',
  byClass: [0, requests, 0, 0, 0],
  buckets,
  latencySumNs,
})

/** Run 1: cart-a 10 requests (2 in the zero bucket, 5 in bucket -26, 3 in -20); run 2: 4 more (-26: 1, -10: 3). */
const RUN1 = {
  stats: podStatsTable([statsRow('cart-a', 10)]),
  counts: podCountsTable([countsRow('cart-a', 10, [7, 10], 600_000_000)], 2),
  native: nativeTable([
    { pod: 'cart-a', bucket: ZERO, count: 2 },
    { pod: 'cart-a', bucket: -26, count: 5 },
    { pod: 'cart-a', bucket: -20, count: 3 },
  ]),
}
const RUN2 = {
  stats: podStatsTable([statsRow('cart-a', 4)]),
  counts: podCountsTable([countsRow('cart-a', 4, [1, 4], 900_000_000)], 2),
  native: nativeTable([
    { pod: 'cart-a', bucket: -26, count: 1 },
    { pod: 'cart-a', bucket: -10, count: 3 },
  ]),
}

function setup(answers: PixieTable[][], native: HttpCollectorConfig['nativeHistogram'], overrides: Partial<HttpCollectorConfig> = {}) {
  let now = T0
  const registry = new Registry()
  const pixie = new ScriptedPixie(answers)
  const config = httpConfig({ bucketsSeconds: [0.1, 1], ...(native !== undefined && { nativeHistogram: native }), ...overrides })
  const collector = new HttpCollector({ pixie, registry, logger: sinkLogger().logger, now: () => now, config })
  const run = async () => {
    const r = await collector.run({ signal: new AbortController().signal, timeoutMs: 5000 })
    now += 10_000
    return r
  }
  return { registry, pixie, run, exposition: new Exposition(registry) }
}

const processFree = (text: string) => text.split('\n').filter((l) => /pixie_http/.test(l)).join('\n')

t.test('the script asks Pixie for the exponential buckets of the configured schema', async (t) => {
  const s = setup([[RUN1.stats, RUN1.counts, RUN1.native]], NATIVE)
  await s.run()
  const script = s.pixie.calls[0]?.script ?? ''
  t.same(httpParamsOfCall(s.pixie.calls[0])?.counts?.native, { schema: 3 }, 'the request passes scale 2^3 (schema 3) to the function')
  const native = s.pixie.calls[0]?.execFuncs?.find((f) => f.funcName === 'http_pod_native_buckets')
  t.equal(native?.outputTablePrefix, 'http_pod_native_buckets', 'a third table, named by its output_table_prefix')
  t.match(script, /^ {4}n\.seconds = px\.select\(n\.latency > 953, n\.latency \/ 1000000000\.0, 0\.00000095367431640625\)$/m, 'latencies up to the zero threshold are clamped to it')
  t.match(script, /^ {4}n\.bucket = px\.ceil\(px\.log2\(n\.seconds\) \* scale\)$/m, 'index = ceil(log2(seconds) · scale), scale = 2^schema')
  const off = setup([[RUN1.stats, RUN1.counts]], undefined)
  await off.run()
  t.notMatch(off.pixie.calls[0]?.script ?? '', /http_pod_native_buckets|px\.log2/, 'not asked for without nativeHistogram')
  t.equal(off.pixie.calls[0]?.execFuncs?.length, 2, 'two functions called: stats and counts')
})

t.test('the text exposition is byte for byte the same with native histograms enabled', async (t) => {
  const on = setup([[RUN1.stats, RUN1.counts, RUN1.native], [RUN2.stats, RUN2.counts, RUN2.native]], NATIVE)
  const off = setup([[RUN1.stats, RUN1.counts], [RUN2.stats, RUN2.counts]], undefined)
  for (let i = 0; i < 2; i++) {
    await on.run()
    await off.run()
    const a = processFree((await on.exposition.render()).text())
    const b = processFree((await off.exposition.render()).text())
    t.ok(a.includes('pixie_http_request_duration_seconds_bucket'), `run ${i + 1}: the histogram is there`)
    t.equal(a, b, `run ${i + 1}: identical pixie_http lines`)
  }
})

t.test('protobuf: the native histogram, cumulative across polls, with the classic series beside it', async (t) => {
  const s = setup([[RUN1.stats, RUN1.counts, RUN1.native], [RUN2.stats, RUN2.counts, RUN2.native]], NATIVE)
  const histogramOf = async () => {
    const families = decodeFamilies(await s.exposition.renderProtobuf())
    const family = families.find((f) => f.name === 'pixie_http_request_duration_seconds')
    return { families, family, h: family?.metrics[0]?.histogram }
  }
  await s.run()
  const first = await histogramOf()
  t.equal(first.family?.type, MetricType.HISTOGRAM, 'a HISTOGRAM family')
  t.same(first.family?.metrics[0]?.labels, { namespace: 'default', pod: 'cart-a', service: 'cart' }, 'pod labels')
  t.same([first.h?.schema, first.h?.zeroThreshold, first.h?.zeroCount], [3, ZERO_THRESHOLD_SECONDS, 2], 'schema 3, threshold 2^-20 s, 2 in the zero bucket')
  t.same([...(first.h ? nativeCounts(first.h) : [])], [[-26, 5], [-20, 3]], 'exponential buckets by index')
  t.same([first.h?.sampleCount, first.h?.sampleSum], [10, 0.6], 'count and sum')
  t.same(first.h?.buckets, [], 'no classic buckets inside the native histogram (classicBuckets: separate)')

  await s.run()
  const second = await histogramOf()
  t.same([...(second.h ? nativeCounts(second.h) : [])], [[-26, 6], [-20, 3], [-10, 3]], 'counts add up across polls like the classic buckets')
  t.same([second.h?.zeroCount, second.h?.sampleCount, second.h?.sampleSum], [2, 14, 1.5], 'zero bucket, count and sum are cumulative')
  const byName = new Map(second.families.map((f) => [f.name, f]))
  const classic = byName.get('pixie_http_request_duration_seconds_bucket')
  t.same(
    classic?.metrics.map((m) => [m.labels.le, m.counter]),
    [['0.1', 8], ['1', 14], ['+Inf', 14]],
    'classic buckets as their own counter family (le kept as in the text format)',
  )
  t.equal(byName.get('pixie_http_request_duration_seconds_count')?.metrics[0]?.counter, 14, '_count family')
  t.equal(byName.get('pixie_http_request_duration_seconds_sum')?.metrics[0]?.counter, 1.5, '_sum family')
})

t.test('protobuf: classic buckets inline or left out, as configured', async (t) => {
  const inline = setup([[RUN1.stats, RUN1.counts, RUN1.native]], { schema: 3, classicBuckets: 'inline' })
  await inline.run()
  const families = decodeFamilies(await inline.exposition.renderProtobuf())
  const h = families.find((f) => f.name === 'pixie_http_request_duration_seconds')?.metrics[0]?.histogram
  t.same(h?.buckets, [{ cumulativeCount: 7, upperBound: 0.1 }, { cumulativeCount: 10, upperBound: 1 }, { cumulativeCount: 10, upperBound: Infinity }], 'inline: classic and native in one message')
  t.notOk(families.some((f) => f.name === 'pixie_http_request_duration_seconds_bucket'), 'inline: no separate _bucket family')
  const none = setup([[RUN1.stats, RUN1.counts, RUN1.native]], { schema: 3, classicBuckets: 'none' })
  await none.run()
  const noneFamilies = decodeFamilies(await none.exposition.renderProtobuf())
  t.same(noneFamilies.find((f) => f.name === 'pixie_http_request_duration_seconds')?.metrics[0]?.histogram?.buckets, [], 'none: native buckets only')
  t.notOk(noneFamilies.some((f) => f.name.startsWith('pixie_http_request_duration_seconds_')), 'none: no classic families')
})

t.test('histogramSumAndCount false (the default): no _sum/_count in the text, real ones in protobuf', async (t) => {
  const lean = setup([[RUN1.stats, RUN1.counts]], undefined, { histogramSumAndCount: false })
  await lean.run()
  const text = processFree((await lean.exposition.render()).text())
  t.match(text, /^pixie_http_request_duration_seconds_bucket\{namespace="default",pod="cart-a",service="cart",le="\+Inf"\} 10$/m, 'the +Inf bucket counts every request')
  t.notMatch(text, /pixie_http_request_duration_seconds_(sum|count)/, 'no _sum and no _count series in the text exposition')
  t.equal(text.split('\n').filter((l) => l.startsWith('pixie_http_request_duration_seconds')).length, 3, 'two buckets and +Inf per pod')
  // A protobuf Histogram always carries a count and a sum (Prometheus stores them): the real ones, never zeros.
  const h = decodeFamilies(await lean.exposition.renderProtobuf()).find((f) => f.name === 'pixie_http_request_duration_seconds')?.metrics[0]?.histogram
  t.equal(h?.sampleCount, 10, 'protobuf: the count is the requests')
  t.equal(h?.sampleSum, 0.6, 'protobuf: the sum is the latency sum in seconds')
  t.same(h?.buckets.map((b) => b.cumulativeCount), [7, 10, 10], 'protobuf: the classic buckets')

  const separate = setup([[RUN1.stats, RUN1.counts, RUN1.native]], NATIVE, { histogramSumAndCount: false })
  await separate.run()
  const families = decodeFamilies(await separate.exposition.renderProtobuf()).map((f) => f.name)
  t.ok(families.includes('pixie_http_request_duration_seconds_bucket'), 'native + separate: the classic buckets beside the native histogram')
  t.notOk(families.includes('pixie_http_request_duration_seconds_sum') || families.includes('pixie_http_request_duration_seconds_count'), 'native + separate: no _sum/_count families, like the text')

  const full = setup([[RUN1.stats, RUN1.counts]], undefined, { histogramSumAndCount: true })
  await full.run()
  const fullText = processFree((await full.exposition.render()).text())
  t.match(fullText, /^pixie_http_request_duration_seconds_sum\{namespace="default",pod="cart-a",service="cart"\} 0\.6$/m, 'histogramSumAndCount true: _sum')
  t.match(fullText, /^pixie_http_request_duration_seconds_count\{namespace="default",pod="cart-a",service="cart"\} 10$/m, 'histogramSumAndCount true: _count')
})

t.test('native buckets that disagree with http_pod_counts reject the whole run', async (t) => {
  const bad = nativeTable([{ pod: 'cart-a', bucket: -26, count: 9 }])
  const s = setup([[RUN1.stats, RUN1.counts, bad]], NATIVE)
  await t.rejects(s.run(), CollectorResultError, 'rejected')
  await t.rejects(
    setup([[RUN1.stats, RUN1.counts, nativeTable([{ pod: 'cart-a', bucket: -26, count: 9 }])]], NATIVE).run(),
    /the buckets of default\/cart-a add up to 9, but http_pod_counts has 10 requests/,
    'the message names the pod and both figures',
  )
  await t.rejects(
    setup([[RUN1.stats, RUN1.counts, nativeTable([{ pod: 'cart-a', bucket: -26, count: 5 }, { pod: 'cart-a', bucket: -26, count: 5 }])]], NATIVE).run(),
    /bucket -26 appears twice/,
    'a repeated bucket is refused',
  )
  t.equal((await s.exposition.render()).text().includes('pixie_http_request_duration_seconds_count{'), false, 'nothing was published')
})

t.test('collectors.http.metrics: only the listed families are served, in text and protobuf', async (t) => {
  let now = T0
  const registry = new Registry()
  const config = httpConfig({ bucketsSeconds: [0.1, 1], metrics: ['pixie_http_requests_total', 'pixie_http_error_ratio'] })
  const collector = new HttpCollector({ pixie: new ScriptedPixie([[RUN1.stats, RUN1.counts]]), registry, logger: sinkLogger().logger, now: () => now, config })
  await collector.run({ signal: new AbortController().signal, timeoutMs: 5000 })
  now += 1000
  const exposition = new Exposition(registry)
  const families = (await exposition.render()).text().split('\n').flatMap((l) => (/^# TYPE (pixie_http_\S+)/.exec(l)?.[1] ? [/^# TYPE (pixie_http_\S+)/.exec(l)?.[1]] : []))
  t.same(families, ['pixie_http_error_ratio', 'pixie_http_requests_total'], 'text: the two listed families')
  t.same(decodeFamilies(await exposition.renderProtobuf()).filter((f) => f.name.startsWith('pixie_http_')).map((f) => f.name), ['pixie_http_error_ratio', 'pixie_http_requests_total'], 'protobuf: the same')
})
