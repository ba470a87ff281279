import t from 'tap'
import { Registry } from 'prom-client'
import { HttpCollector, podLabel, serviceLabel } from '../../src/collectors/http.js'
import { CollectorResultError, PixieUnavailableError } from '../../src/errors.js'
import { httpParamsOfCall } from '../fixtures/http-call.js'
import { sinkLogger } from '../fixtures/logger.js'
import { ScriptedPixie, answer, httpConfig, podStatsTable, type PodRow } from '../fixtures/http-fixtures.js'

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0)
const controller = () => new AbortController().signal

const canary: PodRow = {
  namespace: 'default',
  pod: 'default/canary-demo-7d9f8b6c5d-abcde',
  service: 'default/canary-demo',
  requests: 300,
  errors: 246,
  p50: 25e6,
  p90: 80e6,
  p99: 150e6,
}
const stable: PodRow = { ...canary, pod: 'default/canary-demo-6d8c6b9c8f-xk2lp', errors: 0, p50: 20e6, p90: 50e6, p99: 80e6 }

function setup(answers: ConstructorParameters<typeof ScriptedPixie>[0], overrides: Parameters<typeof httpConfig>[0] = {}) {
  let now = T0
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  const registry = new Registry()
  const pixie = new ScriptedPixie(answers)
  const collector = new HttpCollector({ pixie, registry, logger: sinkLogger().logger, now: clock.now, config: httpConfig(overrides) })
  const run = () => collector.run({ signal: controller(), timeoutMs: 5000 })
  const value = async (name: string, labels: Record<string, string>) => {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
    const found = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    return found?.value
  }
  const seriesCount = async (name: string) => ((await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values.length ?? -1)
  return { clock, registry, pixie, collector, run, value, seriesCount }
}

t.test('serviceLabel turns Pixie service values into plain names', async (t) => {
  t.equal(serviceLabel('default/canary-demo'), 'canary-demo', 'ns/svc gives svc')
  t.equal(serviceLabel('["default/a","default/b"]'), 'a,b', 'a JSON array gives names joined with a comma')
  t.equal(serviceLabel(''), '', 'no service gives an empty label')
  t.equal(serviceLabel('[broken'), '[broken', 'unparsable input is kept rather than dropped')
  t.equal(podLabel('default/canary-demo-7d9f8b6c5d-abcde'), 'canary-demo-7d9f8b6c5d-abcde', 'pod label drops the namespace')
})

t.test('one run publishes rate, error rate, ratio and latency per pod', async (t) => {
  const s = setup([answer([canary, stable])])
  const summary = await s.run()
  t.equal(summary.rows, 4, 'rows of both tables are reported')
  const labels = { namespace: 'default', pod: 'canary-demo-7d9f8b6c5d-abcde', service: 'canary-demo' }
  t.equal(await s.value('pixie_http_requests_per_second', labels), 10, '300 requests over 30s is 10/s')
  t.equal(await s.value('pixie_http_errors_per_second', labels), 8.2, '246 errors over 30s is 8.2/s')
  t.equal(await s.value('pixie_http_error_ratio', labels), 0.82, 'ratio is errors/requests')
  t.equal(await s.value('pixie_http_latency_seconds', { ...labels, quantile: '0.99' }), 0.15, 'p99 is in seconds')
  t.equal(await s.value('pixie_http_latency_seconds', { ...labels, quantile: '0.5' }), 0.025, 'p50 is in seconds')
  t.equal(await s.value('pixie_http_error_ratio', { ...labels, pod: 'canary-demo-6d8c6b9c8f-xk2lp' }), 0, 'a healthy pod with traffic reads 0')
})

t.test('one PxL run covers every pod, over the configured window and error threshold', async (t) => {
  const s = setup([answer([canary, stable])], {
    windowMs: 60_000,
    errorStatusMin: 400,
    namespaces: { include: ['default', 'shop'], exclude: [] },
  })
  await s.run()
  t.equal(s.pixie.calls.length, 1, 'exactly one script run for all pods')
  const params = httpParamsOfCall(s.pixie.calls[0])
  t.ok(params, 'the built-in script was sent')
  t.equal(params?.endNs, BigInt(T0 - 5_000) * 1_000_000n, 'the window ends lag (5s) before now')
  t.equal(params?.startNs, BigInt(T0 - 65_000) * 1_000_000n, 'the window starts one window earlier')
  t.equal(params?.errorStatusMin, 400, 'errorStatusMin reaches the script')
  t.same(params?.include, ['default', 'shop'], 'namespace include list reaches the script')
  t.match(s.pixie.calls[0]?.script, /#px:set max_output_rows_per_table=100000/, 'row limit is raised')
})

t.test('pods without requests are not invented', async (t) => {
  const s = setup([answer([{ ...canary, requests: 0, errors: 0 }, stable])])
  await s.run()
  t.equal(await s.seriesCount('pixie_http_error_ratio'), 1, 'only the pod with requests is exported')
})

t.test('unusable quantiles give no latency series instead of zero', async (t) => {
  const s = setup([answer([{ ...canary, p50: 0, p90: Number.NaN, p99: 150e6 }])])
  await s.run()
  t.equal(await s.seriesCount('pixie_http_latency_seconds'), 1, 'only the p99 is exported')
})

t.test('a vanished pod disappears on the next successful run', async (t) => {
  const s = setup([answer([canary, stable]), answer([stable])])
  await s.run()
  t.equal(await s.seriesCount('pixie_http_error_ratio'), 2, 'two pods first')
  s.clock.advance(10_000)
  await s.run()
  t.equal(await s.seriesCount('pixie_http_error_ratio'), 1, 'one pod after it vanished')
})

t.test('a failed run keeps the last values until staleAfter, then removes them', async (t) => {
  const s = setup([answer([canary]), new PixieUnavailableError('down'), new PixieUnavailableError('down')], {
    staleAfterMs: 30_000,
  })
  await s.run()
  s.clock.advance(10_000)
  await t.rejects(s.run(), PixieUnavailableError, 'the failure is reported to the scheduler')
  t.equal(await s.seriesCount('pixie_http_error_ratio'), 1, 'last values are kept while fresh')
  s.clock.advance(21_000)
  await t.rejects(s.run(), PixieUnavailableError)
  t.equal(await s.seriesCount('pixie_http_error_ratio'), 0, 'stale values are removed, never read as 0 % errors')
  t.equal(await s.seriesCount('pixie_http_requests_per_second'), 0, 'every per-pod metric is removed')
})

t.test('staleAfter defaults to three intervals', async (t) => {
  const s = setup([answer([canary])])
  t.equal(s.collector.staleAfterMs, 30_000, '3 x 10s')
})

t.test('a malformed result is rejected without touching the published values', async (t) => {
  const bad = podStatsTable([canary])
  const wrongType = { ...bad, data: [...bad.data.slice(0, 3), { type: 'FLOAT64' as const, values: [1] }, ...bad.data.slice(4)] }
  const s = setup([answer([canary]), [wrongType], [{ ...bad, name: 'other' }], answer([{ ...canary, errors: 400 }])])
  await s.run()
  await t.rejects(s.run(), CollectorResultError, 'a column of the wrong type is an error')
  await t.rejects(s.run(), { message: /result has no table "http_pod_stats" \(tables received: "other"\)/ }, 'a missing table is an error')
  await t.rejects(s.run(), { message: /errors \(400\) must be between 0 and requests \(300\)/ }, 'impossible counts are an error')
  const labels = { namespace: 'default', pod: 'canary-demo-7d9f8b6c5d-abcde', service: 'canary-demo' }
  t.equal(await s.value('pixie_http_error_ratio', labels), 0.82, 'the last good values are still published')
})

t.test('HELP says the values come from a background poll over the window', async (t) => {
  const s = setup([])
  const text = await s.registry.metrics()
  t.match(text, /# HELP pixie_http_error_ratio .*background Pixie poll over the last 30s/, 'HELP names the poll and the window')
})

t.test('a result that repeats a pod label set is rejected, nothing published', async (t) => {
  const s = setup([answer([canary]), answer([stable, stable])])
  await s.run()
  await t.rejects(s.run(), { code: 'PXE_ERR_COLLECTOR_RESULT', message: /appears twice/ }, 'duplicate rows are an error')
  t.equal(await s.seriesCount('pixie_http_error_ratio'), 1, 'the previous run is still what is published')
})
