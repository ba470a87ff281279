import t from 'tap'
import { Registry } from 'prom-client'
import { PxlCollector, checkPxlSpec, scaler } from '../../src/collectors/pxl.js'
import { OTHER_ROUTE } from '../../src/collectors/routes.js'
import { CollectorResultError, PixieUnavailableError } from '../../src/errors.js'
import { sinkLogger } from '../fixtures/logger.js'
import { EXAMPLE_SCRIPT, T0, podRequests, pxlSetup, pxlSpec, pxlTable } from '../fixtures/pxl-fixtures.js'
import { ScriptedPixie } from '../fixtures/http-fixtures.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'

const ns = (ms: number) => BigInt(ms) * 1_000_000n
const counterSpec = pxlSpec({
  name: 'pod_requests',
  metrics: [{ column: 'requests', name: 'shop_requests_total', help: 'Requests.', type: 'counter' }],
})

t.test('a gauge run sends the script with the window as plugin time and publishes one series per row', async (t) => {
  const s = pxlSetup([[podRequests([['web-1', 10], ['web-2', 20]])]])
  const summary = await s.run()
  t.equal(summary.rows, 2, 'the rows are reported')
  const call = s.pixie.calls[0]
  t.equal(call?.script, EXAMPLE_SCRIPT, 'the script is sent unchanged')
  t.equal(call?.queryName, 'pixie-exporter/requests_by_pod', 'the query is named after the collector')
  t.same(call?.pluginTime, { startNs: ns(T0 - 35_000), endNs: ns(T0 - 5_000) }, 'plugin time is [now − lag − window, now − lag)')
  t.same(await s.samples('shop_requests'), [['{"pod":"web-1"}', 10], ['{"pod":"web-2"}', 20]], 'one sample per row')
  t.equal(s.collector.lastSuccessAt, T0, 'the success is recorded')
})

t.test('gauges are replaced as a whole on each run', async (t) => {
  const s = pxlSetup([[podRequests([['web-1', 10], ['web-2', 20]])], [podRequests([['web-2', 5], ['web-3', 7]])]])
  await s.run()
  s.clock.advance(10_000)
  await s.run()
  t.same(await s.samples('shop_requests'), [['{"pod":"web-2"}', 5], ['{"pod":"web-3"}', 7]], 'the vanished label set is gone, the rest is the new run')
  t.same(s.pixie.calls[1]?.pluginTime, { startNs: ns(T0 - 25_000), endNs: ns(T0 + 5_000) }, 'each gauge run looks at its own window')
})

t.test('counters add up over contiguous plugin-time ranges', async (t) => {
  const s = pxlSetup(
    [[podRequests([['web-1', 30]])], [podRequests([['web-1', 10], ['web-2', 4]])], [podRequests([['web-1', 5]])]],
    counterSpec,
  )
  await s.run()
  s.clock.advance(10_000)
  await s.run()
  s.clock.advance(12_000)
  await s.run()
  const ranges = s.pixie.calls.map((c) => c.pluginTime)
  t.same(ranges[0], { startNs: ns(T0 - 35_000), endNs: ns(T0 - 5_000) }, 'the first range is one window')
  t.equal(ranges[1]?.startNs, ranges[0]?.endNs, 'the second range starts where the first ended')
  t.equal(ranges[2]?.startNs, ranges[1]?.endNs, 'the third range starts where the second ended')
  t.equal(ranges[2]?.endNs, ns(T0 + 22_000 - 5_000), 'ranges end lag before now')
  t.same(await s.samples('shop_requests_total'), [['{"pod":"web-1"}', 45], ['{"pod":"web-2"}', 4]], 'counts are added per label set')
  const text = await s.registry.getSingleMetricAsString('shop_requests_total')
  t.match(text, /# TYPE shop_requests_total counter/, 'exported as a counter')
})

t.test('a failed run keeps the previous values and the next success catches up the range', async (t) => {
  const s = pxlSetup([[podRequests([['web-1', 30]])], new PixieUnavailableError('down'), [podRequests([['web-1', 6]])]], counterSpec)
  await s.run()
  s.clock.advance(10_000)
  await t.rejects(s.run(), PixieUnavailableError, 'the failure is reported')
  t.same(await s.samples('shop_requests_total'), [['{"pod":"web-1"}', 30]], 'the published values are untouched')
  t.equal(s.collector.lastSuccessAt, T0, 'the last success is unchanged')
  s.clock.advance(10_000)
  await s.run()
  t.same(s.pixie.calls[2]?.pluginTime, { startNs: ns(T0 - 5_000), endNs: ns(T0 + 15_000) }, 'the next range covers the failed run too')
  t.same(await s.samples('shop_requests_total'), [['{"pod":"web-1"}', 36]], 'and its counts are added')
})

t.test('a failed gauge run keeps the previous gauges', async (t) => {
  const s = pxlSetup([[podRequests([['web-1', 10]])], new PixieUnavailableError('down')])
  await s.run()
  s.clock.advance(10_000)
  await t.rejects(s.run(), PixieUnavailableError, 'the failure is reported')
  t.same(await s.samples('shop_requests'), [['{"pod":"web-1"}', 10]], 'the previous gauges are still exported')
})

t.test('labels are renamed and transformed, static labels added, values scaled', async (t) => {
  const spec = pxlSpec({
    labels: [
      { column: 'pod', label: 'pod', transform: 'strip-namespace' },
      { column: 'svc', label: 'service', transform: 'service-list' },
      { column: 'code', label: 'status' },
      { column: 'ok', label: 'ok' },
    ],
    staticLabels: { team: 'shop' },
    metrics: [
      { column: 'latency_ns', name: 'shop_latency_seconds', help: 'Latency.', type: 'gauge', scale: 1e-9 },
      { column: 'ok', name: 'shop_ok', help: 'OK.', type: 'gauge' },
    ],
  })
  const table = pxlTable('requests_by_pod', [
    { name: 'pod', type: 'STRING', values: ['default/web-1', 'default/web-2'] },
    { name: 'svc', type: 'STRING', values: ['default/web', '["default/a","default/b"]'] },
    { name: 'code', type: 'INT64', values: [200n, 503n] },
    { name: 'ok', type: 'BOOLEAN', values: [true, false] },
    { name: 'latency_ns', type: 'FLOAT64', values: [25e6, 1.5e9] },
  ])
  const s = pxlSetup([[table]], spec)
  await s.run()
  t.same(
    await s.samples('shop_latency_seconds'),
    [
      ['{"pod":"web-1","service":"web","status":"200","ok":"true","team":"shop"}', 0.025],
      ['{"pod":"web-2","service":"a,b","status":"503","ok":"false","team":"shop"}', 1.5],
    ],
    'namespace stripped, service list joined, numbers and booleans as text, static label added, ns → s',
  )
  t.same((await s.samples('shop_ok')).map(([, v]) => v), [1, 0], 'a BOOLEAN value column reads 1 and 0')
})

t.test('scaling by the inverse of an integer divides, so decimal results stay exact', async (t) => {
  t.equal(scaler(1e-9)(15_250_000_000), 15.25, 'ns → s without floating-point noise')
  t.equal(scaler(1e-3)(1500), 1.5, 'ms → s')
  t.equal(scaler(1e9)(2.5e-9), 2.5, 'per ns → per s multiplies')
  t.equal(scaler(0.4)(10), 4, 'any other scale multiplies')
})

t.test('the route transform templates paths and counters merge what it merges', async (t) => {
  const spec = pxlSpec({
    name: 'endpoints',
    labels: [{ column: 'req_path', label: 'route', transform: 'route' }],
    metrics: [{ column: 'requests', name: 'shop_endpoint_requests_total', help: 'Requests.', type: 'counter' }],
    routes: { patterns: ['/orders/*/item/*'], maxRoutes: 2 },
  })
  const table = pxlTable('requests_by_pod', [
    { name: 'req_path', type: 'STRING', values: ['/users/1?x=1', '/users/2', '/orders/9/item/3', '/health', '/metrics', '/orders/8/item/4'] },
    { name: 'requests', type: 'INT64', values: [1n, 2n, 3n, 4n, 5n, 6n] },
  ])
  const s = pxlSetup([[table]], spec)
  await s.run()
  const got = Object.fromEntries((await s.samples('shop_endpoint_requests_total')).map(([l, v]) => [JSON.parse(l).route as string, v]))
  t.same(
    got,
    { '/users/{id}': 3, '/orders/*/item/*': 9, '/health': 4, [OTHER_ROUTE]: 5 },
    'ids templated, patterns matched, the route past the cap is other, and merged rows are summed',
  )
})

t.test('two rows with the same gauge label set fail the run, naming the label set', async (t) => {
  const s = pxlSetup([[podRequests([['web-1', 1]])], [podRequests([['web-1', 1], ['web-1', 2]])]])
  await s.run()
  s.clock.advance(10_000)
  const err = await s.run().catch((e: unknown) => e)
  t.ok(err instanceof CollectorResultError, 'a CollectorResultError')
  t.equal(
    (err as Error).message,
    'table "requests_by_pod" has more than one row for the label set {pod="web-1"}; a gauge holds one value per label set (aggregate in the script, or map more columns to labels)',
    'the message names the label set',
  )
  t.same(await s.samples('shop_requests'), [['{"pod":"web-1"}', 1]], 'the previous run stays published')
})

t.test('NaN and infinite gauge values are left out; bad counter values fail the run', async (t) => {
  const gauges = pxlTable('requests_by_pod', [
    { name: 'pod', type: 'STRING', values: ['a', 'b', 'c'] },
    { name: 'requests', type: 'FLOAT64', values: [Number.NaN, Number.POSITIVE_INFINITY, 0.5] },
  ])
  const s = pxlSetup([[gauges]])
  await s.run()
  t.same(await s.samples('shop_requests'), [['{"pod":"c"}', 0.5]], 'only the finite value is exported')

  const negative = pxlTable('requests_by_pod', [
    { name: 'pod', type: 'STRING', values: ['a'] },
    { name: 'requests', type: 'INT64', values: [-3n] },
  ])
  const c = pxlSetup([[negative]], counterSpec)
  await t.rejects(
    c.run(),
    new CollectorResultError('table "requests_by_pod" row 0: counter column "requests" must be a finite number >= 0, got -3'),
    'a negative count fails the run',
  )
})

t.test('a table of the wrong shape fails the run with a clear message', async (t) => {
  const s = pxlSetup([
    [podRequests([['a', 1]], 'other_table')],
    [pxlTable('requests_by_pod', [{ name: 'pod', type: 'STRING', values: ['a'] }])],
    [pxlTable('requests_by_pod', [{ name: 'pod', type: 'STRING', values: ['a'] }, { name: 'requests', type: 'STRING', values: ['1'] }])],
  ])
  await t.rejects(s.run(), new CollectorResultError('result has no table "requests_by_pod" (tables received: "other_table")'), 'missing table')
  await t.rejects(s.run(), new CollectorResultError('table "requests_by_pod" has no column "requests"'), 'missing column')
  await t.rejects(
    s.run(),
    new CollectorResultError('column "requests" of table "requests_by_pod" is STRING, expected a number (INT64, FLOAT64, TIME64NS or BOOLEAN)'),
    'wrong column type',
  )
  t.equal(s.collector.lastSuccessAt, undefined, 'nothing was published')
})

t.test('maxSeries keeps exactly maxSeries series in label order and counts the dropped ones', async (t) => {
  const spec = pxlSpec({
    maxSeries: 4,
    metrics: [
      { column: 'requests', name: 'shop_requests', help: 'Requests.', type: 'gauge' },
      { column: 'requests', name: 'shop_requests_doubled', help: 'Twice.', type: 'gauge', scale: 2 },
    ],
  })
  const pods = ['p09', 'p03', 'p07', 'p01', 'p05', 'p02', 'p08', 'p04', 'p06', 'p10']
  const s = pxlSetup([[podRequests(pods.map((p, i) => [p, i]))], [podRequests(pods.map((p, i) => [p, i]))]], spec)
  await s.run()
  const kept = (await s.samples('shop_requests')).map(([l]) => JSON.parse(l).pod as string)
  t.same(kept, ['p01', 'p02', 'p03', 'p04'], 'exactly maxSeries series, the first in label order')
  t.equal((await s.samples('shop_requests_doubled')).length, 4, 'the cap applies to every metric')
  t.equal(await s.value('pixie_exporter_series_dropped_total', { collector: 'requests_by_pod' }), 12, '6 label sets × 2 metrics dropped')
  const warnings = s.log.lines().filter((l) => l.msg === 'collector reached maxSeries; series beyond it were dropped')
  t.equal(warnings.length, 1, 'one warning per run')
  t.match(warnings[0], { level: 40, collector: 'requests_by_pod', maxSeries: 4, droppedSeries: 12 }, 'the warning names the collector')
  s.clock.advance(10_000)
  await s.run()
  t.equal(await s.value('pixie_exporter_series_dropped_total', { collector: 'requests_by_pod' }), 24, 'each run counts what it dropped')
})

t.test('with counters, label sets that have series keep them and new ones fill the free places', async (t) => {
  const spec = { ...counterSpec, maxSeries: 2 }
  const s = pxlSetup([[podRequests([['b', 1], ['c', 1]])], [podRequests([['a', 1], ['c', 1], ['b', 1]])]], spec)
  await s.run()
  s.clock.advance(10_000)
  await s.run()
  t.same(await s.samples('shop_requests_total'), [['{"pod":"b"}', 2], ['{"pod":"c"}', 2]], 'a, though first in order, finds no free place')
  t.equal(await s.value('pixie_exporter_series_dropped_total', { collector: 'pod_requests' }), 1, 'and is counted as dropped')
})

t.test('counter label sets not seen for expireAfter are removed, and free their place', async (t) => {
  const spec = { ...counterSpec, expireAfterMs: 15_000, maxSeries: 1 }
  const s = pxlSetup([[podRequests([['a', 1]])], [podRequests([])], [podRequests([['b', 2]])]], spec)
  await s.run()
  s.clock.advance(10_000)
  await s.run()
  t.same(await s.samples('shop_requests_total'), [['{"pod":"a"}', 1]], 'a label set without rows keeps its counter until expiry')
  s.clock.advance(10_000)
  await s.run()
  t.same(await s.samples('shop_requests_total'), [['{"pod":"b"}', 2]], 'after expireAfter it is gone and b takes its place')
  t.equal(s.collector.counterSeries, 1, 'one label set is kept')
})

t.test('everything is hidden once stale, and comes back with the next success', async (t) => {
  const s = pxlSetup([[podRequests([['a', 1]])], [podRequests([['a', 2]])]], pxlSpec({ staleAfterMs: 30_000 }))
  await s.run()
  s.clock.advance(30_001)
  t.same(await s.samples('shop_requests'), [], 'stale data is not exported')
  const text = await s.registry.getSingleMetricAsString('shop_requests')
  t.notMatch(text, /shop_requests\{/, 'the rendered text has no samples either')
  await s.run()
  t.same(await s.samples('shop_requests'), [['{"pod":"a"}', 2]], 'fresh again after a success')
})

t.test('the cached exposition changes when a run is published or the data turns stale', async (t) => {
  const s = pxlSetup([[podRequests([['a', 1]])], [podRequests([['a', 2]])]])
  await s.run()
  const first = await s.registry.metrics()
  t.match(first, /shop_requests\{pod="a"\} 1\n/, 'the first run is rendered')
  t.match(first, /# HELP shop_requests Requests\. \(PxL collector requests_by_pod, polled in the background over the last 30s; absent once stale\.\)/, 'HELP says how it is collected')
  s.clock.advance(10_000)
  await s.run()
  t.match(await s.registry.metrics(), /shop_requests\{pod="a"\} 2\n/, 'the second run replaces the cached text')
})

t.test('a collector with only counters asks for nothing new when the clock went back', async (t) => {
  const s = pxlSetup([[podRequests([['a', 1]])]], counterSpec)
  await s.run()
  s.clock.advance(-60_000)
  t.same(await s.run(), { rows: 0 }, 'the run succeeds with no rows')
  t.equal(s.pixie.calls.length, 1, 'Pixie is not asked')
})

t.test('invalid specs are refused at construction', async (t) => {
  const refuse = (overrides: Parameters<typeof pxlSpec>[0], message: string, why: string) =>
    t.throws(() => checkPxlSpec(pxlSpec(overrides)), new TypeError(`PxL collector "requests_by_pod": ${message}`), why)
  refuse({ metrics: [] }, 'has no metrics', 'no metrics')
  refuse({ metrics: [{ column: 'c', name: 'x_total', help: 'h', type: 'gauge' }] }, '"x_total" is a gauge and must not end in _total (reserved for counters)', 'gauge named _total')
  refuse({ metrics: [{ column: 'c', name: 'x', help: 'h', type: 'counter' }] }, '"x" is a counter and must end in _total', 'counter without _total')
  refuse({ labels: [{ column: 'c', label: 'le' }] }, '"le" is reserved (histograms and summaries use it)', 'reserved label')
  refuse({ staticLabels: { pod: 'x' } }, 'label pod is defined twice', 'a label both mapped and static')
  refuse(
    { labels: [{ column: 'p', label: 'route', transform: 'route' }] },
    'the route transform needs every metric to be a counter (a gauge of merged paths has no single value)',
    'route with a gauge',
  )
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 't' })
  t.throws(
    () =>
      new PxlCollector({
        spec: pxlSpec({ maxSeries: 0 }),
        pixie: new ScriptedPixie([]),
        registry,
        logger: sinkLogger().logger,
        now: Date.now,
        seriesDropped: metrics.seriesDropped,
      }),
    TypeError,
    'the constructor checks the spec',
  )
})

t.test('a large result is decoded with the event loop turning every slice of rows; the published values are whole', async (t) => {
  const { DECODE_SLICE_ROWS } = await import('../../src/collectors/pxl.js')
  const rows = Array.from({ length: DECODE_SLICE_ROWS * 5 + 3 }, (_, i) => [`web-${String(i).padStart(5, '0')}`, i] as const)
  const s = pxlSetup([[podRequests(rows)]])
  let turns = 0
  let running = true
  const ticking = (async () => {
    while (running) {
      await new Promise((r) => setImmediate(r))
      turns++
    }
  })()
  await s.run()
  const turnsDuringRun = turns
  running = false
  await ticking
  t.ok(turnsDuringRun >= 5, `the event loop turned ${turnsDuringRun} times while ${rows.length} rows were decoded (at least one per slice of ${DECODE_SLICE_ROWS})`)
  const samples = await s.samples('shop_requests')
  t.equal(samples.length, rows.length, 'every row is published')
  t.same(samples.at(-1), [`{"pod":"web-${String(rows.length - 1).padStart(5, '0')}"}`, rows.length - 1], 'the last row too')
})
