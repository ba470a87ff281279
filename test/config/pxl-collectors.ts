import t from 'tap'
import { readFileSync } from 'node:fs'
import { loadConfig } from '../../src/config/load.js'
import { builtInMetricNames } from '../../src/config/collectors.js'
import { LIBRARY_NAMES } from '../fixtures/library-modules.js'
import { CLUSTER_ID, FIXTURE_API_KEY, fixturePath, memoryReadFile, problems } from '../fixtures/config/helpers.js'

const ORDERS_PXL = `import px
df = px.DataFrame('http_events', start_time=px.plugin.start_time, end_time=px.plugin.end_time)
px.display(df, 'orders')
`

/** Loads a config whose `collectors` section is `collectors` (YAML, indented by 2). */
function load(collectors: string, files: Record<string, string> = {}) {
  const yaml = `pixie:\n  clusterId: ${CLUSTER_ID}\n  apiKey: ${FIXTURE_API_KEY}\ncollectors:\n${collectors}`
  return loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: memoryReadFile({ 'c.yaml': yaml, ...files }) })
}

/** A working custom collector entry (list item at indent 4) with `extra` lines appended. */
function entry(name: string, extra = '', metric = 'shop_requests_total') {
  return [
    `    - name: ${name}`,
    `      pxl: "import px"`,
    `      table: t`,
    `      labels: [{column: pod}]`,
    `      metrics: [{column: requests, name: ${metric}, help: Requests., type: counter}]`,
    extra,
  ]
    .filter((l) => l !== '')
    .join('\n')
}

t.test('a full custom collector and library collectors are resolved', async (t) => {
  const files = { 'c.yaml': readFileSync(fixturePath('valid-custom.yaml'), 'utf8'), 'orders.pxl': ORDERS_PXL }
  const { config } = loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: memoryReadFile(files) })
  const [orders, cpu] = config.collectors.custom
  t.strictSame(
    orders,
    {
      name: 'orders_by_route',
      script: ORDERS_PXL,
      pxlFile: 'orders.pxl',
      table: 'orders',
      schedule: { kind: 'cron', cron: '*/20 * * * * *' },
      timeoutMs: 8_000,
      windowMs: 60_000,
      lagMs: 10_000,
      maxCatchUpMs: 600_000,
      staleAfterMs: 120_000,
      expireAfterMs: 900_000,
      staticLabels: { team: 'shop' },
      maxSeries: 1000,
      labels: [
        { column: 'namespace', label: 'namespace' },
        { column: 'pod', label: 'pod', transform: 'strip-namespace' },
        { column: 'req_path', label: 'route', transform: 'route' },
      ],
      metrics: [
        { column: 'requests', name: 'shop_orders_requests_total', help: 'Order requests.', type: 'counter', scale: 1 },
        { column: 'latency_ns_sum', name: 'shop_orders_latency_seconds_total', help: 'Time spent serving orders.', type: 'counter', scale: 1e-9 },
      ],
      routes: { patterns: ['/orders/*/item/*'], maxRoutes: 200 },
    },
    'every key of the first collector is read',
  )
  t.equal(cpu?.pxlFile, undefined, 'an inline script has no file')
  t.strictSame(cpu?.schedule, { kind: 'interval', intervalMs: 30_000, cron: '*/30 * * * * *' }, 'the default interval is 30s')
  t.equal(cpu?.timeoutMs, 20_000, 'the default timeout is pixie.timeout')
  t.equal(cpu?.windowMs, 30_000, 'the default window is 30s')
  t.equal(cpu?.lagMs, 5_000, 'the default lag is 5s')
  t.equal(cpu?.staleAfterMs, 90_000, 'the default staleAfter is 3 intervals')
  t.equal(cpu?.maxSeries, 50_000, 'the default maxSeries is 50000')
  t.equal(cpu?.routes, undefined, 'no routes without a route label')
  t.same(
    config.collectors.library.map((l) => [l.name, l.schedule, l.routes]),
    [
      ['http_service', { kind: 'interval', intervalMs: 30_000, cron: '*/30 * * * * *' }, { patterns: [], maxRoutes: 1000 }],
      ['http_endpoint', { kind: 'interval', intervalMs: 60_000, cron: '0 * * * * *' }, { patterns: ['/a/*'], maxRoutes: 1000 }],
    ],
    'library collectors in order, with their options and defaults',
  )
  t.ok(Object.isFrozen(orders?.metrics[0]), 'the result is deep-frozen')
})

t.test('no custom or library collectors by default', async (t) => {
  const { config } = load('  http: {}\n')
  t.strictSame(config.collectors.custom, [], 'no custom collectors')
  t.strictSame(config.collectors.library, [], 'no library collectors')
})

// Each row: the `collectors:` body and the exact problems.
const rows: readonly { why: string; yaml: string; want: readonly string[]; files?: Record<string, string> }[] = [
  {
    why: 'an unknown key in a collector',
    yaml: `  custom:\n${entry('a', '      tabel: x')}\n`,
    want: ['collectors.custom[0].tabel: unknown key'],
  },
  {
    why: 'an unknown key in a metric',
    yaml: `  custom:\n${entry('a', '      maxSeries: 10')}\n`.replace('type: counter}', 'type: counter, unit: s}'),
    want: ['collectors.custom[0].metrics[0].unit: unknown key'],
  },
  {
    why: 'a bad collector name',
    yaml: `  custom:\n${entry('Orders-1')}\n`,
    want: ['collectors.custom[0].name: must be a collector name: lower-case letters, digits and "_", starting with a letter'],
  },
  {
    why: 'a missing name and table',
    yaml: `  custom:\n${entry('a').replace('    - name: a\n      pxl', '    - pxl').replace('      table: t\n', '')}\n`,
    want: ['collectors.custom[0].name: required', 'collectors.custom[0].table: required'],
  },
  {
    why: 'the name of the built-in collector',
    yaml: `  custom:\n${entry('http')}\n`,
    want: ['collectors.custom[0].name: "http" is the name of a built-in collector'],
  },
  {
    why: 'the name of a library collector',
    yaml: `  custom:\n${entry('dns')}\n`,
    want: ['collectors.custom[0].name: "dns" is the name of a library collector'],
  },
  {
    why: 'two collectors with one name',
    yaml: `  custom:\n${entry('a')}\n${entry('a', '', 'other_total')}\n`,
    want: ['collectors.custom[1].name: "a" is already used by collectors.custom[0]'],
  },
  {
    why: 'one metric name in two collectors',
    yaml: `  custom:\n${entry('a')}\n${entry('b')}\n`,
    want: ['collectors.custom[1].metrics[0].name: "shop_requests_total" is already used by collectors.custom[0].metrics[0]'],
  },
  {
    why: 'a built-in metric name',
    yaml: `  custom:\n${entry('a', '', 'pixie_http_requests_total')}\n`,
    want: ['collectors.custom[0].metrics[0].name: "pixie_http_requests_total" is a built-in metric of the exporter'],
  },
  {
    why: 'a series name of a built-in histogram',
    yaml: `  custom:\n${entry('a').replace('type: counter', 'type: gauge').replace('shop_requests_total', 'pixie_http_request_duration_seconds_count')}\n`,
    want: ['collectors.custom[0].metrics[0].name: "pixie_http_request_duration_seconds_count" is a built-in metric of the exporter'],
  },
  {
    why: 'a reserved prefix',
    yaml: `  custom:\n${entry('a', '', 'process_requests_total')}\n`,
    want: ['collectors.custom[0].metrics[0].name: "process_requests_total" uses the reserved prefix process_'],
  },
  {
    why: 'an invalid metric name',
    yaml: `  custom:\n${entry('a', '', 'shop-requests_total')}\n`,
    want: ['collectors.custom[0].metrics[0].name: "shop-requests_total" is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)'],
  },
  {
    why: 'a counter without _total',
    yaml: `  custom:\n${entry('a', '', 'shop_requests')}\n`,
    want: ['collectors.custom[0].metrics[0].name: "shop_requests" is a counter and must end in _total'],
  },
  {
    why: 'a gauge with _total',
    yaml: `  custom:\n${entry('a').replace('type: counter', 'type: gauge')}\n`,
    want: ['collectors.custom[0].metrics[0].name: "shop_requests_total" is a gauge and must not end in _total (reserved for counters)'],
  },
  {
    why: 'a metric without help and type',
    yaml: `  custom:\n${entry('a').replace(', help: Requests., type: counter', '')}\n`,
    want: ['collectors.custom[0].metrics[0].help: required', 'collectors.custom[0].metrics[0].type: required'],
  },
  {
    why: 'no metrics',
    yaml: `  custom:\n${entry('a').replace(/ {6}metrics:.*\n?/, '')}\n`,
    want: ['collectors.custom[0].metrics: required (at least one metric)'],
  },
  {
    why: 'a bad metric type and scale',
    yaml: `  custom:\n${entry('a').replace('type: counter}', 'type: histogram, scale: 0}')}\n`,
    want: ['collectors.custom[0].metrics[0].type: must be one of gauge, counter', 'collectors.custom[0].metrics[0].scale: must be a number greater than 0'],
  },
  {
    why: 'both interval and schedule',
    yaml: `  custom:\n${entry('a', '      interval: 10s\n      schedule: "0 * * * * *"')}\n`,
    want: ['collectors.custom[0].interval: conflicts with collectors.custom[0].schedule (set only one)'],
  },
  {
    why: 'an interval no cron expression can express',
    yaml: `  custom:\n${entry('a', '      interval: 7s')}\n`,
    want: [
      'collectors.custom[0].interval: must divide a minute, an hour or a day evenly (e.g. 10s, 15s, 30s, 1m, 5m); use collectors.custom[0].schedule for other cadences',
    ],
  },
  {
    why: 'durations out of range',
    yaml: `  custom:\n${entry('a', '      window: 2h\n      lag: 10m\n      staleAfter: 10s\n      timeout: 1h\n      expireAfter: 1x')}\n`,
    want: [
      'collectors.custom[0].timeout: must be greater than 0 and at most 10m',
      'collectors.custom[0].window: must be from 1s to 1h',
      'collectors.custom[0].lag: must be from 0s to 5m',
      'collectors.custom[0].expireAfter: must be a duration (e.g. 500ms, 10s, 1m30s, 2h, 1d)',
      'collectors.custom[0].staleAfter: must be at least the interval (30s)',
    ],
  },
  {
    why: 'both pxl and pxlFile',
    yaml: `  custom:\n${entry('a', '      pxlFile: a.pxl')}\n`,
    want: ['collectors.custom[0].pxl: conflicts with collectors.custom[0].pxlFile (set only one)'],
  },
  {
    why: 'neither pxl nor pxlFile',
    yaml: `  custom:\n${entry('a').replace('      pxl: "import px"\n', '')}\n`,
    want: ['collectors.custom[0].pxl: required (set pxl or pxlFile)'],
  },
  {
    why: 'an unreadable pxlFile',
    yaml: `  custom:\n${entry('a').replace('pxl: "import px"', 'pxlFile: /nonexistent/orders.pxl')}\n`,
    want: ['collectors.custom[0].pxlFile: cannot read /nonexistent/orders.pxl: ENOENT: no such file or directory'],
  },
  {
    why: 'an empty pxlFile',
    yaml: `  custom:\n${entry('a').replace('pxl: "import px"', 'pxlFile: empty.pxl')}\n`,
    files: { 'empty.pxl': '\n' },
    want: ['collectors.custom[0].pxlFile: empty.pxl is empty'],
  },
  {
    why: 'bad and reserved label names',
    yaml: `  custom:\n${entry('a').replace('[{column: pod}]', '[{column: req.path}, {column: a, label: __name}, {column: b, label: le}]')}\n`,
    want: [
      'collectors.custom[0].labels[0].column: "req.path" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*); set label to name it',
      'collectors.custom[0].labels[1].label: "__name" is reserved (names starting with "__" belong to Prometheus)',
      'collectors.custom[0].labels[2].label: "le" is reserved (histograms and summaries use it)',
    ],
  },
  {
    why: "Prometheus' target labels, which honor_labels would let override the exporter's own",
    yaml: `  custom:\n${entry('a', '      staticLabels: {job: x}').replace('[{column: pod}]', '[{column: pod}, {column: host, label: instance}]')}\n`,
    want: [
      'collectors.custom[0].staticLabels: "job" is reserved (Prometheus\' target label; with honor_labels it would replace the exporter\'s own)',
      'collectors.custom[0].labels[1].label: "instance" is reserved (Prometheus\' target label; with honor_labels it would replace the exporter\'s own)',
    ],
  },
  {
    why: 'a label mapped twice, and both mapped and static',
    yaml: `  custom:\n${entry('a', '      staticLabels: {ns: x}').replace('[{column: pod}]', '[{column: pod}, {column: p, label: pod}, {column: namespace, label: ns}]')}\n`,
    want: ['collectors.custom[0].labels[1].label: "pod" is already mapped by labels[0]', 'collectors.custom[0].labels[2].label: "ns" is also a static label'],
  },
  {
    why: 'a bad static label name and value',
    yaml: `  custom:\n${entry('a', '      staticLabels: {__x: a, team: 3}')}\n`,
    want: ['collectors.custom[0].staticLabels.team: must be a string', 'collectors.custom[0].staticLabels: "__x" is reserved (names starting with "__" belong to Prometheus)'],
  },
  {
    why: 'a gauge with the route transform',
    yaml: `  custom:\n${entry('a').replace('[{column: pod}]', '[{column: path, label: route, transform: route}]').replace('type: counter', 'type: gauge').replace('shop_requests_total', 'shop_requests')}\n`,
    want: ['collectors.custom[0].metrics[0].type: a gauge cannot be used with the route transform (labels[0]); routes merge rows, so use a counter'],
  },
  {
    why: 'routes without a route label, and a bad pattern',
    yaml: `  custom:\n${entry('a', '      routes: {patterns: [orders/*]}')}\n`,
    want: ['collectors.custom[0].routes.patterns[0]: must start with "/"', 'collectors.custom[0].routes: only used by a label with transform route'],
  },
  {
    why: 'an unknown library collector',
    yaml: '  library: [http_service, oracle]\n',
    want: [`collectors.library[1]: must be one of ${LIBRARY_NAMES.join(', ')}`],
  },
  {
    why: 'a library collector listed twice',
    yaml: '  library: [dns, dns]\n',
    want: ['collectors.library[1]: "dns" is listed twice'],
  },
  {
    why: 'options of an unknown or disabled library collector',
    yaml: '  library: [dns]\n  libraryOptions:\n    oracle: {}\n    network: {interval: 1m}\n',
    want: [
      `collectors.libraryOptions.oracle: unknown library collector (known: ${LIBRARY_NAMES.join(', ')})`,
      'collectors.libraryOptions.network: network is not enabled (add it to collectors.library)',
    ],
  },
  {
    why: 'bad library options',
    yaml: '  library: [dns, http_endpoint]\n  libraryOptions:\n    dns: {interval: 7m, routes: {patterns: [/a]}}\n    http_endpoint: {windw: 1m}\n',
    want: ['collectors.libraryOptions.http_endpoint.windw: unknown key', 'collectors.libraryOptions.dns.routes: dns has no route label (routes apply to http_endpoint)'],
  },
  {
    why: 'a bad library interval',
    yaml: '  library: [dns]\n  libraryOptions:\n    dns: {interval: 7m}\n',
    want: [
      'collectors.libraryOptions.dns.interval: must divide a minute, an hour or a day evenly (e.g. 10s, 15s, 30s, 1m, 5m); use collectors.libraryOptions.dns.schedule for other cadences',
    ],
  },
  {
    why: 'a metric name of an enabled library collector',
    yaml: `  library: [http_service]\n  custom:\n${entry('a', '', 'pixie_http_service_requests_total')}\n`,
    want: ['collectors.custom[0].metrics[0].name: "pixie_http_service_requests_total" is already used by library collector http_service'],
  },
  {
    why: 'a list that is not a list',
    yaml: '  custom: {name: a}\n',
    want: ['collectors.custom: must be a list of collectors'],
  },
]

for (const row of rows) {
  t.test(`rejected: ${row.why}`, async (t) => {
    t.strictSame(problems(t, () => load(row.yaml, row.files)), row.want, 'exactly these problems')
  })
}

t.test('built-in metric names include histogram series and the self-metrics', async (t) => {
  const names = builtInMetricNames()
  t.ok(names.has('pixie_http_request_duration_seconds_bucket'), 'histogram buckets')
  t.ok(names.has('pixie_exporter_series_dropped_total'), 'the series-dropped counter')
  t.notOk(names.has('namespace'), 'label lists are not names')
})
