import t, { type Test } from 'tap'
import { Registry } from 'prom-client'
import { LIBRARY, type LibraryName } from '../../../src/collectors/library/index.js'
import type { HttpEndpointOptions } from '../../../src/collectors/library/http-endpoint.js'
import { PxlCollector } from '../../../src/collectors/pxl.js'
import type { PxlCollectorSpec } from '../../../src/collectors/pxl-spec.js'
import { createSelfMetrics } from '../../../src/metrics/self-metrics.js'
import { expectedPodCounts } from '../../../src/simulator/traffic.js'
import { libraryScenario, startLibrarySimulator, T0 } from '../../fixtures/library-scenario.js'
import { promtool } from '../../fixtures/tools.js'

// Ranges of 50 s ending 5 s before now: runs at T0+55 s and T0+105 s count [0, 50 s) and [50 s, 100 s).
const OPTIONS: HttpEndpointOptions = {
  schedule: { kind: 'interval', intervalMs: 50_000, cron: '*/50 * * * * *' },
  timeoutMs: 5_000,
  windowMs: 50_000,
  lagMs: 5_000,
}
const scenario = libraryScenario()
const MIB = 1024 * 1024

/** Runs a spec twice through the engine against the simulator; returns sample lookup and the exposition. */
async function twoRuns(t: Test, spec: PxlCollectorSpec, scenarioToUse = scenario) {
  const { pixie, clock, log } = await startLibrarySimulator(t, scenarioToUse)
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 'test' })
  metrics.addCollector(spec.name)
  const collector = new PxlCollector({ spec, pixie, registry, logger: log.logger, now: clock.now, seriesDropped: metrics.seriesDropped })
  for (const at of [55_000, 105_000]) {
    clock.set(T0 + at)
    await collector.run({ signal: new AbortController().signal, timeoutMs: 5_000 })
  }
  const json = await registry.getMetricsAsJSON()
  const value = (name: string, labels: Record<string, string>): number | undefined =>
    json.find((m) => m.name === name)?.values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value
  const series = (name: string): number => json.find((m) => m.name === name)?.values.length ?? 0
  return { value, series, text: await registry.metrics() }
}

function promtoolClean(t: Test, text: string): void {
  const lint = promtool(['check', 'metrics'], text)
  t.equal(lint.status, 0, `promtool check metrics is clean${lint.output === '' ? '' : `: ${lint.output}`}`)
}

const near = (t: Test, got: number | undefined, want: number, what: string) =>
  t.ok(got !== undefined && Math.abs(got - want) <= Math.abs(want) * 1e-9 + 1e-12, `${what}: want ${want}, got ${String(got)}`)

const latencySeconds = (pod: string) => expectedPodCounts(scenario, pod, 0, 100_000, []).latencySumNs / 1e9
const spec = (name: LibraryName, options: HttpEndpointOptions = OPTIONS) => LIBRARY[name](options)

t.test('http_service through the engine: counters over two contiguous ranges, latency gauges of the last one', async (t) => {
  const { value, series, text } = await twoRuns(t, spec('http_service'))
  const checkout = { namespace: 'shop', service: 'checkout' }
  const ops = { namespace: 'ops', service: 'metrics,metrics-canary' }
  t.equal(value('pixie_http_service_requests_total', checkout), 5200, '(16 + 36) rps × 100 s')
  t.equal(value('pixie_http_service_errors_total', checkout), 520, '10 % of both pods (500 and 503; 404 is not an error)')
  t.equal(value('pixie_http_service_requests_total', ops), 400, 'a pod of two services counts once, under both names')
  t.equal(series('pixie_http_service_requests_total'), 2, 'the worker without a service has no series')
  near(t, value('pixie_http_service_request_duration_seconds_total', checkout), latencySeconds('shop/checkout-a') + latencySeconds('shop/checkout-b'), 'latency sum in seconds')
  near(t, value('pixie_http_service_latency_p50_seconds', checkout), 0.03, 'p50 of the busier pod, in seconds')
  near(t, value('pixie_http_service_latency_p99_seconds', checkout), 0.2, 'p99 of the busier pod, in seconds')
  promtoolClean(t, text)
})

t.test('http_endpoint through the engine: raw paths become routes and merge; no raw path is exported', async (t) => {
  const { value, text } = await twoRuns(t, spec('http_endpoint'))
  const at = (method: string, route: string, service = 'checkout', namespace = 'shop') => ({ namespace, service, method, route })
  t.equal(value('pixie_http_endpoint_requests_total', at('GET', '/api/orders/{id}')), 2600, '/api/orders/1001 (3/10) and /1002 (2/10) of 5200')
  t.equal(value('pixie_http_endpoint_errors_total', at('GET', '/api/orders/{id}')), 260, 'their errors')
  t.equal(value('pixie_http_endpoint_requests_total', at('GET', '/api/orders/{id}/items')), 1040, 'the UUID segment is templated')
  t.equal(value('pixie_http_endpoint_requests_total', at('POST', '/api/orders')), 1040, 'the method is a label')
  t.equal(value('pixie_http_endpoint_requests_total', at('GET', '/api/orders')), 520, 'the query string is dropped')
  t.equal(value('pixie_http_endpoint_requests_total', at('GET', '/api/orders/{id}', '')), 200, 'a pod without a service has an empty service label')
  // Process metrics are left out: a value such as nodejs_heap_space_size_available_bytes 10024848 may contain "1002".
  const collectorText = text.split('\n').filter((l) => !/^(# (HELP|TYPE) )?(process_|nodejs_)/.test(l)).join('\n')
  t.notMatch(collectorText, /1001|1002|5f0c6a2e|page=2/, 'no raw path, id or query string in the exposition')
  promtoolClean(t, text)
})

t.test('http_endpoint through the engine: user patterns and the route cap', async (t) => {
  const { value } = await twoRuns(t, spec('http_endpoint', { ...OPTIONS, routes: { patterns: ['/api/orders/*/items'], maxRoutes: 1 } }))
  const at = (method: string, route: string) => ({ namespace: 'shop', service: 'checkout', method, route })
  t.equal(value('pixie_http_endpoint_requests_total', at('GET', '/api/orders/*/items')), 1040, 'the pattern itself is the route')
  const other = value('pixie_http_endpoint_requests_total', at('GET', 'other')) ?? 0
  const otherPost = value('pixie_http_endpoint_requests_total', at('POST', 'other')) ?? 0
  const kept = [at('GET', '/api/orders/{id}'), at('GET', '/api/orders'), at('POST', '/api/orders')].map((l) => value('pixie_http_endpoint_requests_total', l) ?? 0)
  t.equal(kept.filter((v) => v > 0).length, 1, 'one heuristic route is kept with maxRoutes 1')
  t.equal(kept.reduce((a, b) => a + b, 0) + other + otherPost, 5200 - 1040, 'the rest is counted under "other", nothing is lost')
})

t.test('resources through the engine: CPU seconds counter and RSS gauge per pod', async (t) => {
  const { value, text } = await twoRuns(t, spec('resources'))
  near(t, value('pixie_pod_cpu_seconds_total', { namespace: 'shop', pod: 'checkout-a' }), 3.6, '(0.02 + 0.001 × 16) cores × 100 s')
  near(t, value('pixie_pod_cpu_seconds_total', { namespace: 'ops', pod: 'metrics' }), 2.4, '(0.02 + 0.001 × 4) cores × 100 s')
  t.equal(value('pixie_pod_memory_rss_bytes', { namespace: 'shop', pod: 'checkout-b' }), 48 * MIB + 36 * 256 * 1024, 'RSS bytes of the last range')
  promtoolClean(t, text)
})

t.test('network through the engine: bytes received and sent per pod', async (t) => {
  const { value, text } = await twoRuns(t, spec('network'))
  t.equal(value('pixie_pod_network_receive_bytes_total', { namespace: 'shop', pod: 'checkout-a' }), 26_000 * 100, '(2000 + 1500 × 16) B/s × 100 s')
  t.equal(value('pixie_pod_network_transmit_bytes_total', { namespace: 'shop', pod: 'checkout-a' }), 65_000 * 100, '(1000 + 4000 × 16) B/s × 100 s')
  promtoolClean(t, text)
})

t.test('dns and mysql through the engine: requests, errors and latency sum per pod and role', async (t) => {
  const dns = await twoRuns(t, spec('dns'))
  const a = { namespace: 'shop', pod: 'checkout-a', role: 'client' }
  t.equal(dns.value('pixie_dns_requests_total', a), 100, '(0.2 + 0.05 × 16) queries/s × 100 s')
  t.equal(dns.value('pixie_dns_errors_total', a), 10, '10 % NXDOMAIN')
  near(t, dns.value('pixie_dns_request_duration_seconds_total', a), 0.15, '100 × 1.5 ms')
  promtoolClean(t, dns.text)
  const mysql = await twoRuns(t, spec('mysql'))
  t.equal(mysql.value('pixie_mysql_requests_total', a), 800, '0.5 × 16 queries/s × 100 s')
  t.equal(mysql.value('pixie_mysql_errors_total', a), 16, '2 % ERR')
  near(t, mysql.value('pixie_mysql_request_duration_seconds_total', a), 2.4, '800 × 3 ms')
  promtoolClean(t, mysql.text)
})

t.test('a custom collector answered by a scenario custom table', async (t) => {
  const custom = libraryScenario({
    customTables: [
      {
        queryName: 'pixie-exporter/shop_orders',
        table: 'orders_by_pod',
        columns: [
          { name: 'pod', type: 'STRING' },
          { name: 'orders', type: 'INT64' },
          { name: 'basket_bytes', type: 'FLOAT64' },
        ],
        rows: [
          ['shop/checkout-a', 12, 2048],
          ['shop/checkout-b', 30, 1024.5],
        ],
      },
    ],
  })
  const customSpec: PxlCollectorSpec = {
    ...spec('resources'),
    name: 'shop_orders',
    script: [
      '# shop: orders v1',
      'import px',
      "df = px.DataFrame(table='http_events', start_time=px.plugin.start_time, end_time=px.plugin.end_time)",
      "df = df[df.req_path == '/api/orders' and df.req_method == 'POST']",
      "df.pod = df.ctx['pod']",
      "df = df.groupby(['pod']).agg(orders=('latency', px.count), basket_bytes=('req_body_size', px.mean))",
      "px.display(df, 'orders_by_pod')",
      '',
    ].join('\n'),
    table: 'orders_by_pod',
    labels: [{ column: 'pod', label: 'pod', transform: 'strip-namespace' }],
    staticLabels: { team: 'shop' },
    metrics: [
      { column: 'orders', name: 'shop_orders_total', help: 'Orders placed.', type: 'counter' },
      { column: 'basket_bytes', name: 'shop_order_basket_bytes', help: 'Mean order request size.', type: 'gauge' },
    ],
  }
  const { value, text } = await twoRuns(t, customSpec, custom)
  t.equal(value('shop_orders_total', { pod: 'checkout-a', team: 'shop' }), 24, 'the fixed rows counted in each of two runs')
  t.equal(value('shop_order_basket_bytes', { pod: 'checkout-b', team: 'shop' }), 1024.5, 'the gauge holds the last run')
  promtoolClean(t, text)
})
