/**
 * Library collector `redis`: the shape of its PxL and, against the simulator
 * over gRPC, the figures it exports, through the engine and through the
 * exporter wired from nothing but `collectors.library: [redis]`.
 */
import t, { type Test } from 'tap'
import { Registry } from 'prom-client'
import { redis, redisScript, REDIS_COLUMNS } from '../../../src/collectors/library/redis.js'
import type { LibraryOptions } from '../../../src/collectors/library/options.js'
import { PxlCollector } from '../../../src/collectors/pxl.js'
import { loadConfig } from '../../../src/config/load.js'
import { createExporter } from '../../../src/exporter.js'
import { createSelfMetrics } from '../../../src/metrics/self-metrics.js'
import { CLUSTER_ID, memoryReadFile } from '../../fixtures/config/helpers.js'
import { nsAt, rowsOf, specRequest, startLibrarySimulator, T0 } from '../../fixtures/library-scenario.js'
import { sinkLogger } from '../../fixtures/logger.js'
import { promtool } from '../../fixtures/tools.js'

// Ranges of 50 s ending 5 s before now: runs at T0+55 s and T0+105 s count [0, 50 s) and [50 s, 100 s).
const OPTIONS: LibraryOptions = {
  schedule: { kind: 'interval', intervalMs: 50_000, cron: '*/50 * * * * *' },
  timeoutMs: 5_000,
  windowMs: 50_000,
  lagMs: 5_000,
}
// The library scenario: client Redis requests are 0.5 × rps, split GET 60 %, SET 30 %, DEL 10 %, 0.5 ms each.
const RPS = { 'checkout-a': 16, 'checkout-b': 36, worker: 4, metrics: 4 } as const
const NAMESPACE = { 'checkout-a': 'shop', 'checkout-b': 'shop', worker: 'shop', metrics: 'ops' } as const
const SHARES = [['GET', 0.6], ['SET', 0.3], ['DEL', 0.1]] as const
const requests = (pod: keyof typeof RPS, command: number, seconds: number) => Math.round(RPS[pod] * 0.5 * (SHARES[command]?.[1] ?? 0) * seconds)

t.test('the script groups redis_events by pod, trace role and command, and exports counters only', async (t) => {
  const spec = redis.spec(OPTIONS)
  t.equal(spec.name, 'redis', 'named redis')
  t.match(spec.script, /^ *df = px\.DataFrame\(table='redis_events', start_time=px\.plugin\.start_time, end_time=px\.plugin\.end_time\)$/m, 'reads redis_events over the plugin range')
  t.match(spec.script, /^ *df = df\.groupby\(\['namespace', 'pod', 'role', 'req_cmd'\]\)\.agg\($/m, 'grouped by namespace, pod, role and command')
  t.same(spec.labels.map((l) => [l.column, l.label, l.transform]), [
    ['namespace', 'namespace', undefined],
    ['pod', 'pod', 'strip-namespace'],
    ['role', 'role', undefined],
    ['req_cmd', 'command', undefined],
  ], 'labels namespace, pod (without its namespace), role, command')
  t.same(spec.metrics.map((m) => [m.name, m.type, m.scale]), [
    ['pixie_redis_requests_total', 'counter', undefined],
    ['pixie_redis_request_duration_seconds_total', 'counter', 1e-9],
  ], 'requests and latency sum, counters, ns scaled to seconds')
  t.notMatch(spec.script, /resp/, 'no guess at errors from the reply text')
  t.match(spec.script, new RegExp(`^ *df = df\\[\\[${REDIS_COLUMNS.map((c) => `'${c.name}'`).join(', ')}\\]\\]$`, 'm'), 'projects the columns of the table, in order')
  const filtered = redis.spec({ ...OPTIONS, namespaces: { include: ['shop'], exclude: ['kube-system'] }, maxRows: 500 })
  t.equal(filtered.execFuncs?.[0]?.funcName, 'redis', 'the request calls the function redis')
  t.equal(filtered.execFuncs?.[0]?.outputTablePrefix, 'redis_pod_stats', 'returning the table the spec reads')
  t.match(redisScript({ ...OPTIONS, maxRows: 500 }), /^#px:set max_output_rows_per_table=500$/m, 'maxRows pragma')
})

t.test('the simulator answers the script over gRPC with one row per pod, role and command', async (t) => {
  const { pixie } = await startLibrarySimulator(t)
  const spec = redis.spec(OPTIONS)
  const result = await pixie.executeScript({ ...specRequest(spec), timeoutMs: 5_000, pluginTime: { startNs: nsAt(0), endNs: nsAt(50_000) } })
  const table = result.tables.get(spec.table)
  if (table === undefined) return t.fail(`no table ${spec.table}`)
  t.same(table.columns.map((c) => [c.name, c.type]), REDIS_COLUMNS.map((c) => [c.name, c.type]), 'the columns the spec maps, with their types')
  const want = (Object.keys(RPS) as (keyof typeof RPS)[]).flatMap((pod) =>
    SHARES.map(([command], i) => [NAMESPACE[pod], `${NAMESPACE[pod]}/${pod}`, 'client', command, requests(pod, i, 50), requests(pod, i, 50) * 500_000]),
  )
  const order = (rows: unknown[][]) => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
  t.same(order(rowsOf(table)), order(want), 'requests and latency sums over [0, 50 s)')
})

function promtoolClean(t: Test, text: string): void {
  const lint = promtool(['check', 'metrics'], text)
  t.equal(lint.status, 0, `promtool check metrics is clean${lint.output === '' ? '' : `: ${lint.output}`}`)
}

t.test('through the engine: counters add up over contiguous ranges', async (t) => {
  const { pixie, clock, log } = await startLibrarySimulator(t)
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 'test' })
  const collector = redis.build(OPTIONS, { pixie, registry, logger: log.logger, now: clock.now, monotonic: clock.now, seriesDropped: metrics.seriesDropped })
  for (const at of [55_000, 105_000]) {
    clock.set(T0 + at)
    await collector.run({ signal: new AbortController().signal, timeoutMs: 5_000 })
  }
  t.type(collector, PxlCollector, 'a library module builds a collector of the generic PxL engine')
  const text = await registry.metrics()
  t.match(text, `pixie_redis_requests_total{namespace="shop",pod="checkout-a",role="client",command="GET"} ${requests('checkout-a', 0, 100)}`, 'GET of checkout-a over [0, 100 s)')
  t.match(text, `pixie_redis_requests_total{namespace="ops",pod="metrics",role="client",command="DEL"} ${requests('metrics', 2, 100)}`, 'DEL of ops/metrics')
  t.match(text, `pixie_redis_request_duration_seconds_total{namespace="shop",pod="checkout-b",role="client",command="SET"} ${requests('checkout-b', 1, 100) * 0.0005}`, 'latency sum in seconds')
  promtoolClean(t, text)
})

t.test('through the exporter, enabled by name only: no wiring beyond the collector list', async (t) => {
  const { pixie, clock, sim } = await startLibrarySimulator(t)
  clock.set(T0 + 200_000)
  const yaml = `pixie:\n  clusterId: ${CLUSTER_ID}\n  tls: plaintext\n  address: ${sim.address}\ncollectors:\n  library: [redis]\n`
  const { config } = loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: memoryReadFile({ 'c.yaml': yaml }) })
  const exporter = await createExporter({ config, logger: sinkLogger().logger, pixie, now: clock.now })
  t.teardown(() => exporter.close())
  const job = exporter.jobs.find((j) => j.name === 'redis')
  if (job === undefined) return t.fail('no redis job')
  t.equal(await job.runNow(), 'success', 'the redis collector runs against the simulator')
  const body = (await exporter.app.inject('/metrics')).body
  // Default window 30 s and lag 5 s: the first range is [165 s, 195 s).
  t.match(body, `pixie_redis_requests_total{namespace="shop",pod="checkout-a",role="client",command="GET"} ${requests('checkout-a', 0, 30)}`, 'its series are served on /metrics')
  t.match(body, 'pixie_exporter_collector_up{collector="redis"} 1', 'with its self-metrics')
})
