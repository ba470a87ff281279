/**
 * End to end for the counters and the histogram: the simulator (ground truth),
 * the compiled exporter, and a real Prometheus.
 *
 * Timeline (seconds from the start of the test; the scenario started 30 s
 * earlier so every window is full):
 *   0–20   healthy             polls every second, contiguous ranges; Prometheus
 *                              scrapes from about 10 s on (its first target refresh)
 *   20–23  Pixie unavailable   3 s of failures, caught up by the next success
 *   28–42  Pixie unavailable   14 s > maxCatchUp (8 s): the older 6 s are skipped and reported
 *   46–    Pixie unavailable   freezes both sides so they can be compared exactly
 */
import t from 'tap'
import { DEFAULT_BUCKETS_SECONDS } from '../../src/config/schema.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { logNormalOf, mixtureQuantile } from '../../src/simulator/latency.js'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'
import { sinkLogger } from '../fixtures/logger.js'
import { findTool, promQuery, promtool, scrapeWithPrometheus, startExporter } from '../fixtures/tools.js'

const BACK = 30_000
const pods = {
  a: { name: 'web-6d8c6b9c8f-aaaaa', rps: 100, statuses: { 200: 0.95, 500: 0.05 }, latency: { p50: '20ms', p99: '200ms' } },
  b: { name: 'web-6d8c6b9c8f-bbbbb', rps: 100, statuses: { 200: 0.9, 404: 0.1 }, latency: { p50: '30ms', p99: '400ms' } },
  c: { name: 'web-7f6d5c9b4b-ccccc', rps: 10, statuses: { 200: 0.5, 500: 0.5 }, latency: { p50: '50ms', p99: '900ms' } },
}
const at = (s: number) => `${BACK / 1000 + s}s`
const scenario = scenarioFromObject({
  name: 'counters-e2e',
  pods: Object.values(pods).map((p) => ({
    namespace: 'default',
    name: p.name,
    services: ['web'],
    phases: [{ at: '0s', rps: p.rps, statuses: p.statuses, latency: p.latency }],
  })),
  faults: [
    { kind: 'unavailable', from: at(20), until: at(23) },
    { kind: 'unavailable', from: at(28), until: at(42) },
    { kind: 'unavailable', from: at(46) },
  ],
})
/** The exporter runs with the default buckets. */
const BUCKETS: readonly number[] = DEFAULT_BUCKETS_SECONDS

for (const tool of ['prometheus', 'promtool']) {
  const found = findTool(tool)
  if (found instanceof Error) t.fail(found.message)
}

/** Parses `name{labels} value` lines of an exposition into a lookup. */
function parseExposition(text: string): (name: string, labels: Record<string, string>) => number | undefined {
  const samples = text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l)
      const labels = Object.fromEntries([...(m?.[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]))
      return { name: m?.[1] ?? '', labels, value: Number(m?.[3]) }
    })
  return (name, labels) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
}

t.test('counters and histogram match the ground truth through outages, and Prometheus computes rates and quantiles from them', async (t) => {
  const t0 = Date.now()
  const sim = await startSimulator({ scenario, listen: '127.0.0.1:0', logger: sinkLogger('error').logger, startedAt: t0 - BACK })
  t.teardown(() => sim.close())
  const dir = mkdtempSync(join(tmpdir(), 'pxe-counters-'))
  const configFile = join(dir, 'config.yaml')
  writeFileSync(
    configFile,
    // histogramSumAndCount: _sum and _count are checked against the truth too.
    ['collectors:', '  http:', '    interval: 1s', '    window: 5s', '    lag: 1s', '    maxCatchUp: 8s', '    staleAfter: 2m', '    histogramSumAndCount: true', ''].join('\n'),
  )
  const exporter = await startExporter(['--config', configFile, '--pixie.address', sim.address, '--pixie.tls', 'plaintext'], {
    PX_CLUSTER_ID: '10000000-0000-0000-0000-000000000001',
  })
  t.teardown(() => exporter.stop())
  const prom = await scrapeWithPrometheus([exporter.url.replace('http://', '')])
  t.teardown(() => prom.stop())

  // Let the whole timeline play out, then compare the frozen state.
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + 49_000 - Date.now())))
  const truth = sim.truth()
  const text = await (await fetch(`${exporter.url}/metrics`)).text()
  const value = parseExposition(text)

  const lint = promtool(['check', 'metrics'], text)
  t.equal(lint.output.trim(), '', 'promtool check metrics stays clean with counters and histograms')

  t.equal(truth.overlapsMs, 0, 'no time was counted twice')
  const skipped = value('pixie_exporter_collector_skipped_seconds_total', { collector: 'http' }) ?? -1
  t.ok(skipped > 0, `the long outage skipped time (${skipped}s)`)
  t.equal(truth.gapsMs, Math.round(skipped * 1000), 'the only uncounted time is the reported skipped time: no silent gap')
  t.ok((value('pixie_exporter_collector_runs_total', { collector: 'http', result: 'error' }) ?? 0) >= 3, 'the outages were failed runs')

  for (const p of Object.values(pods)) {
    const truthPod = truth.pods[`default/${p.name}`]
    const labels = { namespace: 'default', pod: p.name, service: 'web' }
    for (const cls of ['1xx', '2xx', '3xx', '4xx', '5xx'] as const) {
      const want = truthPod?.byClass[cls]
      if (cls === '2xx' || cls === '5xx' || (want ?? 0) > 0) t.equal(value('pixie_http_requests_total', { ...labels, status_class: cls }), want, `${p.name} ${cls} equals the truth`)
      else t.equal(value('pixie_http_requests_total', { ...labels, status_class: cls }), undefined, `${p.name} never answered ${cls}: no series`)
    }
    t.equal(value('pixie_http_request_duration_seconds_count', labels), truthPod?.requests, `${p.name} histogram count equals the requests`)
    for (const b of truthPod?.latencyBuckets ?? []) {
      t.equal(value('pixie_http_request_duration_seconds_bucket', { ...labels, le: String(b.leNs / 1e9) }), b.count, `${p.name} bucket le=${b.leNs / 1e9}`)
    }
    const sum = value('pixie_http_request_duration_seconds_sum', labels) ?? NaN
    t.ok(Math.abs(sum - (truthPod?.latencySumNs ?? 0) / 1e9) < 1e-6, `${p.name} latency sum equals the truth`)
  }

  // Prometheus: increase() over 6 s of the healthy phase. Tolerance: the
  // counters move once per poll (1 s) and Prometheus samples every second and
  // extrapolates to the range edges, so up to ~2 s of traffic either way.
  const healthyEnd = Math.floor((t0 + 19_000) / 1000)
  const [inc] = await promQuery(prom.url, `sum(increase(pixie_http_requests_total{job="${prom.job}",pod="${pods.a.name}"}[6s]))`, healthyEnd)
  t.ok(inc !== undefined && Math.abs(inc.value - pods.a.rps * 6) <= pods.a.rps * 2, `increase over 6s is ${inc?.value}, expected ${pods.a.rps * 6} ± ${pods.a.rps * 2}`)

  // histogram_quantile over several pods lands in the bucket holding the true p99
  // (100 rps per pod: the 1 % tail is ~16 requests per 8 s, far more than the
  // simulator's per-cell rounding of a request or two).
  const weights = [pods.a, pods.b]
  const trueP99 = (mixtureQuantile(weights.map((p) => ({ weight: p.rps, dist: logNormalOf({ p50: Number.parseInt(p.latency.p50) * 1e6, p90: 0, p99: Number.parseInt(p.latency.p99) * 1e6 }) })), 0.99) ?? NaN) / 1e9
  const [q] = await promQuery(
    prom.url,
    `histogram_quantile(0.99, sum by (le) (rate(pixie_http_request_duration_seconds_bucket{job="${prom.job}",pod=~"web-6d8c6b9c8f-.*"}[8s])))`,
    healthyEnd,
  )
  const upper = BUCKETS.find((b) => b >= trueP99) ?? Number.POSITIVE_INFINITY
  const lower = [...BUCKETS].reverse().find((b) => b < trueP99) ?? 0
  t.ok(q !== undefined && q.value > lower && q.value <= upper, `p99 ${q?.value}s lands in (${lower}, ${upper}], the bucket of the true p99 ${trueP99.toFixed(3)}s`)
})
