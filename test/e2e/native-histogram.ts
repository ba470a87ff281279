/**
 * End to end, native histograms: the Pixie API simulator (real gRPC on
 * loopback) → the compiled exporter with `collectors.http.nativeHistogram`
 * enabled → a real Prometheus 2.42 started with
 * `--enable-feature=native-histograms`, which negotiates the protobuf
 * exposition → PromQL on the native histogram, and the shipped latency
 * template (classic buckets) in the same setup.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { analyzeTemplate } from '../../src/analyze/command.js'
import { relativeError } from '../../src/metrics/native-histogram.js'
import { logNormalOf, mixtureQuantile } from '../../src/simulator/latency.js'
import { loadScenarioFile, startSimulator } from '../../src/simulator/server.js'
import { TEMPLATES_DIR } from '../fixtures/analysis-manifests.js'
import { sinkLogger } from '../fixtures/logger.js'
import { findTool, promQuery, promtool, startExporter, startPrometheus, waitFor } from '../fixtures/tools.js'

// Like scenarios/steady-canary.yaml at 40 times the traffic: a 1m rate then
// holds tens of thousands of requests, so the tail buckets are well filled.
const SCENARIO_YAML = `# SIMULATED DATA.
name: steady-canary-busy
description: Three stable pods and one slower canary, 400 rps each, constant over time.
pods:
${['x7k2p', 'm4q9z', 'tb8wn']
  .map(
    (suffix) => `  - namespace: default
    name: canary-demo-6d8c6b9c8f-${suffix}
    services: [canary-demo]
    phases:
      - at: 0s
        rps: 400
        statuses: {200: 1}
        latency: {p50: 20ms, p99: 80ms}`,
  )
  .join('\n')}
  - namespace: default
    name: canary-demo-7f6d5c9b4b-aaaaa
    services: [canary-demo]
    phases:
      - at: 0s
        rps: 400
        statuses: {200: 0.18, 500: 0.82}
        latency: {p50: 25ms, p99: 150ms}
`
const CLUSTER_ID = '10000000-0000-0000-0000-000000000001'
const SCHEMA = 3

for (const tool of ['prometheus', 'promtool']) {
  const found = findTool(tool)
  if (found instanceof Error) t.fail(found.message)
}

t.test('Prometheus with native histograms: histogram_quantile on the native histogram, and the shipped latency template', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-e2e-native-'))
  const scenarioFile = join(dir, 'scenario.yaml')
  writeFileSync(scenarioFile, SCENARIO_YAML)
  const scenario = loadScenarioFile(scenarioFile)
  // The scenario is constant over time: the true p99 of all requests is that
  // of the mixture of the pods' log-normals, weighted by their request rates.
  const partsOf = (pods: typeof scenario.pods) =>
    pods.map((p) => {
      const phase = p.phases[0]
      if (phase === undefined) throw new Error('scenario: a pod without a phase')
      return { weight: phase.rps, dist: logNormalOf(phase.latencyNs) }
    })
  const trueP99 = (mixtureQuantile(partsOf(scenario.pods), 0.99) ?? Number.NaN) / 1e9

  const sim = await startSimulator({ scenario, listen: '127.0.0.1:0', logger: sinkLogger('warn').logger, startedAt: Date.now() - 60_000 })
  t.teardown(() => sim.close())
  const configFile = join(dir, 'config.yaml')
  writeFileSync(
    configFile,
    // _sum and _count on, to compare them with the native count and sum.
    ['collectors:', '  http:', '    interval: 1s', '    window: 10s', '    lag: 1s', '    histogramSumAndCount: true', '    nativeHistogram:', '      enabled: true', `      schema: ${SCHEMA}`, ''].join('\n'),
  )
  const exporter = await startExporter(['--config', configFile, '--pixie.address', sim.address, '--pixie.tls', 'plaintext'], { PX_CLUSTER_ID: CLUSTER_ID })
  t.teardown(() => exporter.stop())
  await waitFor(
    'counters in the exposition',
    async () => ((await (await fetch(`${exporter.url}/metrics`)).text()).includes('pixie_http_request_duration_seconds_count{') ? true : undefined),
    20_000,
  )

  const text = await (await fetch(`${exporter.url}/metrics`)).text()
  const lint = promtool(['check', 'metrics'], text)
  t.equal(lint.status, 0, `promtool check metrics passes on the text exposition\n${lint.output}`)
  t.equal(lint.output.trim(), '', 'promtool reports nothing')

  const prom = await startPrometheus([exporter.url.replace('http://', '')], [], ['--enable-feature=native-histograms'])
  t.teardown(() => prom.stop())

  // Wait for 15 s of history (Prometheus scrapes every second), as the
  // template's 15s range needs.
  await waitFor(
    '15 s of native histogram history',
    async () => {
      const [n] = await promQuery(prom.url, 'min(count_over_time(pixie_http_request_duration_seconds_count[16s]))')
      return n !== undefined && n.value >= 14 ? true : undefined
    },
    60_000,
  )
  const [scrape] = await promQuery(prom.url, 'up{job="pixie-exporter"}')
  t.equal(scrape?.value, 1, 'the protobuf scrapes succeed')

  const [p99] = await promQuery(prom.url, 'histogram_quantile(0.99, sum(rate(pixie_http_request_duration_seconds[1m])))')
  const estimate = p99?.value ?? Number.NaN
  const error = Math.abs(estimate / trueP99 - 1)
  t.ok(
    Number.isFinite(estimate) && error <= relativeError(SCHEMA),
    `native p99 ${estimate.toFixed(5)} s is within one bucket (${(relativeError(SCHEMA) * 100).toFixed(2)} %) of the true ${trueP99.toFixed(5)} s (off by ${(error * 100).toFixed(2)} %)`,
  )
  t.comment(`true p99 ${trueP99.toFixed(5)} s, native estimate ${estimate.toFixed(5)} s (${(error * 100).toFixed(2)} % off)`)

  // The native histogram's count and sum match the classic series, which stay
  // ingested beside it (classicBuckets: separate).
  const [nativeCount] = await promQuery(prom.url, 'sum(histogram_count(pixie_http_request_duration_seconds))')
  const [classicCount] = await promQuery(prom.url, 'sum(pixie_http_request_duration_seconds_count)')
  t.ok(nativeCount !== undefined && nativeCount.value > 0, `the native histogram counts requests (${nativeCount?.value})`)
  t.equal(nativeCount?.value, classicCount?.value, 'native count = classic _count at the same scrape')
  const [nativeSum] = await promQuery(prom.url, 'sum(histogram_sum(pixie_http_request_duration_seconds))')
  const [classicSum] = await promQuery(prom.url, 'sum(pixie_http_request_duration_seconds_sum)')
  t.ok(nativeSum !== undefined && classicSum !== undefined && Math.abs(nativeSum.value - classicSum.value) <= 1e-9 * classicSum.value, 'native sum = classic _sum')
  const [classicP99] = await promQuery(prom.url, 'histogram_quantile(0.99, sum by (le) (rate(pixie_http_request_duration_seconds_bucket[1m])))')
  t.comment(`classic-bucket p99 in the same Prometheus: ${classicP99?.value.toFixed(5) ?? '?'} s`)
  t.ok(classicP99 !== undefined && Number.isFinite(classicP99.value), 'the classic buckets are still queryable beside the native histogram')

  // The shipped template (classic buckets) decides in this setup too.
  const file = 'latency-p99.yaml'
  const template = readFileSync(join(TEMPLATES_DIR, file), 'utf8')
  const args = { namespace: 'default', rollout: 'canary-demo', range: '15s', 'min-requests': '50' }
  const decide = async (hash: string, max: string) =>
    analyzeTemplate(template, file, { args: { ...args, 'canary-hash': hash, 'max-p99-seconds': max }, prometheus: prom.url })
  const ok = await decide('7f6d5c9b4b', '0.5')
  t.equal(ok.phase, 'Successful', `canary p99 (150 ms) against 0.5 s: ${ok.measurements.map((m) => `${m.value} ${m.message}`).join('; ')}`)
  const bad = await decide('7f6d5c9b4b', '0.05')
  t.equal(bad.phase, 'Failed', `canary p99 (150 ms) against 0.05 s: ${bad.measurements.map((m) => `${m.value} ${m.message}`).join('; ')}`)

  // The dashboard's latency panels (classic buckets), variables filled in.
  const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'grafana', 'dashboards', 'pixie-canary-analysis.json'), 'utf8')) as unknown
  const exprs: string[] = []
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk)
    else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'expr' && typeof v === 'string' && v.includes('pixie_http_request_duration_seconds_bucket')) exprs.push(v)
        else walk(v)
      }
    }
  }
  walk(dashboard)
  t.ok(exprs.length >= 2, `the dashboard has latency panels (${exprs.length} queries)`)
  for (const expr of exprs) {
    const query = expr
      .replaceAll('$namespace', 'default')
      .replaceAll('$workload', 'canary-demo')
      .replaceAll('$stable_hash', '6d8c6b9c8f')
      .replaceAll('$canary_hash', '7f6d5c9b4b')
      .replaceAll('$__rate_interval', '15s')
    const [r] = await promQuery(prom.url, query)
    t.ok(r !== undefined && Number.isFinite(r.value) && r.value > 0, `dashboard query answers ${r?.value}: ${query}`)
  }

  // The native form of the template's quantile (docs/native-histograms.md).
  const canary = 'namespace="default",pod=~"canary-demo-7f6d5c9b4b-[a-z0-9]+"'
  const [canaryNative] = await promQuery(prom.url, `histogram_quantile(0.99, sum(rate(pixie_http_request_duration_seconds{${canary}}[1m])))`)
  const canaryTrue = (mixtureQuantile(partsOf(scenario.pods.filter((p) => p.name.includes('-7f6d5c9b4b-'))), 0.99) ?? Number.NaN) / 1e9
  t.ok(
    canaryNative !== undefined && Math.abs(canaryNative.value / canaryTrue - 1) <= relativeError(SCHEMA),
    `canary-only native p99 ${canaryNative?.value} s within one bucket of ${canaryTrue} s`,
  )
})

t.test('why classicBuckets defaults to separate: Prometheus 2.42 drops the classic buckets of a histogram with native buckets', async (t) => {
  const scenario = loadScenarioFile(join(import.meta.dirname, '..', '..', 'scenarios', 'steady-canary.yaml'))
  const sim = await startSimulator({ scenario, listen: '127.0.0.1:0', logger: sinkLogger('warn').logger, startedAt: Date.now() - 60_000 })
  t.teardown(() => sim.close())
  const dir = mkdtempSync(join(tmpdir(), 'pxe-e2e-inline-'))
  const configFile = join(dir, 'config.yaml')
  // histogramSumAndCount: the text exposition has _count, so its absence in Prometheus means something.
  writeFileSync(configFile, ['collectors:', '  http:', '    interval: 1s', '    window: 10s', '    histogramSumAndCount: true', '    nativeHistogram: {enabled: true, classicBuckets: inline}', ''].join('\n'))
  const exporter = await startExporter(['--config', configFile, '--pixie.address', sim.address, '--pixie.tls', 'plaintext'], { PX_CLUSTER_ID: CLUSTER_ID })
  t.teardown(() => exporter.stop())
  const prom = await startPrometheus([exporter.url.replace('http://', '')], [], ['--enable-feature=native-histograms'])
  t.teardown(() => prom.stop())
  const native = await waitFor(
    'the native histogram in Prometheus',
    async () => {
      const r = await promQuery(prom.url, 'histogram_count(pixie_http_request_duration_seconds)')
      return r.length === 4 ? r : undefined
    },
    30_000,
  )
  t.equal(native.length, 4, 'one native histogram per pod')
  // Two more scrapes, then the classic series would have been there.
  await new Promise((r) => setTimeout(r, 2_500))
  t.same(await promQuery(prom.url, 'pixie_http_request_duration_seconds_bucket'), [], 'inline: no _bucket series are stored')
  t.same(await promQuery(prom.url, 'pixie_http_request_duration_seconds_count'), [], 'inline: no _count series either')
})
