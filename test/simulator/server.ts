import t from 'tap'
import * as grpc from '@grpc/grpc-js'
import { join } from 'node:path'
import { HTTP_POD_COUNTS_TABLE, HTTP_POD_STATS_TABLE, httpPodCountsColumns } from '../../src/pixie/scripts/http-pod-stats.js'
import { loadScenarioFile, scenarioFromObject } from '../../src/simulator/scenario.js'
import {
  AUTH_FAILED_MESSAGE,
  CUT_MESSAGE,
  EMPTY_QUERY_MESSAGE,
  INJECTED_COMPILE_ERROR_MESSAGE,
  UNAVAILABLE_MESSAGE,
  unsupportedQueryMessage,
} from '../../src/simulator/server.js'
import { expectedCounts, expectedPodCounts } from '../../src/simulator/traffic.js'
import { collectExecute, firstHealthAnswer } from '../fixtures/simulator-client.js'
import { batchesOf, countRowsByPod, countsScript, httpPodStatsScript, rowsByPod, startTestSimulator, tableIds, TEST_BUCKETS_NS } from '../fixtures/simulator-helpers.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const argo = loadScenarioFile(join(import.meta.dirname, '..', '..', 'scenarios', 'argo-canary.yaml'))

const faulty = scenarioFromObject({
  name: 'faulty',
  pods: [{ namespace: 'default', name: 'web-1', services: ['web'], phases: [{ at: '0s', rps: 10, errorRatio: 0.1, latency: { p50: '5ms', p99: '9ms' } }] }],
  faults: [
    { kind: 'unavailable', from: '100s', until: '110s' },
    { kind: 'slow', from: '110s', until: '120s', delay: '50ms' },
    { kind: 'compile-error', from: '120s', until: '130s' },
    { kind: 'cut', from: '130s', until: '140s' },
    { kind: 'malformed', from: '140s', until: '150s' },
    { kind: 'slow', from: '150s', until: '160s', delay: '1h' },
  ],
})

t.test('a query is answered in Pixie stream order', async (t) => {
  const h = await startTestSimulator(t, argo)
  const { responses, status } = await collectExecute(h.client, httpPodStatsScript(30_000, 90_000))
  t.equal(status.code, grpc.status.OK, 'the call ends OK')
  const queryId = responses[0]?.query_id ?? ''
  t.match(queryId, UUID, 'query_id is a UUID')
  t.ok(responses.every((r) => r.query_id === queryId), 'every response carries the same query_id')
  const meta = responses[0]?.meta_data
  t.equal(meta?.name, HTTP_POD_STATS_TABLE, 'metadata comes first, named after the table')
  t.match(meta?.id, UUID, 'the table id is a UUID')
  t.same(
    meta?.relation?.columns.map((c) => [c.column_name, c.column_type, c.column_semantic_type]),
    [
      ['namespace', 5, 700],
      ['pod', 5, 400],
      ['service', 5, 300],
      ['requests', 2, 1],
      ['errors', 2, 1],
      ['latency_p50_ns', 4, 901],
      ['latency_p90_ns', 4, 901],
      ['latency_p99_ns', 4, 901],
    ],
    'relation: names, DataType and SemanticType numbers',
  )
  const middle = responses.slice(1, -1)
  t.ok(middle.length >= 2 && middle.every((r) => r.result === 'data' && r.data?.batch), 'batches follow the metadata')
  t.ok(middle.every((r) => r.data?.batch?.table_id === meta?.id), 'every batch names the table')
  t.same(middle.map((r) => r.data?.batch?.eos), [...middle.slice(1).map(() => false), true], 'only the last batch has eos')
  t.equal(middle.at(-1)?.data?.batch?.eow, true, 'the last batch has eow too')
  t.ok(middle.some((r) => r.data?.batch?.num_rows === '0'), 'there is a zero-row keep-alive batch')
  const stats = responses.at(-1)?.data?.execution_stats
  t.ok(stats?.timing, 'execution stats come last')
  const total = argo.pods.reduce((sum, p) => sum + expectedCounts(argo, p, 30_000, 90_000).requests, 0)
  t.equal(stats?.records_processed, String(total), 'records processed is the number of requests in the window')
})

t.test('rows equal the ground truth for a fixed clock', async (t) => {
  const h = await startTestSimulator(t, argo)
  const { responses } = await collectExecute(h.client, httpPodStatsScript(30_000, 90_000))
  const rows = rowsByPod(responses)
  t.equal(rows.size, argo.pods.length, 'every pod served requests in the window')
  for (const pod of argo.pods) {
    const want = expectedCounts(argo, pod, 30_000, 90_000)
    const errors = Object.entries(want.byStatus).reduce((n, [code, count]) => n + (Number(code) >= 500 ? count : 0), 0)
    const row = rows.get(`${pod.namespace}/${pod.name}`)
    t.same(row?.slice(0, 4), [pod.namespace, `${pod.namespace}/${pod.services[0]}`, want.requests, errors], `${pod.name}: want ${want.requests} requests, ${errors} errors`)
  }
  const bad = rows.get('default/canary-demo-7f6d5c9b4b-h9j3k')
  t.same([bad?.[2], bad?.[3], bad?.[4], bad?.[6]], [300, 246, 25e6, 150e6], 'bad-red: 30 s × 10 rps, 82% errors, its own p50 and p99')
  const p90 = Number(bad?.[5])
  t.ok(p90 > 25e6 && p90 < 150e6 && Number.isInteger(p90), `bad-red: an interpolated whole-nanosecond p90 between p50 and p99 (got ${p90})`)
  t.equal(rows.get('default/canary-demo-5b9f7c4d8d-q2w8r')?.[2], 300, 'yellow served only until 60 s')
})

t.test('with a count range, both tables are answered: all metadata first, batches interleaved, each table ending with eos', async (t) => {
  const h = await startTestSimulator(t, argo, { batchRows: 3 })
  const { responses, status } = await collectExecute(h.client, countsScript(60_000, 90_000, { windowStartMs: 30_000 }))
  t.equal(status.code, grpc.status.OK, 'the call ends OK')
  t.same(responses.slice(0, 2).map((r) => r.meta_data?.name), [HTTP_POD_STATS_TABLE, HTTP_POD_COUNTS_TABLE], 'one metadata response per table, before any data')
  t.same(
    responses[1]?.meta_data?.relation?.columns.map((c) => [c.column_name, c.column_type]),
    httpPodCountsColumns(TEST_BUCKETS_NS.length).map((c) => [c.name, c.type === 'STRING' ? 5 : 2]),
    'the counts relation has the columns of httpPodCountsColumns(11), STRING or INT64',
  )
  const ids = tableIds(responses)
  const stats = ids.get(HTTP_POD_STATS_TABLE)
  const counts = ids.get(HTTP_POD_COUNTS_TABLE)
  t.not(stats, counts, 'the tables have distinct ids')
  const order = responses.slice(2, -1).map((r) => (r.data?.batch?.table_id === stats ? 'S' : r.data?.batch?.table_id === counts ? 'C' : '?'))
  // 7 stats rows (3 + 3, keep-alive, 1) and 6 count rows (3, keep-alive, 3), one of each in turn.
  t.equal(order.join(''), 'SCSCSCS', 'batches of the two tables alternate')
  for (const [name, id] of ids) {
    const eos = batchesOf(responses, name).map((b) => b.eos)
    t.same(eos, [...eos.slice(1).map(() => false), true], `${name}: only its last batch has eos`)
    t.ok(id !== undefined, `${name} has an id`)
  }
  t.ok(responses.at(-1)?.data?.execution_stats, 'execution stats come last')
  // The gauge table counts per-code floors, the counts table sums its cells: each adds its own requests.
  const gauge = argo.pods.reduce((n, p) => n + expectedCounts(argo, p, 30_000, 90_000).requests, 0)
  const counted = argo.pods.reduce((n, p) => n + expectedPodCounts(argo, p, 60_000, 90_000, TEST_BUCKETS_NS).requests, 0)
  t.equal(responses.at(-1)?.data?.execution_stats?.records_processed, String(gauge + counted), `records processed covers both tables (${gauge} + ${counted})`)
})

t.test('count rows equal expectedPodCounts for a fixed clock', async (t) => {
  const h = await startTestSimulator(t, argo)
  const { responses } = await collectExecute(h.client, countsScript(45_000, 75_000))
  const rows = countRowsByPod(responses)
  const serving = argo.pods.filter((p) => expectedCounts(argo, p, 45_000, 75_000).requests > 0)
  t.same([...rows.keys()].sort(), serving.map((p) => `${p.namespace}/${p.name}`).sort(), 'one row per pod that served requests in the range')
  for (const pod of serving) {
    const want = expectedPodCounts(argo, pod, 45_000, 75_000, TEST_BUCKETS_NS)
    const row = rows.get(`${pod.namespace}/${pod.name}`)
    t.same(
      [row?.requests, row?.byClass, row?.latencySumNs, row?.buckets],
      [want.requests, Object.values(want.byClass), want.latencySumNs, want.bucketCounts],
      `${pod.name}: want ${want.requests} requests`,
    )
  }
  // bad-red starts at 60 s with every cell at 0: each class is the sum of its
  // code's floored cells, at most 15 s × 10 rps × share, less under one per latency interval.
  const bad = rows.get('default/canary-demo-7f6d5c9b4b-h9j3k')
  const intervals = TEST_BUCKETS_NS.length + 1
  const [s1, s2, s3, s4, s5] = bad?.byClass ?? []
  t.same([s1, s3, s4], [0, 0, 0], 'bad-red: only 2xx and 5xx')
  t.ok(s2 !== undefined && s2 <= 27 && s2 > 27 - intervals, `bad-red over its first 15 s: 2xx in (27 − ${intervals}, 27], 18% (got ${s2})`)
  t.ok(s5 !== undefined && s5 <= 123 && s5 > 123 - intervals, `bad-red over its first 15 s: 5xx in (123 − ${intervals}, 123], 82% (got ${s5})`)
})

t.test('fault cut with two tables sends both metadata and one batch', async (t) => {
  const h = await startTestSimulator(t, faulty)
  h.setTime(135_000)
  const { responses, status } = await collectExecute(h.client, countsScript(100_000, 110_000))
  t.same(responses.map((r) => r.result), ['meta_data', 'meta_data', 'data'], 'two metadata responses and one batch')
  t.equal(status.code, grpc.status.INTERNAL, 'then INTERNAL')
})

t.test('batches are cut at batchRows and max_output_rows_per_table is honoured', async (t) => {
  const h = await startTestSimulator(t, argo, { batchRows: 2 })
  const all = await collectExecute(h.client, httpPodStatsScript(30_000, 90_000))
  t.same(batchesOf(all.responses).map((b) => [b.num_rows, b.eos]), [['2', false], ['2', false], ['2', false], ['0', false], ['1', true]], '7 rows in batches of 2, keep-alive before the last')
  const capped = await collectExecute(h.client, httpPodStatsScript(30_000, 90_000, { maxRows: 3 }))
  t.equal(rowsByPod(capped.responses).size, 3, 'only max_output_rows_per_table rows are sent')
  t.equal(capped.status.code, grpc.status.OK, 'a truncated answer still ends OK')
})

t.test('namespace include and exclude lists are respected', async (t) => {
  const h = await startTestSimulator(t, argo)
  const included = await collectExecute(h.client, httpPodStatsScript(0, 60_000, { include: ['px-sock-shop'] }))
  t.same([...rowsByPod(included.responses).keys()].sort(), ['px-sock-shop/catalogue-6b8f9d7c5f-r8v2x', 'px-sock-shop/front-end-5c8f7b6d9d-p4s7t'], 'include')
  const excluded = await collectExecute(h.client, httpPodStatsScript(0, 60_000, { exclude: ['px-sock-shop'] }))
  t.ok([...rowsByPod(excluded.responses).keys()].every((p) => p.startsWith('default/')), 'exclude')
  t.equal(rowsByPod(excluded.responses).size, 4, 'bad-red has no row before it exists')
})

t.test('no rows at all gives a single zero-row eos batch', async (t) => {
  const h = await startTestSimulator(t, argo)
  const { responses, status } = await collectExecute(h.client, httpPodStatsScript(0, 60_000, { include: ['kube-system'] }))
  t.same(responses.map((r) => r.result), ['meta_data', 'data', 'data'], 'metadata, one batch, stats')
  t.same([responses[1]?.data?.batch?.num_rows, responses[1]?.data?.batch?.eos, responses[1]?.data?.batch?.eow], ['0', true, true], 'the batch is empty and ends the table')
  t.equal(status.code, grpc.status.OK, 'ends OK')
})

t.test('an unknown query_name gets an in-band compile error, then INVALID_ARGUMENT', async (t) => {
  const h = await startTestSimulator(t, argo)
  // The HTTP script's own text and exec_funcs, under a query_name no answerer serves.
  const request = { ...httpPodStatsScript(0, 60_000), query_name: 'pixie-exporter/no_such_query' }
  const message = unsupportedQueryMessage('pixie-exporter/no_such_query')
  t.match(message, /no table answerer for query_name "pixie-exporter\/no_such_query"/, 'the message names the query_name')
  const { responses, status } = await collectExecute(h.client, request)
  t.equal(responses.length, 1, 'one response')
  t.equal(responses[0]?.status?.code, 3, 'in-band status code 3')
  t.match(responses[0]?.query_id, UUID, 'it carries a query_id')
  t.same(responses[0]?.status?.error_details.map((d) => d.compiler_error), [{ line: '1', column: '1', message }], 'compiler error details')
  t.same(status, { code: grpc.status.INVALID_ARGUMENT, details: message }, 'final gRPC status')
  const none = await collectExecute(h.client, { query_str: "import px\npx.display(px.DataFrame('http_events'))\n" })
  t.same(none.status, { code: grpc.status.INVALID_ARGUMENT, details: unsupportedQueryMessage('') }, 'a request without query_name is refused the same way')
})

t.test('the simulator answers by query_name and exec_funcs, not by the PxL text', async (t) => {
  const h = await startTestSimulator(t, argo)
  const request = countsScript(30_000, 60_000)
  const ours = await collectExecute(h.client, request)
  t.equal(ours.status.code, grpc.status.OK, "the exporter's own request is answered")
  // A hand-written script: different text (no function of that name is even
  // defined), same query_name and exec_funcs. Real Pixie would refuse it; the
  // simulator cannot tell, because it never reads the PxL.
  const other = await collectExecute(h.client, { ...request, query_str: '#px:set max_output_rows_per_table=10000\nimport px\n# hand-written\n' })
  t.equal(other.status.code, grpc.status.OK, 'the hand-written request is answered too')
  t.same([...rowsByPod(other.responses)], [...rowsByPod(ours.responses)], 'same http_pod_stats rows')
  t.same([...countRowsByPod(other.responses)], [...countRowsByPod(ours.responses)], 'same http_pod_counts rows')
  t.ok(rowsByPod(ours.responses).size > 0, 'there are rows to compare')
  const renamed = await collectExecute(h.client, {
    ...request,
    exec_funcs: (request.exec_funcs ?? []).map((f) => ({ ...f, output_table_prefix: `t_${f.output_table_prefix}` })),
  })
  t.same([...tableIds(renamed.responses).keys()].sort(), ['t_http_pod_counts', 't_http_pod_stats'], "tables are named by each call's output_table_prefix")
  const narrowed = await collectExecute(h.client, {
    ...request,
    exec_funcs: (request.exec_funcs ?? []).map((f) => ({
      ...f,
      arg_values: f.arg_values.map((a) => (a.name === 'include_namespaces' ? { ...a, value: '^(?:kube-system)$' } : a)),
    })),
  })
  t.same([...rowsByPod(narrowed.responses).keys()], [], 'the arguments decide the rows: an include regex matching no pod gives none')
})

t.test('exec_funcs problems get the compile errors Pixie words', async (t) => {
  const h = await startTestSimulator(t, argo)
  const request = countsScript(30_000, 60_000)
  const funcs = request.exec_funcs ?? []
  const refused = async (exec_funcs: typeof funcs) => (await collectExecute(h.client, { ...request, exec_funcs })).status
  t.same(await refused([]), { code: grpc.status.INVALID_ARGUMENT, details: 'query does not output a result, please add a px.display() statement' }, 'no function called')
  t.same(
    await refused([{ func_name: 'http_pod_latency', arg_values: [], output_table_prefix: 'x' }]),
    { code: grpc.status.INVALID_ARGUMENT, details: "Function to execute, 'http_pod_latency', not found." },
    'an unknown function',
  )
  const stats = funcs[0]
  if (stats === undefined) return t.fail('the request calls http_pod_stats')
  t.same(
    await refused([{ ...stats, arg_values: [...stats.arg_values, { name: 'window', value: '1' }] }]),
    { code: grpc.status.INVALID_ARGUMENT, details: "Function 'http_pod_stats' does not have an argument called 'window'" },
    'an unknown argument',
  )
  t.same(
    await refused([{ ...stats, arg_values: stats.arg_values.map((a) => (a.name === 'error_status_min' ? { ...a, value: '5xx' } : a)) }]),
    { code: grpc.status.INVALID_ARGUMENT, details: "Failed to parse arg with value '5xx' as int64." },
    'an argument that does not parse as its type',
  )
  t.same(
    await refused([{ ...stats, arg_values: stats.arg_values.filter((a) => a.name !== 'end_time') }]),
    { code: grpc.status.INVALID_ARGUMENT, details: "Function 'http_pod_stats' is missing the argument 'end_time'." },
    'a missing argument',
  )
  t.same(
    await refused([{ ...stats, output_table_prefix: '' }]),
    { code: grpc.status.INVALID_ARGUMENT, details: 'Output_table_prefix must be specified for function http_pod_stats.' },
    'no output table prefix',
  )
})

t.test('an empty query is refused like an old Vizier refuses a resume', async (t) => {
  const h = await startTestSimulator(t, argo)
  const { responses, status } = await collectExecute(h.client, { query_str: '', query_id: 'a-previous-query' })
  t.same(responses.map((r) => [r.status?.code, r.status?.message]), [[3, EMPTY_QUERY_MESSAGE]], 'in-band status without details')
  t.same(status, { code: grpc.status.INVALID_ARGUMENT, details: EMPTY_QUERY_MESSAGE }, 'final gRPC status')
})

t.test('the API key is checked only when the scenario sets one', async (t) => {
  const keyed = scenarioFromObject({ name: 'keyed', apiKey: 'px-api-secret', pods: [] })
  const h = await startTestSimulator(t, keyed)
  const wrong = await collectExecute(h.client, httpPodStatsScript(0, 1_000), { apiKey: 'nope' })
  t.same(wrong, { responses: [], status: { code: grpc.status.INTERNAL, details: AUTH_FAILED_MESSAGE } }, 'a wrong key fails like Pixie auth middleware')
  const missing = await collectExecute(h.client, httpPodStatsScript(0, 1_000))
  t.equal(missing.status.code, grpc.status.INTERNAL, 'a missing key fails too')
  const right = await collectExecute(h.client, httpPodStatsScript(0, 1_000), { apiKey: 'px-api-secret' })
  t.equal(right.status.code, grpc.status.OK, 'the right key is accepted')
  await t.rejects(firstHealthAnswer(h.client, 'nope'), { code: grpc.status.INTERNAL, details: AUTH_FAILED_MESSAGE }, 'HealthCheck checks the key too')
  const open = await startTestSimulator(t, argo)
  const anyKey = await collectExecute(open.client, httpPodStatsScript(0, 1_000), { apiKey: 'whatever' })
  t.equal(anyKey.status.code, grpc.status.OK, 'without apiKey in the scenario any key is accepted')
})

t.test('HealthCheck answers at once, with 14 during an unavailable fault', async (t) => {
  const h = await startTestSimulator(t, faulty)
  h.setTime(5_000)
  t.same((await firstHealthAnswer(h.client)).status, { code: 0, message: '', error_details: [] }, 'healthy: code 0')
  h.setTime(105_000)
  t.same((await firstHealthAnswer(h.client)).status?.code, 14, 'unavailable: code 14')
})

t.test('fault unavailable ends the call with UNAVAILABLE', async (t) => {
  const h = await startTestSimulator(t, faulty)
  h.setTime(105_000)
  const r = await collectExecute(h.client, httpPodStatsScript(90_000, 100_000))
  t.same(r, { responses: [], status: { code: grpc.status.UNAVAILABLE, details: UNAVAILABLE_MESSAGE } }, 'no responses, gRPC UNAVAILABLE')
  h.setTime(110_000 + 60_000)
  t.equal((await collectExecute(h.client, httpPodStatsScript(90_000, 100_000))).status.code, grpc.status.OK, 'after the fault the call succeeds')
})

t.test('fault slow holds the answer back, then answers normally', async (t) => {
  const h = await startTestSimulator(t, faulty)
  h.setTime(115_000)
  const r = await collectExecute(h.client, httpPodStatsScript(100_000, 110_000))
  t.equal(r.status.code, grpc.status.OK, 'ends OK')
  t.same(rowsByPod(r.responses).get('default/web-1')?.slice(2, 4), [100, 10], 'with the normal rows')
  t.ok(h.lines.some((l) => l['fault'] === 'slow' && l['msg'] === 'simulated query answered'), 'the answer is logged with the fault')
})

t.test('fault slow stops when the client gives up', async (t) => {
  const h = await startTestSimulator(t, faulty)
  h.setTime(155_000)
  const r = await collectExecute(h.client, httpPodStatsScript(100_000, 110_000), { deadlineMs: 200 })
  t.same([r.status.code, r.responses.length], [grpc.status.DEADLINE_EXCEEDED, 0], 'the client sees its deadline, and no data')
  for (let i = 0; i < 100 && !h.lines.some((l) => l['msg'] === 'simulated query cancelled by the client'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(h.lines.some((l) => l['msg'] === 'simulated query cancelled by the client'), 'the simulator noticed the cancellation')
})

t.test('fault compile-error gives the injected compiler error', async (t) => {
  const h = await startTestSimulator(t, faulty)
  h.setTime(125_000)
  const { responses, status } = await collectExecute(h.client, httpPodStatsScript(100_000, 110_000))
  t.same(responses.map((r) => r.status?.error_details.map((d) => d.compiler_error)), [[{ line: '3', column: '5', message: INJECTED_COMPILE_ERROR_MESSAGE }]], 'line 3, column 5')
  t.equal(responses[0]?.status?.code, 3, 'in-band code 3')
  t.same(status, { code: grpc.status.INVALID_ARGUMENT, details: INJECTED_COMPILE_ERROR_MESSAGE }, 'then INVALID_ARGUMENT')
})

t.test('fault cut sends metadata and one batch, then INTERNAL RST_STREAM', async (t) => {
  const h = await startTestSimulator(t, faulty)
  h.setTime(135_000)
  const { responses, status } = await collectExecute(h.client, httpPodStatsScript(100_000, 110_000))
  t.same(responses.map((r) => r.result), ['meta_data', 'data'], 'metadata and one batch')
  t.equal(responses[1]?.data?.batch?.eos, false, 'the batch does not end the table')
  t.same(status, { code: grpc.status.INTERNAL, details: CUT_MESSAGE }, 'INTERNAL with RST_STREAM in the message')
})

t.test('fault malformed sends a column of the wrong type, then ends OK', async (t) => {
  const h = await startTestSimulator(t, faulty)
  h.setTime(145_000)
  const { responses, status } = await collectExecute(h.client, httpPodStatsScript(100_000, 110_000))
  t.equal(responses[0]?.meta_data?.relation?.columns[0]?.column_type, 5, 'the first column is declared STRING')
  const last = batchesOf(responses).at(-1)
  t.equal(last?.cols[0]?.col_data, 'int64_data', 'but arrives as int64_data')
  t.ok(responses.at(-1)?.data?.execution_stats, 'stats still come last')
  t.equal(status.code, grpc.status.OK, 'the call ends OK')
})

t.test('logs say the data is simulated', async (t) => {
  const h = await startTestSimulator(t, argo)
  await collectExecute(h.client, httpPodStatsScript(30_000, 90_000))
  const start = h.lines.find((l) => String(l['msg']).startsWith('Pixie API SIMULATOR listening on 127.0.0.1:'))
  t.match(start, { simulated: true, msg: /data is simulated$/ }, 'the start line')
  t.match(
    h.lines.find((l) => l['msg'] === 'simulated query answered'),
    { simulated: true, scenario: 'argo-canary-demo', query: 'pixie-exporter/http_pod_stats', tables: { http_pod_stats: { rows: 7, truncatedRows: 0 } }, windowSeconds: 60, queryId: UUID, level: 20 },
    'each answered query is logged, at debug when no fault shaped it (a demo polls every few seconds)',
  )
})

t.test('close is idempotent and ends open HealthCheck streams', async (t) => {
  const h = await startTestSimulator(t, argo)
  const call = h.client.HealthCheck({ cluster_id: 'x' }, new grpc.Metadata())
  const ended = new Promise<number>((resolve) => call.on('status', (s: grpc.StatusObject) => resolve(s.code)))
  call.on('error', () => {})
  await new Promise((resolve) => call.once('data', resolve))
  await h.close()
  await h.close()
  t.not(await ended, grpc.status.OK, 'the stream ended with an error status when the server stopped')
})
