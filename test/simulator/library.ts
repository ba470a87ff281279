import t, { type Test } from 'tap'
import { LIBRARY, LIBRARY_NAMES, type LibraryName } from '../../src/collectors/library/index.js'
import type { LibraryOptions } from '../../src/collectors/library/options.js'
import { PixieCompileError, PixieProtocolError } from '../../src/errors.js'
import { NO_PLUGIN_CONFIG_MESSAGE } from '../../src/simulator/answerers/library.js'
import { unsupportedQueryMessage } from '../../src/simulator/server.js'
import { expectedPodCounts } from '../../src/simulator/traffic.js'
import type { PixieTable } from '../../src/pixie/types.js'
import { libraryScenario, nsAt, rowsOf, specRequest, startLibrarySimulator } from '../fixtures/library-scenario.js'

const OPTIONS: LibraryOptions = { schedule: { kind: 'interval', intervalMs: 15_000, cron: '*/15 * * * * *' }, timeoutMs: 5_000 }
const MIB = 1024 * 1024
const scenario = libraryScenario()
const latencySum = (pod: string, fromMs: number, toMs: number) => expectedPodCounts(scenario, pod, fromMs, toMs, []).latencySumNs

async function query(t: Test, name: LibraryName, fromMs: number, toMs: number, options: LibraryOptions = OPTIONS) {
  const { pixie } = await startLibrarySimulator(t, scenario)
  const spec = LIBRARY[name](options)
  const result = await pixie.executeScript({ ...specRequest(spec), timeoutMs: 5_000, pluginTime: { startNs: nsAt(fromMs), endNs: nsAt(toMs) } })
  const table = result.tables.get(spec.table)
  if (table === undefined) throw new Error(`no table ${spec.table}`)
  return { spec, table, rows: rowsOf(table), pixie }
}

/** Rows sorted by their JSON text, so tests do not depend on row order. */
const sorted = (rows: unknown[][]) => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))

function checkMappedColumns(t: Test, spec: ReturnType<(typeof LIBRARY)[LibraryName]>, table: PixieTable): void {
  const type = (column: string) => table.columns.find((c) => c.name === column)?.type
  for (const l of spec.labels) t.equal(type(l.column), 'STRING', `label column ${l.column} is a STRING column of ${spec.table}`)
  for (const m of spec.metrics) t.ok(['INT64', 'FLOAT64'].includes(type(m.column) ?? ''), `metric column ${m.column} is numeric in ${spec.table}`)
}

for (const name of LIBRARY_NAMES) {
  t.test(`library/${name}: the simulator accepts the script over gRPC and returns its table with every mapped column`, async (t) => {
    const { spec, table } = await query(t, name, 0, 50_000)
    t.equal(table.name, spec.table, 'the table has the name the spec reads')
    t.ok(table.numRows > 0, 'the table has rows')
    checkMappedColumns(t, spec, table)
  })
}

t.test('http_service: per service, the sums of its pods over the range', async (t) => {
  const { table, rows } = await query(t, 'http_service', 0, 50_000)
  t.same(
    table.columns.map((c) => `${c.name}:${c.type}`),
    ['namespace:STRING', 'service:STRING', 'requests:INT64', 'errors:INT64', 'latency_sum_ns:INT64', 'latency_p50_ns:FLOAT64', 'latency_p90_ns:FLOAT64', 'latency_p99_ns:FLOAT64'],
    'columns and types',
  )
  const p90Metrics = scenario.pods[3]?.phases[0]?.latencyNs.p90 ?? 0
  t.same(
    sorted(rows),
    sorted([
      // 16 rps × 50 s + 36 rps × 50 s; errors: 10 % of 800 (500) + 10 % of 1800 (503), 404 is not an error.
      ['shop', 'shop/checkout', 2600, 260, latencySum('shop/checkout-a', 0, 50_000) + latencySum('shop/checkout-b', 0, 50_000), 30e6, 60e6, 200e6],
      ['ops', '["ops/metrics","ops/metrics-canary"]', 200, 0, latencySum('ops/metrics', 0, 50_000), 2e6, Math.floor(p90Metrics), 10e6],
    ]),
    'checkout adds both pods (quantiles of the busier pod), the worker without a service is left out',
  )
})

t.test('http_service: errorStatusMin is read back from the script', async (t) => {
  const { rows } = await query(t, 'http_service', 0, 50_000, { ...OPTIONS, errorStatusMin: 400 })
  t.equal(rows.find((r) => r[1] === 'shop/checkout')?.[3], 440, 'with 400 the 404s count too (80 + 180 + 180)')
})

t.test('http_endpoint: every pod spreads its requests over five raw paths, 3:2:2:2:1', async (t) => {
  const { table, rows } = await query(t, 'http_endpoint', 0, 50_000)
  t.same(
    table.columns.map((c) => `${c.name}:${c.type}`),
    ['namespace:STRING', 'service:STRING', 'req_method:STRING', 'req_path:STRING', 'requests:INT64', 'errors:INT64', 'latency_sum_ns:INT64'],
    'columns and types',
  )
  const paths = [
    ['GET', '/api/orders/1001', 3],
    ['GET', '/api/orders/1002', 2],
    ['GET', '/api/orders/5f0c6a2e-3b1d-4c8e-9a7f-2d4b6e8c0a1f/items', 2],
    ['POST', '/api/orders', 2],
    ['GET', '/api/orders?page=2', 1],
  ] as const
  const expected = (ns: string, service: string, requests: number, errors: number) =>
    paths.map(([method, path, w]) => [ns, service, method, path, (requests * w) / 10, (errors * w) / 10])
  t.same(
    sorted(rows.map((r) => r.slice(0, 6))),
    sorted([
      ...expected('shop', 'shop/checkout', 2600, 260),
      ...expected('shop', '', 200, 0),
      ...expected('ops', '["ops/metrics","ops/metrics-canary"]', 200, 0),
    ]),
    'requests and errors per raw path, pods of one service added up',
  )
  const checkout = rows.filter((r) => r[1] === 'shop/checkout')
  const total = checkout.reduce((n, r) => n + Number(r[6]), 0)
  const truth = latencySum('shop/checkout-a', 0, 50_000) + latencySum('shop/checkout-b', 0, 50_000)
  t.ok(Math.abs(total - truth) <= 10, `the latency sums of the paths add up to the service's (${total} vs ${truth})`)
})

t.test('http_endpoint: counts over contiguous ranges add up to the count over their union', async (t) => {
  const whole = (await query(t, 'http_endpoint', 0, 50_000)).rows
  const first = (await query(t, 'http_endpoint', 0, 13_337)).rows
  const second = (await query(t, 'http_endpoint', 13_337, 50_000)).rows
  const key = (r: unknown[]) => JSON.stringify(r.slice(0, 4))
  for (const row of whole) {
    const a = first.find((r) => key(r) === key(row))
    const b = second.find((r) => key(r) === key(row))
    for (const [i, what] of [[4, 'requests'], [5, 'errors'], [6, 'latency sum']] as const) {
      t.equal(Number(a?.[i] ?? 0) + Number(b?.[i] ?? 0), row[i], `${what} of ${key(row)}: [0, 13.337 s) + [13.337 s, 50 s) = [0, 50 s)`)
    }
  }
})

t.test('resources: CPU time and RSS per pod, derived from its rps', async (t) => {
  const { table, rows } = await query(t, 'resources', 0, 50_000)
  t.same(table.columns.map((c) => `${c.name}:${c.type}`), ['namespace:STRING', 'pod:STRING', 'cpu_ns:INT64', 'rss_bytes:INT64'], 'columns and types')
  // CPU: 0.02 cores + 1 ms per request → (20 ms + rps ms) per second; RSS: 48 MiB + 256 KiB × rps.
  t.same(
    sorted(rows),
    sorted([
      ['shop', 'shop/checkout-a', 36e6 * 50, 48 * MIB + 16 * 256 * 1024],
      ['shop', 'shop/checkout-b', 56e6 * 50, 48 * MIB + 36 * 256 * 1024],
      ['shop', 'shop/worker', 24e6 * 50, 48 * MIB + 4 * 256 * 1024],
      ['ops', 'ops/metrics', 24e6 * 50, 48 * MIB + 4 * 256 * 1024],
    ]),
    'one row per pod',
  )
  const a = (await query(t, 'resources', 0, 20_000)).rows
  const b = (await query(t, 'resources', 20_000, 50_000)).rows
  t.equal(Number(a[0]?.[2]) + Number(b[0]?.[2]), 36e6 * 50, 'CPU time over [0, 20 s) + [20 s, 50 s) is that over [0, 50 s)')
})

t.test('resources: the namespace lists reach the simulator through the script', async (t) => {
  const onlyShop = (await query(t, 'resources', 0, 50_000, { ...OPTIONS, namespaces: { include: ['shop'] } })).rows
  t.same(onlyShop.map((r) => r[1]).sort(), ['shop/checkout-a', 'shop/checkout-b', 'shop/worker'], 'include keeps only shop')
  const notShop = (await query(t, 'resources', 0, 50_000, { ...OPTIONS, namespaces: { exclude: ['shop'] } })).rows
  t.same(notShop.map((r) => r[1]), ['ops/metrics'], 'exclude drops shop')
})

t.test('network: bytes received and sent per pod', async (t) => {
  const { table, rows } = await query(t, 'network', 0, 50_000)
  t.same(table.columns.map((c) => `${c.name}:${c.type}`), ['namespace:STRING', 'pod:STRING', 'rx_bytes:INT64', 'tx_bytes:INT64'], 'columns and types')
  // rx: 2000 + 1500 × rps bytes per second; tx: 1000 + 4000 × rps.
  t.same(
    sorted(rows),
    sorted([
      ['shop', 'shop/checkout-a', 26_000 * 50, 65_000 * 50],
      ['shop', 'shop/checkout-b', 56_000 * 50, 145_000 * 50],
      ['shop', 'shop/worker', 8_000 * 50, 17_000 * 50],
      ['ops', 'ops/metrics', 8_000 * 50, 17_000 * 50],
    ]),
    'one row per pod',
  )
})

t.test('dns: queries per pod (client side), 10 % NXDOMAIN, 1.5 ms each', async (t) => {
  const { table, rows } = await query(t, 'dns', 0, 50_000)
  t.same(
    table.columns.map((c) => `${c.name}:${c.type}`),
    ['namespace:STRING', 'pod:STRING', 'role:STRING', 'requests:INT64', 'errors:INT64', 'latency_sum_ns:INT64'],
    'columns and types',
  )
  // 0.2 + 0.05 × rps queries per second.
  t.same(
    sorted(rows),
    sorted([
      ['shop', 'shop/checkout-a', 'client', 50, 5, 50 * 1.5e6],
      ['shop', 'shop/checkout-b', 'client', 100, 10, 100 * 1.5e6],
      ['shop', 'shop/worker', 'client', 20, 2, 20 * 1.5e6],
      ['ops', 'ops/metrics', 'client', 20, 2, 20 * 1.5e6],
    ]),
    'one row per pod and role',
  )
})

t.test('mysql: queries per pod (client side), 2 % ERR, 3 ms each', async (t) => {
  const { rows } = await query(t, 'mysql', 0, 50_000)
  // 0.5 queries per HTTP request.
  t.same(
    sorted(rows),
    sorted([
      ['shop', 'shop/checkout-a', 'client', 400, 8, 400 * 3e6],
      ['shop', 'shop/checkout-b', 'client', 900, 18, 900 * 3e6],
      ['shop', 'shop/worker', 'client', 100, 2, 100 * 3e6],
      ['ops', 'ops/metrics', 'client', 100, 2, 100 * 3e6],
    ]),
    'one row per pod and role',
  )
})

t.test('a library script without a plugin config gets the compile error Pixie sends', async (t) => {
  const { pixie } = await startLibrarySimulator(t, scenario)
  const spec = LIBRARY.network(OPTIONS)
  const error = await pixie.executeScript({ ...specRequest(spec), timeoutMs: 5_000 }).catch((err: unknown) => err)
  t.type(error, PixieCompileError, 'rejected as a compile error')
  const detail = (error as PixieCompileError).compilerErrors[0]
  t.equal(detail?.message, NO_PLUGIN_CONFIG_MESSAGE, "Pixie's message for px.plugin without a plugin config")
})

t.test('customTables: a request with the table\'s query_name gets the configured rows', async (t) => {
  const custom = libraryScenario({
    customTables: [
      {
        queryName: 'pixie-exporter/shop_orders',
        table: 'orders_by_pod',
        columns: [
          { name: 'pod', type: 'STRING' },
          { name: 'orders', type: 'INT64' },
          { name: 'ratio', type: 'FLOAT64' },
          { name: 'paid', type: 'BOOLEAN' },
        ],
        rows: [
          ['shop/checkout-a', 12, 0.5, true],
          ['shop/checkout-b', '9007199254740993', 0.25, false],
        ],
      },
    ],
  })
  const { pixie } = await startLibrarySimulator(t, custom)
  const result = await pixie.executeScript({
    script: "import px\npx.display(px.DataFrame(table='http_events'), 'orders_by_pod')\n",
    queryName: 'pixie-exporter/shop_orders',
    timeoutMs: 5_000,
  })
  const table = result.tables.get('orders_by_pod')
  t.same(
    table?.columns.map((c) => `${c.name}:${c.type}`),
    ['pod:STRING', 'orders:INT64', 'ratio:FLOAT64', 'paid:BOOLEAN'],
    'the configured columns and types',
  )
  t.same(
    table?.data.map((c) => c.values),
    [['shop/checkout-a', 'shop/checkout-b'], [12n, 9007199254740993n], [0.5, 0.25], [true, false]],
    'the configured rows, INT64 given as a decimal string kept exact',
  )
  const other = await pixie
    .executeScript({ script: "import px\npx.display(px.DataFrame(table='http_events'), 'orders_by_pod')\n", queryName: 'pixie-exporter/shop_refunds', timeoutMs: 5_000 })
    .catch((err: unknown) => err)
  t.equal((other as PixieCompileError).compilerErrors?.[0]?.message, unsupportedQueryMessage('pixie-exporter/shop_refunds'), 'the same script under another query_name is refused')
})

t.test('customTables: rows are checked against the columns', async (t) => {
  t.throws(
    () =>
      libraryScenario({
        customTables: [
          {
            queryName: 'x',
            table: 't',
            columns: [
              { name: 'a', type: 'STRING' },
              { name: 'a', type: 'INT64' },
            ],
            rows: [['x', 1.5], ['y']],
          },
        ],
      }),
    {
      errors: [
        'customTables[0].columns[1].name: duplicate column a',
        'customTables[0].rows[0][1]: not a INT64 value (got 1.5)',
        'customTables[0].rows[1]: has 1 values for 2 columns',
      ],
    },
    'every problem is reported with its path',
  )
  t.throws(
    () => libraryScenario({ customTables: [{ queryName: '', table: 't', columns: [{ name: 'a', type: 'UINT128' as 'STRING' }], rows: [] }] }),
    { errors: ['customTables[0].queryName: must not be empty', 'customTables[0].columns[0].type: must be one of STRING, INT64, FLOAT64, BOOLEAN, TIME64NS (got "UINT128")'] },
    'the schema checks queryName and column types',
  )
})

t.test('faults apply to library scripts too: a malformed batch is detected by the client', async (t) => {
  const { pixie } = await startLibrarySimulator(t, libraryScenario({ faults: [{ kind: 'malformed' }] }))
  const spec = LIBRARY.resources(OPTIONS)
  const error = await pixie.executeScript({ ...specRequest(spec), timeoutMs: 5_000, pluginTime: { startNs: nsAt(0), endNs: nsAt(50_000) } }).catch((err: unknown) => err)
  t.type(error, PixieProtocolError, 'the wrong column type is a protocol error')
})
