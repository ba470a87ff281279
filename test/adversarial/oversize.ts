/**
 * Adversarial oversize-result suite (issue 13, defect 2): a Pixie (or proxy)
 * that ignores `max_output_rows_per_table` and streams a million rows must
 * not grow the exporter's memory without bound. The stream is cut as soon as
 * a table passes the cap, the run fails with PXE_ERR_PIXIE_RESULT_TOO_LARGE,
 * nothing of it is published, and the failure is counted and logged.
 */
import t from 'tap'
import * as grpc from '@grpc/grpc-js'
import { Registry } from 'prom-client'
import { HttpCollector } from '../../src/collectors/http.js'
import { PxlCollector } from '../../src/collectors/pxl.js'
import { PIXIE_DEFAULT_MAX_ROWS, scriptRowCap } from '../../src/collectors/row-cap.js'
import { PixieResultTooLargeError } from '../../src/errors.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { PixieClient } from '../../src/pixie/client.js'
import { vizierServiceDefinition } from '../../src/pixie/proto.js'
import { CollectorJob } from '../../src/scheduler/job.js'
import { DataType, batchResponse, memoryLogger, metadataResponse } from '../fixtures/fake-vizier.js'
import { ScriptedPixie, answer, httpConfig, podStatsTable, type PodRow } from '../fixtures/http-fixtures.js'
import { sinkLogger } from '../fixtures/logger.js'
import { waitFor } from '../fixtures/tools.js'
import { loadConfig } from '../../src/config/load.js'
import { createExporter } from '../../src/exporter.js'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const BATCH_ROWS = 10_000
const TOTAL_ROWS = 1_000_000

/**
 * A Vizier that ignores the pragma: one table of TOTAL_ROWS rows in batches
 * of BATCH_ROWS, written as fast as the client reads (honouring backpressure),
 * stopping when the client cancels. Counts what it managed to send.
 */
async function startFloodingVizier(): Promise<{ address: string; sent: () => number; cancelled: Promise<void>; close: () => void }> {
  const server = new grpc.Server()
  let sent = 0
  let onCancel: () => void = () => undefined
  const cancelled = new Promise<void>((resolve) => (onCancel = resolve))
  const column = { int64_data: { data: Array.from({ length: BATCH_ROWS }, (_, i) => String(i)) } }
  const batch = batchResponse('t1', BATCH_ROWS, [column])
  server.addService(vizierServiceDefinition(), {
    ExecuteScript: async (call: grpc.ServerWritableStream<unknown, unknown>) => {
      let gone = false
      call.on('cancelled', () => {
        gone = true
        onCancel()
      })
      call.write(metadataResponse('t1', 'flood', [{ name: 'n', type: DataType.INT64 }]))
      while (!gone && sent < TOTAL_ROWS) {
        const more = call.write(batch)
        sent += BATCH_ROWS
        if (!more) await new Promise((resolve) => call.once('drain', resolve))
      }
      if (!gone) {
        call.write(batchResponse('t1', 0, [], { eos: true }))
        call.end()
      }
    },
    HealthCheck: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
  )
  return { address: `127.0.0.1:${port}`, sent: () => sent, cancelled, close: () => server.forceShutdown() }
}

t.test('a stream of 1M rows is cut right after the cap, with a coded error', async (t) => {
  const vizier = await startFloodingVizier()
  t.teardown(() => vizier.close())
  const log = memoryLogger()
  const client = new PixieClient({ address: vizier.address, clusterId: CLUSTER, tls: 'plaintext', logger: log.logger })
  t.teardown(() => client.close())
  const cap = 50_000
  const error = await client.executeScript({ script: 'import px', timeoutMs: 60_000, maxRowsPerTable: cap }).then(
    () => undefined,
    (err: unknown) => err,
  )
  t.type(error, PixieResultTooLargeError, 'the run fails with PixieResultTooLargeError')
  t.equal((error as PixieResultTooLargeError | undefined)?.code, 'PXE_ERR_PIXIE_RESULT_TOO_LARGE', 'coded')
  t.match(String((error as Error | undefined)?.message), /table "flood" sent more than 50000 rows \(at least 60000\)/, 'the message names the table and the cap')
  await vizier.cancelled
  t.ok(vizier.sent() < TOTAL_ROWS, `the stream was cancelled: the server sent ${vizier.sent()} of ${TOTAL_ROWS} rows`)
  const failed = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'script run failed')
  t.ok(failed !== undefined && Number(failed.rows) <= cap, `the client kept at most the cap (${String(failed?.rows)} rows) before cutting`)
})

const pod = (i: number): PodRow => ({
  namespace: 'default',
  pod: `default/web-${i}`,
  service: 'default/web',
  requests: 10,
  errors: 1,
  p50: 1e6,
  p90: 2e6,
  p99: 3e6,
})

t.test('the HTTP collector passes maxRows as the cap; an oversize run fails, is counted, and publishes nothing', async (t) => {
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 'test' })
  const log = sinkLogger('info')
  let now = Date.UTC(2026, 10, 29, 12, 0, 0)
  const oversize = [podStatsTable(Array.from({ length: 6 }, (_, i) => pod(i))), ...answer([]).slice(1)]
  const pixie = new ScriptedPixie([answer([pod(1), pod(2), pod(3)]), oversize])
  const collector = new HttpCollector({ pixie, registry, logger: log.logger, now: () => now, config: httpConfig({ maxRows: 5 }) })
  const job = new CollectorJob({ collector, metrics, logger: log.logger, now: () => now })
  t.equal(await job.runNow(), 'success', 'a result within the cap is published')
  t.equal(pixie.calls[0]?.maxRowsPerTable, 5, 'the cap sent to the client is collectors.http.maxRows')
  now += 10_000
  t.equal(await job.runNow(), 'error', 'a result over the cap fails the run')
  const text = await registry.metrics()
  t.match(text, /pixie_exporter_collector_oversize_results_total\{collector="http"\} 1/, 'counted in pixie_exporter_collector_oversize_results_total')
  t.match(text, /pixie_exporter_collector_runs_total\{collector="http",result="error"\} 1/, 'and as an error run')
  t.equal((text.match(/^pixie_http_requests_per_second\{/gm) ?? []).length, 3, 'the last good run (3 pods) is still served, none of the 6')
  const line = log.lines().find((l) => l.msg === 'collector run failed; keeping the last values until they are stale')
  t.equal((line?.err as { code?: string } | undefined)?.code, 'PXE_ERR_PIXIE_RESULT_TOO_LARGE', 'the log carries the code')
})

t.test('PxL collectors cap at their pragma, or at Pixie default of 10,000 rows', async (t) => {
  t.equal(scriptRowCap('#px:set max_output_rows_per_table=2500\nimport px\n'), 2500, 'the pragma')
  t.equal(scriptRowCap('import px\n'), PIXIE_DEFAULT_MAX_ROWS, 'no pragma: Pixie default')
  t.equal(PIXIE_DEFAULT_MAX_ROWS, 10_000, "Pixie's default (pixie-api.md)")
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 'test' })
  const rows = 3
  const table = {
    id: 't',
    name: 'out',
    columns: [{ name: 'pod', type: 'STRING' as const, semanticType: 1 }, { name: 'v', type: 'FLOAT64' as const, semanticType: 1 }],
    data: [
      { type: 'STRING' as const, values: ['a', 'b', 'c'] },
      { type: 'FLOAT64' as const, values: [1, 2, 3] },
    ],
    numRows: rows,
  }
  const pixie = new ScriptedPixie([[table]])
  const collector = new PxlCollector({
    spec: {
      name: 'tiny',
      script: '#px:set max_output_rows_per_table=2\nimport px\n',
      table: 'out',
      schedule: { kind: 'interval', intervalMs: 10_000, cron: '*/10 * * * * *' },
      timeoutMs: 5_000,
      windowMs: 30_000,
      lagMs: 0,
      maxCatchUpMs: 300_000,
      staleAfterMs: 30_000,
      expireAfterMs: 300_000,
      maxSeries: 100,
      labels: [{ column: 'pod', label: 'pod' }],
      staticLabels: {},
      metrics: [{ column: 'v', name: 'tiny_value', type: 'gauge', help: 'A value.' }],
    },
    pixie,
    registry,
    logger: sinkLogger().logger,
    now: () => Date.UTC(2026, 10, 29, 12, 0, 0),
    seriesDropped: metrics.seriesDropped,
  })
  const error = await collector.run({ signal: new AbortController().signal, timeoutMs: 5000 }).then(
    () => undefined,
    (err: unknown) => err,
  )
  t.equal(pixie.calls[0]?.maxRowsPerTable, 2, 'the pragma is the cap sent to the client')
  t.type(error, PixieResultTooLargeError, 'a PixieApi that returns more rows anyway fails the run too')
  t.notMatch(await registry.metrics(), /^tiny_value\{/m, 'nothing was published')
})

t.test('end to end: a simulator that ignores the pragma gets the run cut, counted and reported on /-/ready', async (t) => {
  const phases = [{ at: '0s', rps: 5, statuses: { 200: 1 }, latency: { p50: '10ms', p99: '50ms' } }]
  const sim = await startSimulator({
    scenario: scenarioFromObject({
      name: 'flood',
      pods: ['aaaaa', 'bbbbb', 'ccccc'].map((id) => ({ namespace: 'default', name: `web-6d8c6b9c8f-${id}`, services: ['web'], phases })),
    }),
    listen: '127.0.0.1:0',
    logger: sinkLogger('error').logger,
    ignoreRowLimit: true,
    startedAt: Date.now() - 120_000,
  })
  t.teardown(() => sim.close())
  const { config } = loadConfig({
    argv: ['--pixie.tls', 'plaintext', '--pixie.address', sim.address],
    env: { PX_CLUSTER_ID: CLUSTER, PIXIE_EXPORTER_CONFIG: '/config.yaml' },
    readFile: () => 'collectors:\n  http:\n    interval: 30s\n    maxRows: 2\n',
  })
  const exporter = await createExporter({ config, logger: sinkLogger('warn').logger })
  t.teardown(() => exporter.close())
  exporter.start()
  const text = await waitFor('the oversize run to be counted', async () => {
    const body = (await exporter.app.inject('/metrics')).body
    return /pixie_exporter_collector_oversize_results_total\{collector="http"\} [1-9]/.test(body) ? body : undefined
  }, 20_000, 50)
  t.match(text, /pixie_exporter_collector_up\{collector="http"\} 0/, 'the collector is down')
  t.notMatch(text, /^pixie_http_requests_per_second\{/m, 'nothing was published')
  const ready = await exporter.app.inject('/-/ready')
  t.equal(ready.statusCode, 503, 'not ready')
  t.match(ready.body, /sent more than 2 rows/, 'the reason names the cap')
})
