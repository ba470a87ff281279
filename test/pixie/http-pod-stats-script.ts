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
  t.match(s, /px\.DataFrame\(table='http_events', start_time=1700000000000000000, end_time=1700000030000000000\)/, 'absolute window in ns')
  t.match(s, /^df = df\[df\.trace_role == 2\]$/m, 'inbound (server side) requests only')
  t.match(s, /groupby\(\['namespace', 'pod', 'service'\]\)/, 'grouped by namespace, pod and service')
  t.match(s, /^df\.failure = df\.resp_status >= 500$/m, 'error threshold')
  t.notMatch(s, /px\.contains/, 'no substring matching')
  t.match(s, new RegExp(`df = df\\[\\[${HTTP_POD_STATS_COLUMNS.map((c) => `'${c.name}'`).join(', ')}\\]\\]`), 'projects the documented columns')
})

t.test('uses only PxL functions that exist in Pixie', async (t) => {
  const s = buildHttpPodStatsScript({ ...base, include: ['a'], exclude: ['b'] })
  const used = new Set([...s.matchAll(/px\.([a-zA-Z_0-9]+)/g)].map((m) => m[1]))
  t.same([...used].sort(), ['DataFrame', 'count', 'display', 'pluck_float64', 'quantiles', 'sum'], 'known PxL functions only')
})

t.test('namespace lists become exact comparisons', async (t) => {
  const s = buildHttpPodStatsScript({ ...base, include: ['default', 'shop'], exclude: ['kube-system'] })
  t.match(s, /^df = df\[df\.namespace == 'default' or df\.namespace == 'shop'\]$/m, 'include list')
  t.match(s, /^df = df\[df\.namespace != 'kube-system'\]$/m, 'exclude list')
})

t.test('parse reads back exactly what build wrote', async (t) => {
  const p: HttpPodStatsParams = { ...base, errorStatusMin: 400, include: ['a', 'b-2'], exclude: ['c'], maxRows: 5 }
  t.same(parseHttpPodStatsScript(buildHttpPodStatsScript(p)), p, 'round trip')
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
