/**
 * Custom collectors wired into the exporter: a collector whose script does
 * not compile is down on its own, with the line and column in its status,
 * the landing page and the log, while the others keep working.
 */
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { PixieCompileError } from '../../src/errors.js'
import { createExporter } from '../../src/exporter.js'
import type { ExecuteScriptOptions, PixieApi, ScriptResult } from '../../src/pixie/types.js'
import { answer } from '../fixtures/http-fixtures.js'
import { CLUSTER_ID, memoryReadFile } from '../fixtures/config/helpers.js'
import { sinkLogger } from '../fixtures/logger.js'
import { T0, podRequests } from '../fixtures/pxl-fixtures.js'

const CONFIG = `pixie:
  clusterId: ${CLUSTER_ID}
  tls: plaintext
  address: 127.0.0.1:1
collectors:
  custom:
    - name: good
      pxl: "import px  # good"
      table: requests_by_pod
      labels: [{column: pod}]
      metrics: [{column: requests, name: shop_good_requests, help: Requests., type: gauge}]
    - name: broken
      pxl: "import px  # broken"
      table: requests_by_pod
      labels: [{column: pod}]
      metrics: [{column: requests, name: shop_broken_requests, help: Requests., type: gauge}]
`

/** Answers the HTTP collector with no pods, `good` with one row, and refuses to compile `broken`. */
class StubPixie implements PixieApi {
  async executeScript(options: ExecuteScriptOptions): Promise<ScriptResult> {
    if (options.script.includes('# broken')) {
      throw new PixieCompileError([{ line: 3, column: 7, message: "name 'dff' is not defined" }])
    }
    const tables = options.script.includes('# good') ? [podRequests([['web-1', 12]])] : answer([])
    return { queryId: 'q', tables: new Map(tables.map((table) => [table.name, table])), stats: undefined }
  }

  async healthCheck(): Promise<void> {}

  close(): void {}
}

t.test('a collector whose script fails to compile is down alone and reports line and column', async (t) => {
  const { config } = loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: memoryReadFile({ 'c.yaml': CONFIG }) })
  const log = sinkLogger()
  const exporter = await createExporter({ config, logger: log.logger, pixie: new StubPixie(), now: () => T0 })
  t.teardown(() => exporter.close())
  t.same(
    exporter.jobs.map((j) => j.name),
    ['http', 'good', 'broken'],
    'the built-in collector comes first, then the custom ones in file order',
  )
  const outcomes = await Promise.all(exporter.jobs.map((job) => job.runNow()))
  t.same(outcomes, ['success', 'success', 'error'], 'only the broken collector fails')

  const metrics = (await exporter.app.inject({ url: '/metrics' })).body
  t.match(metrics, /pixie_exporter_collector_up\{collector="good"\} 1/, 'good is up')
  t.match(metrics, /pixie_exporter_collector_up\{collector="broken"\} 0/, 'broken is down')
  t.match(metrics, /shop_good_requests\{pod="web-1"\} 1\d/, "good's series is exported")
  t.notMatch(metrics, /shop_broken_requests\{/, 'broken exports no series')
  t.match(metrics, /pixie_exporter_series_dropped_total\{collector="broken"\} 0/, 'the dropped-series counter exists at 0 per collector')

  const broken = exporter.jobs.find((j) => j.name === 'broken')?.status()
  t.equal(broken?.lastError, "PxL compilation failed: 3:7 name 'dff' is not defined", 'the status holds line and column')
  const landing = (await exporter.app.inject({ url: '/' })).body
  t.match(landing, /3:7 name &#39;dff&#39; is not defined|3:7 name 'dff' is not defined/, 'the landing page shows line and column')
  const line = log.lines().find((l) => l.collector === 'broken' && l.msg === 'collector run failed; keeping the last values until they are stale')
  t.match(line, { level: 50, err: { type: 'PixieCompileError', message: "PxL compilation failed: 3:7 name 'dff' is not defined" } }, 'the log line names the collector, line and column')
})
