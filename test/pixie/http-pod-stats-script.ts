import t from 'tap'
import {
  HTTP_POD_STATS_COLUMNS,
  HTTP_POD_STATS_MARKER,
  buildHttpPodStatsScript,
  parseHttpPodStatsScript,
  type HttpPodStatsParams,
} from '../../src/pixie/scripts/http-pod-stats.js'

const base: HttpPodStatsParams = {
  startNs: 1_700_000_000_000_000_000n,
  endNs: 1_700_000_030_000_000_000n,
  errorStatusMin: 500,
  include: [],
  exclude: [],
  maxRows: 100_000,
}

t.test('the script aggregates inbound HTTP of every pod in one run', async (t) => {
  const s = buildHttpPodStatsScript(base)
  t.ok(s.startsWith(`${HTTP_POD_STATS_MARKER}\n`), 'starts with the marker line')
  t.match(s, /^#px:set max_output_rows_per_table=100000$/m, 'raises the 10,000-row default, as a line of exactly key=value')
  t.match(s, /^w = px\.DataFrame\(table='http_events', start_time=1700000000000000000, end_time=1700000030000000000\)$/m, 'absolute window in ns')
  t.match(s, /^w = w\[w\.trace_role == 2\]$/m, 'inbound (server side) requests only')
  t.match(s, /groupby\(\['namespace', 'pod', 'service'\]\)/, 'grouped by namespace, pod and service')
  t.match(s, /^w\.failure = w\.resp_status >= 500$/m, 'error threshold')
  t.notMatch(s, /http_pod_counts/, 'no count table unless asked for')
  t.notMatch(s, /px\.contains/, 'no substring matching')
  t.match(s, new RegExp(`w = w\\[\\[${HTTP_POD_STATS_COLUMNS.map((c) => `'${c.name}'`).join(', ')}\\]\\]`), 'projects the documented columns')
})

t.test('uses only PxL functions that exist in Pixie', async (t) => {
  const s = buildHttpPodStatsScript({ ...base, include: ['a'], exclude: ['b'] })
  const used = new Set([...s.matchAll(/px\.([a-zA-Z_0-9]+)/g)].map((m) => m[1]))
  t.same([...used].sort(), ['DataFrame', 'count', 'display', 'pluck_float64', 'quantiles', 'sum'], 'known PxL functions only')
})

t.test('namespace lists become exact comparisons', async (t) => {
  const s = buildHttpPodStatsScript({ ...base, include: ['default', 'shop'], exclude: ['kube-system'] })
  t.match(s, /^w = w\[w\.namespace == 'default' or w\.namespace == 'shop'\]$/m, 'include list')
  t.match(s, /^w = w\[w\.namespace != 'kube-system'\]$/m, 'exclude list')
})

t.test('with a count range, a second table counts by status class and latency bucket in the same run', async (t) => {
  const s = buildHttpPodStatsScript({ ...base, include: ['shop'], counts: { startNs: base.startNs + 20_000_000_000n, bucketsNs: [5_000_000n, 100_000_000n] } })
  t.equal(s.match(/^import px$/gm)?.length, 1, 'one script')
  t.match(s, /^c = px\.DataFrame\(table='http_events', start_time=1700000020000000000, end_time=1700000030000000000\)$/m, 'count range ends where the window ends')
  t.match(s, /^c = c\[c\.namespace == 'shop'\]$/m, 'same namespace filter')
  t.match(s, /^c = c\[c\.resp_status >= 100 and c\.resp_status < 600\]$/m, 'only real HTTP statuses are counted')
  t.match(s, /^c\.s4xx = c\.resp_status >= 400 and c\.resp_status < 500$/m, 'status class flags')
  t.match(s, /^c\.le_1 = c\.latency <= 100000000$/m, 'bucket flags in ns')
  t.match(s, /^ {4}latency_sum_ns=\('latency', px\.sum\),$/m, 'latency sum')
  t.match(s, /^px\.display\(c, 'http_pod_counts'\)$/m, 'displayed as http_pod_counts')
  t.throws(() => buildHttpPodStatsScript({ ...base, counts: { startNs: base.endNs, bucketsNs: [] } }), TypeError, 'empty count range refused')
  t.throws(() => buildHttpPodStatsScript({ ...base, counts: { startNs: base.startNs, bucketsNs: [2n, 2n] } }), TypeError, 'buckets must increase')
})

t.test('parse reads back exactly what build wrote', async (t) => {
  const p: HttpPodStatsParams = { ...base, errorStatusMin: 400, include: ['a', 'b-2'], exclude: ['c'], maxRows: 5 }
  t.same(parseHttpPodStatsScript(buildHttpPodStatsScript(p)), p, 'round trip')
  const withCounts: HttpPodStatsParams = { ...p, counts: { startNs: base.startNs + 1n, bucketsNs: [5_000_000n, 10_000_000n, 2_500_000_000n] } }
  t.same(parseHttpPodStatsScript(buildHttpPodStatsScript(withCounts)), withCounts, 'round trip with counts')
  t.equal(parseHttpPodStatsScript('import px\npx.display(px.DataFrame("http_events"))'), undefined, 'other scripts are not recognised')
})

t.test('nothing that could alter the script is accepted', async (t) => {
  const bad = ["default'] or True #", 'Default', 'a_b', '', 'x'.repeat(64), 'ns\nimport os']
  for (const ns of bad) {
    t.throws(() => buildHttpPodStatsScript({ ...base, include: [ns] }), TypeError, `include ${JSON.stringify(ns)} is refused`)
    t.throws(() => buildHttpPodStatsScript({ ...base, exclude: [ns] }), TypeError, `exclude ${JSON.stringify(ns)} is refused`)
  }
  t.throws(() => buildHttpPodStatsScript({ ...base, errorStatusMin: 99 }), TypeError, 'status below 100')
  t.throws(() => buildHttpPodStatsScript({ ...base, errorStatusMin: 500.5 }), TypeError, 'non-integer status')
  t.throws(() => buildHttpPodStatsScript({ ...base, maxRows: 0 }), TypeError, 'row limit below 1')
  t.throws(() => buildHttpPodStatsScript({ ...base, endNs: base.startNs }), TypeError, 'empty window')
})
