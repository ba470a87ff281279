import t from 'tap'
import {
  HTTP_POD_STATS_COLUMNS,
  HTTP_POD_STATS_QUERY_NAME,
  buildHttpPodStatsRequest,
  type HttpPodStatsParams,
} from '../../src/pixie/scripts/http-pod-stats.js'
import type { FuncToExecute } from '../../src/pixie/types.js'
import { httpParamsOfCall } from '../fixtures/http-call.js'

const base: HttpPodStatsParams = {
  startNs: 1_700_000_000_000_000_000n,
  endNs: 1_700_000_030_000_000_000n,
  errorStatusMin: 500,
  include: [],
  exclude: [],
  maxRows: 100_000,
}

const argsOf = (f: FuncToExecute | undefined) => Object.fromEntries((f?.argValues ?? []).map((a) => [a.name, a.value]))

t.test('the script defines functions; the request calls http_pod_stats with the run parameters', async (t) => {
  const { script: s, queryName, execFuncs } = buildHttpPodStatsRequest(base)
  t.equal(queryName, HTTP_POD_STATS_QUERY_NAME, 'query_name names the script')
  t.match(s, /^#px:set max_output_rows_per_table=100000$/m, 'raises the 10,000-row default, as a line of exactly key=value')
  t.notMatch(s, /px\.display/, 'no top-level display: with exec_funcs, each function returns its table')
  t.notMatch(s, /1700000000000000000/, 'no time in the PxL text: it is an argument')
  t.match(s, /^def http_pod_stats\(start_time: int, end_time: int, include_namespaces: str, exclude_namespaces: str, error_status_min: int\):$/m, 'typed parameters, as Pixie requires for exec_funcs')
  t.match(s, /^ {4}df = px\.DataFrame\(table='http_events', start_time=start_time, end_time=end_time\)$/m, 'the range comes from the arguments')
  t.match(s, /^ {4}df = df\[df\.trace_role == 2\]$/m, 'inbound (server side) requests only')
  t.match(s, /groupby\(\['namespace', 'pod', 'service'\]\)/, 'grouped by namespace, pod and service')
  t.match(s, /^ {4}w\.failure = w\.resp_status >= error_status_min$/m, 'error threshold from the argument')
  t.match(s, new RegExp(`w = w\\[\\[${HTTP_POD_STATS_COLUMNS.map((c) => `'${c.name}'`).join(', ')}\\]\\]`), 'projects the documented columns')
  t.same(
    execFuncs.map((f) => [f.funcName, f.outputTablePrefix]),
    [['http_pod_stats', 'http_pod_stats']],
    'one call, its table named by output_table_prefix',
  )
  t.same(
    argsOf(execFuncs[0]),
    { start_time: '1700000000000000000', end_time: '1700000030000000000', include_namespaces: '^.*$', exclude_namespaces: '^$', error_status_min: '500' },
    'every parameter as a string argument',
  )
  t.notMatch(s, /http_pod_counts/, 'no count function unless asked for')
})

t.test('uses only PxL functions that exist in Pixie', async (t) => {
  const { script: s } = buildHttpPodStatsRequest({ ...base, include: ['a'], exclude: ['b'], counts: { startNs: base.startNs, bucketsNs: [1n], native: { schema: 3 } } })
  const used = new Set([...s.matchAll(/px\.([a-zA-Z_0-9]+)/g)].map((m) => m[1]))
  t.same([...used].sort(), ['DataFrame', 'ceil', 'count', 'log2', 'pluck_float64', 'quantiles', 'regex_match', 'select', 'sum'], 'known PxL functions only')
})

t.test('namespace lists become anchored regexes for px.regex_match', async (t) => {
  const { script, execFuncs } = buildHttpPodStatsRequest({ ...base, include: ['default', 'shop'], exclude: ['kube-system'] })
  t.same(
    [argsOf(execFuncs[0]).include_namespaces, argsOf(execFuncs[0]).exclude_namespaces],
    ['^(?:default|shop)$', '^(?:kube-system)$'],
    'include and exclude lists',
  )
  t.match(script, /^ {4}df = df\[px\.regex_match\(include_namespaces, df\.namespace\)\]$/m, 'include filter')
  t.match(script, /^ {4}df = df\[not px\.regex_match\(exclude_namespaces, df\.namespace\)\]$/m, 'exclude filter')
})

t.test('with a count range, a second function counts by status class and latency bucket in the same run', async (t) => {
  const { script: s, execFuncs } = buildHttpPodStatsRequest({ ...base, include: ['shop'], counts: { startNs: base.startNs + 20_000_000_000n, bucketsNs: [5_000_000n, 100_000_000n] } })
  t.equal(s.match(/^import px$/gm)?.length, 1, 'one script')
  t.match(s, /^def http_pod_counts\(start_time: int, end_time: int, include_namespaces: str, exclude_namespaces: str, le_0: int, le_1: int\):$/m, 'one parameter per bucket bound')
  t.match(s, /^ {4}c = c\[c\.resp_status >= 100 and c\.resp_status < 600\]$/m, 'only real HTTP statuses are counted')
  t.match(s, /^ {4}c\.s4xx = c\.resp_status >= 400 and c\.resp_status < 500$/m, 'status class flags')
  t.match(s, /^ {4}c\.le_1 = c\.latency <= le_1$/m, 'bucket flags from the arguments')
  t.match(s, /^ {8}latency_sum_ns=\('latency', px\.sum\),$/m, 'latency sum')
  const counts = execFuncs.find((f) => f.funcName === 'http_pod_counts')
  t.equal(counts?.outputTablePrefix, 'http_pod_counts', 'returned as http_pod_counts')
  t.same(
    argsOf(counts),
    { start_time: '1700000020000000000', end_time: '1700000030000000000', include_namespaces: '^(?:shop)$', exclude_namespaces: '^$', le_0: '5000000', le_1: '100000000' },
    'count range ends where the window ends; same namespace filter; bounds in ns',
  )
  t.throws(() => buildHttpPodStatsRequest({ ...base, counts: { startNs: base.endNs, bucketsNs: [] } }), TypeError, 'empty count range refused')
  t.throws(() => buildHttpPodStatsRequest({ ...base, counts: { startNs: base.startNs, bucketsNs: [2n, 2n] } }), TypeError, 'buckets must increase')
})

t.test('the parameters can be read back from the request alone (what Pixie and the simulator see)', async (t) => {
  const p: HttpPodStatsParams = { ...base, errorStatusMin: 400, include: ['a', 'b-2'], exclude: ['c'], maxRows: 5 }
  t.same(httpParamsOfCall(buildHttpPodStatsRequest(p)), p, 'round trip')
  const withCounts: HttpPodStatsParams = { ...p, counts: { startNs: base.startNs + 1n, bucketsNs: [5_000_000n, 10_000_000n, 2_500_000_000n], native: { schema: 2 } } }
  t.same(httpParamsOfCall(buildHttpPodStatsRequest(withCounts)), withCounts, 'round trip with counts and native buckets')
})

t.test('nothing that could alter the script is accepted', async (t) => {
  const bad = ["default'] or True #", 'Default', 'a_b', '', 'x'.repeat(64), 'ns\nimport os', 'a|b', '.*']
  for (const ns of bad) {
    t.throws(() => buildHttpPodStatsRequest({ ...base, include: [ns] }), TypeError, `include ${JSON.stringify(ns)} is refused`)
    t.throws(() => buildHttpPodStatsRequest({ ...base, exclude: [ns] }), TypeError, `exclude ${JSON.stringify(ns)} is refused`)
  }
  t.throws(() => buildHttpPodStatsRequest({ ...base, errorStatusMin: 99 }), TypeError, 'status below 100')
  t.throws(() => buildHttpPodStatsRequest({ ...base, errorStatusMin: 500.5 }), TypeError, 'non-integer status')
  t.throws(() => buildHttpPodStatsRequest({ ...base, maxRows: 0 }), TypeError, 'row limit below 1')
  t.throws(() => buildHttpPodStatsRequest({ ...base, endNs: base.startNs }), TypeError, 'empty window')
})
