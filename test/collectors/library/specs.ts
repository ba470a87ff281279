import t from 'tap'
import { LIBRARY, LIBRARY_NAMES } from '../../../src/collectors/library/index.js'
import { LIBRARY_DEFAULTS, type LibraryOptions } from '../../../src/collectors/library/options.js'
import { checkPxlSpec } from '../../../src/collectors/pxl.js'
import * as names from '../../../src/metrics/names.js'
import { PIXIE_CTX_KEYS, PIXIE_FUNCTIONS, PIXIE_TABLES } from '../../fixtures/library-pixie-schema.js'

const OPTIONS: LibraryOptions = { schedule: { kind: 'interval', intervalMs: 15_000, cron: '*/15 * * * * *' }, timeoutMs: 7_000 }

for (const name of LIBRARY_NAMES) {
  const spec = LIBRARY[name](OPTIONS)

  t.test(`library/${name}: a valid spec whose script reads its range from the plugin config`, async (t) => {
    t.equal(spec.name, name, 'the spec has the library name')
    t.doesNotThrow(() => checkPxlSpec(spec), "the engine's checks pass")
    t.equal(spec.script.match(/start_time=px\.plugin\.start_time, end_time=px\.plugin\.end_time/g)?.length, 1, 'one DataFrame, over the plugin range')
    t.notMatch(spec.script, /px\.display/, 'no top-level display: the request calls the function')
    t.match(spec.script, new RegExp(`^def ${name}\\(include_namespaces: str, exclude_namespaces: str(, error_status_min: int)?\\):$`, 'm'), 'the script defines the function, with typed parameters')
    t.match(spec.script, /^ {4}return df$/m, 'the function returns its table')
    t.same(spec.execFuncs?.map((f) => [f.funcName, f.outputTablePrefix]), [[name, spec.table]], 'the request calls it; Pixie names its table by the output_table_prefix, the table the spec reads')
    for (const m of spec.metrics) {
      t.equal(m.type === 'counter', m.name.endsWith('_total'), `${m.name}: _total exactly on counters`)
      t.notMatch(m.name, /_(ns|nanoseconds|milliseconds|kb|mb|percent)(_|$)/, `${m.name}: base units only`)
      t.ok(m.help.length > 20 && m.help.endsWith('.'), `${m.name}: a HELP sentence`)
    }
  })

  t.test(`library/${name}: every table, column, ctx key and function of the script exists in Pixie`, async (t) => {
    // The function body, dedented.
    const script = spec.script.split('\n').map((l) => l.replace(/^ {4}/, '')).join('\n')
    const tables = [...script.matchAll(/px\.DataFrame\(table='([a-z_]+)'/g)].map((m) => m[1] ?? '')
    t.equal(tables.length, 1, 'one source table')
    const columns = PIXIE_TABLES[tables[0] ?? ''] ?? []
    t.ok(columns.length > 0, `${tables[0]} is a Pixie table`)
    // Columns read before the first groupby come from the source table.
    const beforeGroupby = script.slice(0, script.indexOf('.groupby('))
    const derived = new Set([...beforeGroupby.matchAll(/^df\.([a-z_]+) = /gm)].map((m) => m[1] ?? ''))
    for (const m of beforeGroupby.matchAll(/\bdf\.([a-z_]+)\b(?! = )/g)) {
      const column = m[1] ?? ''
      if (column === 'ctx' || column === 'groupby' || derived.has(column)) continue
      t.ok(columns.includes(column), `${tables[0]}.${column} exists`)
    }
    const keys = /\.groupby\(\[([^\]]*)\]\)/.exec(script)?.[1] ?? ''
    for (const m of keys.matchAll(/'([a-z_]+)'/g)) {
      const column = m[1] ?? ''
      if (!derived.has(column)) t.ok(columns.includes(column), `grouping column ${tables[0]}.${column} exists`)
    }
    const firstAgg = script.slice(script.indexOf('.groupby('))
    const firstAggEnd = firstAgg.indexOf('\n)')
    for (const m of firstAgg.slice(0, firstAggEnd).matchAll(/=\('([a-z_]+)', px\./g)) {
      const column = m[1] ?? ''
      if (!derived.has(column)) t.ok(columns.includes(column), `aggregated column ${tables[0]}.${column} exists`)
    }
    for (const m of script.matchAll(/ctx\['([a-z_]+)'\]/g)) t.ok(PIXIE_CTX_KEYS.includes(m[1] ?? ''), `ctx['${m[1]}'] is a Pixie metadata key`)
    if (tables[0] === 'network_stats') t.notMatch(script, /ctx\[/, 'network_stats has no upid: the pod comes from the pod_id functions')
    for (const m of script.matchAll(/px\.([a-z_0-9.A-Z]+)/g)) {
      const fn = (m[1] ?? '').replace(/^plugin\.(start_time|end_time).*/, 'plugin.$1')
      t.ok(PIXIE_FUNCTIONS.includes(fn), `px.${fn} exists in Pixie`)
    }
  })
}

t.test('metric names are unique across the library and never reuse a built-in name', async (t) => {
  const all = LIBRARY_NAMES.flatMap((n) => LIBRARY[n](OPTIONS).metrics.map((m) => m.name))
  t.equal(new Set(all).size, all.length, 'no two library metrics share a name')
  const builtIn: unknown[] = Object.values(names).filter((v) => typeof v === 'string')
  for (const name of all) t.notOk(builtIn.includes(name), `${name} is not a built-in metric name`)
})

t.test('options: defaults and pass-through', async (t) => {
  const spec = LIBRARY.dns(OPTIONS)
  t.equal(spec.timeoutMs, 7_000, 'timeout from the options')
  t.equal(spec.windowMs, LIBRARY_DEFAULTS.windowMs, 'default window')
  t.equal(spec.lagMs, LIBRARY_DEFAULTS.lagMs, 'default lag')
  t.equal(spec.staleAfterMs, 45_000, 'default staleAfter: three intervals')
  t.equal(spec.maxSeries, 50_000, 'default maxSeries')
  t.match(spec.script, /^#px:set max_output_rows_per_table=100000$/m, 'default row limit')
  const custom = LIBRARY.http_service({ ...OPTIONS, maxRows: 500, errorStatusMin: 400, staticLabels: { cluster: 'prod' }, namespaces: { include: ['shop', 'ops'], exclude: ['kube-system'] } })
  t.match(custom.script, /^#px:set max_output_rows_per_table=500$/m, 'maxRows reaches the script')
  const args = Object.fromEntries((custom.execFuncs?.[0]?.argValues ?? []).map((a) => [a.name, a.value]))
  t.match(custom.script, /^ {4}df\.failure = df\.resp_status >= error_status_min$/m, 'the script compares with the error_status_min parameter')
  t.same(args, { include_namespaces: '^(?:shop|ops)$', exclude_namespaces: '^(?:kube-system)$', error_status_min: '400' }, 'errorStatusMin and the namespace lists reach the request as arguments')
  t.match(custom.script, /^ {4}df = df\[px\.regex_match\(include_namespaces, df\.namespace\)\]$/m, 'include filter')
  t.match(custom.script, /^ {4}df = df\[not px\.regex_match\(exclude_namespaces, df\.namespace\)\]$/m, 'exclude filter')
  t.same(custom.staticLabels, { cluster: 'prod' }, 'static labels')
  const endpoint = LIBRARY.http_endpoint({ ...OPTIONS, routes: { patterns: ['/orders/*'], maxRoutes: 20 } })
  t.same(endpoint.routes, { patterns: ['/orders/*'], maxRoutes: 20 }, 'routes reach the spec')
  t.same(LIBRARY.http_endpoint(OPTIONS).routes, { patterns: [], maxRoutes: 1000 }, 'default routes')
})

t.test('options that could change the script are refused', async (t) => {
  t.throws(() => LIBRARY.network({ ...OPTIONS, namespaces: { include: ["shop' or 1 == 1 or '"] } }), new TypeError(`not a Kubernetes namespace name: "shop' or 1 == 1 or '"`), 'a namespace that is not a DNS-1123 label')
  t.throws(() => LIBRARY.resources({ ...OPTIONS, maxRows: 0 }), new TypeError('maxRows must be a positive integer'), 'maxRows 0')
  t.throws(() => LIBRARY.http_service({ ...OPTIONS, errorStatusMin: 99 }), new TypeError('errorStatusMin must be an integer from 100 to 599'), 'errorStatusMin below 100')
  t.throws(() => LIBRARY.mysql({ ...OPTIONS, maxSeries: 1.5 }), new TypeError('maxSeries must be a positive integer'), 'fractional maxSeries')
  t.throws(() => LIBRARY.http_endpoint({ ...OPTIONS, routes: { patterns: ['orders/*'] } }), new TypeError('route pattern "orders/*" must start with "/"'), 'a bad route pattern')
})
