/**
 * The custom collector example of docs/custom-collectors.md, end to end: the
 * YAML from the guide, the real PixieClient over gRPC against a fake Vizier
 * (and against the simulator's customTables) answering the example's table,
 * and the exporter's /metrics.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { loadConfig } from '../../src/config/load.js'
import { createExporter } from '../../src/exporter.js'
import type { Wire } from '../../src/pixie/proto.js'
import { CLUSTER_ID, memoryReadFile } from '../fixtures/config/helpers.js'
import { DataType, batchResponse, metadataResponse, startFakeVizier, statsResponse, type FakeScript } from '../fixtures/fake-vizier.js'
import { sinkLogger } from '../fixtures/logger.js'
import { findTool, promtool } from '../fixtures/tools.js'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'

const guide = readFileSync(new URL('../../docs/custom-collectors.md', import.meta.url), 'utf8')
const example = /```yaml\n([\s\S]*?)```/.exec(guide)?.[1] ?? ''

const found = findTool('promtool')
if (found instanceof Error) t.fail(found.message)

const TABLE_ID = '40000000-0000-0000-0000-000000000001'
/** The example's table: two services, one of them with two methods. */
function answer(): FakeScript {
  return {
    responses: [
      metadataResponse(TABLE_ID, 'shop_requests', [
        { name: 'namespace', type: DataType.STRING },
        { name: 'service', type: DataType.STRING },
        { name: 'req_method', type: DataType.STRING },
        { name: 'requests', type: DataType.INT64 },
        { name: 'errors', type: DataType.INT64 },
        { name: 'latency_sum_ns', type: DataType.INT64 },
      ]),
      batchResponse(
        TABLE_ID,
        3,
        [
          { string_data: { data: ['shop', 'shop', 'shop'] } },
          { string_data: { data: ['shop/cart', 'shop/cart', '["shop/pay","shop/pay-v2"]'] } },
          { string_data: { data: ['GET', 'POST', 'POST'] } },
          { int64_data: { data: ['600', '150', '40'] } },
          { int64_data: { data: ['0', '3', '40'] } },
          { int64_data: { data: ['15250000000', '4500000000', '2000000000'] } },
        ],
        { eos: true },
      ),
      statsResponse(),
    ],
  }
}

t.test('the guide example exports the expected series over real gRPC, and promtool finds nothing', async (t) => {
  t.match(example, /name: shop_requests/, 'the guide holds the example')
  const vizier = await startFakeVizier({
    executeScript: (request) => (request.query_name === 'pixie-exporter/shop_requests' ? answer() : { end: { code: 13, details: 'not scripted' } }),
  })
  t.teardown(() => vizier.close())
  const yaml = `pixie:\n  clusterId: ${CLUSTER_ID}\n  tls: plaintext\n  address: ${vizier.address}\n${example}`
  const { config } = loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: memoryReadFile({ 'c.yaml': yaml }) })
  const exporter = await createExporter({ config, logger: sinkLogger().logger })
  t.teardown(() => exporter.close())
  const job = exporter.jobs.find((j) => j.name === 'shop_requests')
  if (job === undefined) return t.fail('the custom collector has a job')

  t.equal(await job.runNow(), 'success', 'the first run succeeds')
  await new Promise((r) => setTimeout(r, 20))
  t.equal(await job.runNow(), 'success', 'the second run succeeds')

  const requests = vizier.calls.filter((c) => c.method === 'ExecuteScript').map((c) => c.request as Wire.ExecuteScriptRequest)
  t.equal(requests.length, 2, 'one script run per collector run')
  t.match(requests[0]?.query_str, /px\.plugin\.start_time/, 'the script from the YAML is sent')
  const range = (i: number) => requests[i]?.configs?.plugin_config
  t.ok(range(0)?.start_time_ns !== undefined && range(0)?.end_time_ns !== undefined, 'the plugin time is sent')
  t.equal(
    BigInt(range(0)?.end_time_ns ?? 0) - BigInt(range(0)?.start_time_ns ?? 0),
    30_000_000_000n,
    'the first range is one window (30s)',
  )
  t.equal(range(1)?.start_time_ns, range(0)?.end_time_ns, 'the second range starts where the first ended')

  const text = (await exporter.app.inject({ url: '/metrics' })).body
  const labels = (service: string, method: string) => `{namespace="shop",service="${service}",method="${method}",team="checkout"}`
  t.match(text, `\nshop_http_requests_total${labels('cart', 'GET')} 1200\n`, 'GET /cart requests added over two runs')
  t.match(text, `\nshop_http_requests_total${labels('cart', 'POST')} 300\n`, 'POST /cart requests')
  t.match(text, `\nshop_http_requests_total${labels('pay,pay-v2', 'POST')} 80\n`, 'a pod with two services gets the service list')
  t.match(text, `\nshop_http_errors_total${labels('cart', 'POST')} 6\n`, 'errors')
  t.match(text, `\nshop_http_request_duration_seconds_total${labels('cart', 'GET')} 30.5\n`, 'ns scaled to seconds')
  t.match(text, '# TYPE shop_http_requests_total counter', 'typed as a counter')
  t.match(text, /pixie_exporter_collector_up\{collector="shop_requests"\} 1/, 'the collector is up')

  const lint = promtool(['check', 'metrics'], text)
  t.equal(lint.output.trim(), '', 'promtool check metrics reports nothing')
})

t.test('the simulator answers the guide example from a scenario customTable', async (t) => {
  const name = /name: (shop_[a-z_]+)/.exec(example)?.[1]
  if (name === undefined) return t.fail('the example names its collector')
  const scenario = scenarioFromObject({
    name: 'custom-collector',
    pods: [],
    customTables: [
      {
        // A custom collector's runs carry query_name pixie-exporter/<its name>.
        queryName: `pixie-exporter/${name}`,
        table: 'shop_requests',
        columns: [
          { name: 'namespace', type: 'STRING' },
          { name: 'service', type: 'STRING' },
          { name: 'req_method', type: 'STRING' },
          { name: 'requests', type: 'INT64' },
          { name: 'errors', type: 'INT64' },
          { name: 'latency_sum_ns', type: 'INT64' },
        ],
        rows: [
          ['shop', 'shop/cart', 'GET', 100, 1, 2_000_000_000],
          ['shop', 'shop/cart', 'GET', 50, 0, 500_000_000],
        ],
      },
    ],
  })
  const sim = await startSimulator({ scenario, listen: '127.0.0.1:0', logger: sinkLogger('error').logger })
  t.teardown(() => sim.close())
  const yaml = `pixie:\n  clusterId: ${CLUSTER_ID}\n  tls: plaintext\n  address: ${sim.address}\n${example}`
  const { config } = loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: memoryReadFile({ 'c.yaml': yaml }) })
  const exporter = await createExporter({ config, logger: sinkLogger().logger })
  t.teardown(() => exporter.close())
  const job = exporter.jobs.find((j) => j.name === 'shop_requests')
  t.equal(await job?.runNow(), 'success', 'the run succeeds against the simulator')
  const text = (await exporter.app.inject({ url: '/metrics' })).body
  const labels = '{namespace="shop",service="cart",method="GET",team="checkout"}'
  t.match(text, `\nshop_http_requests_total${labels} 150\n`, 'rows with the same label set are added up')
  t.match(text, `\nshop_http_errors_total${labels} 1\n`, 'errors')
  t.match(text, `\nshop_http_request_duration_seconds_total${labels} 2.5\n`, 'seconds')
  t.equal(promtool(['check', 'metrics'], text).output.trim(), '', 'promtool check metrics reports nothing')
})
