import t from 'tap'
import { createServer } from 'node:net'
import {
  PixieAuthError,
  PixieCancelledError,
  PixieCompileError,
  PixieDeadlineError,
  PixieProtocolError,
  PixieQueryError,
  PixieUnavailableError,
} from '../../src/errors.js'
import { PixieClient } from '../../src/pixie/client.js'
import type { PixieClientOptions } from '../../src/pixie/client.js'
import type { Wire } from '../../src/pixie/proto.js'
import {
  DataType,
  batchResponse,
  memoryLogger,
  metadataResponse,
  startFakeVizier,
  statsResponse,
  statusResponse,
} from '../fixtures/fake-vizier.js'
import type { FakeVizierOptions } from '../fixtures/fake-vizier.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const API_KEY = 'px-api-0123456789abcdef-secret'
const SCRIPT = "import px\npx.display(px.DataFrame('http_events'))"

/** The part of a tap test that {@link setup} needs. */
interface TestContext {
  teardown(fn: () => unknown): void
}

/** Starts a fake Vizier and a plaintext client for it, both closed at teardown. */
async function setup(t: TestContext, fake: FakeVizierOptions, client: Partial<PixieClientOptions> = {}) {
  const server = await startFakeVizier(fake)
  t.teardown(() => server.close())
  const { logger, lines } = memoryLogger()
  const pixie = new PixieClient({
    address: server.address,
    clusterId: CLUSTER,
    apiKey: API_KEY,
    tls: 'plaintext',
    logger,
    ...client,
  })
  t.teardown(() => pixie.close())
  return { server, client: pixie, lines }
}

/** Runs `promise` and returns its rejection reason (or a marker string when it resolved). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return 'resolved unexpectedly'
}

/** A port on 127.0.0.1 with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

const HTTP_META = metadataResponse('tbl-http', 'http', [
  { name: 'time_', type: DataType.TIME64NS, semanticType: 2 },
  { name: 'upid', type: DataType.UINT128, semanticType: 200 },
  { name: 'pod', type: DataType.STRING, semanticType: 400 },
  { name: 'status', type: DataType.INT64 },
  { name: 'latency', type: DataType.FLOAT64, semanticType: 901 },
  { name: 'failure', type: DataType.BOOLEAN },
])
const COUNT_META = metadataResponse('tbl-count', 'count', [{ name: 'n', type: DataType.INT64 }])

function httpBatch(rows: number, offset: number, eos = false): object {
  const idx = Array.from({ length: rows }, (_, i) => i + offset)
  return batchResponse(
    'tbl-http',
    rows,
    [
      { time64ns_data: { data: idx.map((i) => String(1700000000123456789n + BigInt(i))) } },
      { uint128_data: { data: idx.map((i) => ({ high: '77311094061', low: String(34858981 + i) })) } },
      { string_data: { data: idx.map((i) => `default/pod-${i}`) } },
      { int64_data: { data: idx.map((i) => String(i % 2 === 0 ? 200 : -500)) } },
      { float64_data: { data: idx.map((i) => (i === 1 ? Number.NaN : i * 0.5)) } },
      { boolean_data: { data: idx.map((i) => i % 2 === 1) } },
    ],
    { eos },
  )
}

const HAPPY_STREAM = [
  COUNT_META,
  HTTP_META,
  httpBatch(2, 0),
  batchResponse('tbl-count', 1, [{ int64_data: { data: ['9007199254740993'] } }]),
  httpBatch(0, 2),
  httpBatch(1, 2, true),
  batchResponse('tbl-count', 0, [], { eos: true }),
  statsResponse(),
]

t.test('runs a script and decodes every table of the stream', async (t) => {
  const { client } = await setup(t, { executeScript: { responses: HAPPY_STREAM } })
  const result = await client.executeScript({ script: SCRIPT, queryName: 'http_stats', timeoutMs: 5000 })
  t.same([...result.tables.keys()].sort(), ['count', 'http'], 'both tables present by name')
  const http = result.tables.get('http')
  t.equal(http?.numRows, 3, 'rows of all http batches')
  const [time, upid, pod, status, latency, failure] = http?.data ?? []
  t.same(time?.values, [1700000000123456789n, 1700000000123456790n, 1700000000123456791n], 'time64ns exact')
  t.same(
    upid?.values,
    ['00000012-0019-ad2d-0000-00000213e7e5', '00000012-0019-ad2d-0000-00000213e7e6', '00000012-0019-ad2d-0000-00000213e7e7'],
    'uint128 as UUID text',
  )
  t.same(pod?.values, ['default/pod-0', 'default/pod-1', 'default/pod-2'], 'strings')
  t.same(status?.values, [200n, -500n, 200n], 'int64 incl. negative')
  t.equal((latency?.values as number[])[0], 0, 'float value')
  t.ok(Number.isNaN((latency?.values as number[])[1]), 'NaN float')
  t.same(failure?.values, [false, true, false], 'booleans')
  t.same(result.tables.get('count')?.data[0]?.values, [9007199254740993n], 'int64 above 2^53 exact')
  t.equal(result.stats?.executionTimeNs, 6913000n, 'stats recorded')
  t.equal(result.queryId, 'query-1', 'query id')
})

t.test('sends cluster_id, query_name, plugin_config and the metadata', async (t) => {
  const { server, client } = await setup(t, { executeScript: { responses: HAPPY_STREAM } }, { clientName: 'exporter-test' })
  await client.executeScript({
    script: SCRIPT,
    queryName: 'http_stats',
    timeoutMs: 5000,
    pluginTime: { startNs: 1700000000000000000n, endNs: 1700000030000000001n },
  })
  const call = server.calls[0]
  const request = call?.request as Wire.ExecuteScriptRequest
  t.equal(call?.method, 'ExecuteScript', 'ExecuteScript called')
  t.equal(request.query_str, SCRIPT, 'script sent as query_str')
  t.equal(request.cluster_id, CLUSTER, 'cluster_id sent')
  t.equal(request.query_name, 'http_stats', 'query_name sent')
  t.equal(request.mutation, false, 'no mutation requested')
  t.equal(request.query_id, '', 'not a resume request')
  t.same(
    request.configs?.plugin_config,
    { start_time_ns: '1700000000000000000', end_time_ns: '1700000030000000001' },
    'plugin_config with exact ns',
  )
  t.equal(call?.metadata['pixie-api-key'], API_KEY, 'api key metadata sent')
  t.equal(call?.metadata['pixie-api-client'], 'exporter-test', 'client name metadata sent')
})

t.test('sends exec_funcs: each function with its string arguments and output table prefix', async (t) => {
  const { server, client } = await setup(t, { executeScript: { responses: HAPPY_STREAM } })
  await client.executeScript({
    script: SCRIPT,
    queryName: 'http_stats',
    timeoutMs: 5000,
    execFuncs: [
      { funcName: 'stats', argValues: [{ name: 'start_time', value: '1' }, { name: 'ns', value: '^$' }], outputTablePrefix: 'stats' },
      { funcName: 'counts', argValues: [], outputTablePrefix: 'counts_table' },
    ],
  })
  const request = server.calls[0]?.request as Wire.ExecuteScriptRequest
  t.same(
    request.exec_funcs,
    [
      { func_name: 'stats', arg_values: [{ name: 'start_time', value: '1' }, { name: 'ns', value: '^$' }], output_table_prefix: 'stats' },
      { func_name: 'counts', arg_values: [], output_table_prefix: 'counts_table' },
    ],
    'exec_funcs on the wire, in order',
  )
  await client.executeScript({ script: SCRIPT, timeoutMs: 5000 })
  t.same((server.calls[1]?.request as Wire.ExecuteScriptRequest).exec_funcs, [], 'none when not given')
})

t.test('omits plugin_config and the api key when not given', async (t) => {
  const { server, client } = await setup(t, { executeScript: { responses: HAPPY_STREAM } }, { apiKey: undefined })
  await client.executeScript({ script: SCRIPT, timeoutMs: 5000 })
  const call = server.calls[0]
  t.equal((call?.request as Wire.ExecuteScriptRequest).configs, null, 'no configs')
  t.notOk('pixie-api-key' in (call?.metadata ?? {}), 'no api key metadata')
  t.equal(call?.metadata['pixie-api-client'], 'pixie-exporter', 'default client name')
})

t.test('logs one debug line per run with name, tables, rows and duration', async (t) => {
  const { client, lines } = await setup(t, { executeScript: { responses: HAPPY_STREAM } })
  await client.executeScript({ script: SCRIPT, queryName: 'http_stats', timeoutMs: 5000 })
  const done = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'script run complete')
  t.equal(done?.queryName, 'http_stats', 'query name logged')
  t.equal(done?.tables, 2, 'table count logged')
  t.equal(done?.rows, 4, 'row count logged')
  t.type(done?.durationMs, 'number', 'duration logged')
  t.equal(done?.level, 20, 'at debug level')
})

t.test('ignores a response without data or metadata', async (t) => {
  const { client, lines } = await setup(t, {
    executeScript: { responses: [{ query_id: 'q', mutation_info: { states: [] } }, ...HAPPY_STREAM] },
  })
  const result = await client.executeScript({ script: SCRIPT, timeoutMs: 5000 })
  t.equal(result.tables.size, 2, 'result unaffected')
  t.ok(
    lines.some((l) => l.includes('ignoring a response without data or metadata')),
    'debug line for the ignored response',
  )
})

t.test('in-band compiler errors reject with PixieCompileError carrying both errors', async (t) => {
  const { client } = await setup(t, {
    executeScript: {
      responses: [
        statusResponse(3, 'Compilation failed', [
          { line: 1, column: 2, message: "name 'aa' is not defined" },
          { line: 2, column: 2, message: 'Indentation error' },
        ]),
      ],
      end: { code: 3, details: 'Compilation failed' },
    },
  })
  const error = await rejectionOf(client.executeScript({ script: SCRIPT, timeoutMs: 5000 }))
  t.ok(error instanceof PixieCompileError, 'compile error, not the final INVALID_ARGUMENT')
  t.same(
    (error as PixieCompileError).compilerErrors,
    [
      { line: 1, column: 2, message: "name 'aa' is not defined" },
      { line: 2, column: 2, message: 'Indentation error' },
    ],
    'both errors with line and column',
  )
})

t.test('in-band code 0 with a message rejects and cancels the call', async (t) => {
  const { server, client } = await setup(t, {
    executeScript: { responses: [HTTP_META, statusResponse(0, 'Unimplemented: something')], end: 'hang' },
  })
  const error = await rejectionOf(client.executeScript({ script: SCRIPT, timeoutMs: 10_000 }))
  t.ok(error instanceof PixieQueryError, 'query error')
  t.match((error as Error).message, /Unimplemented: something/, 'server message kept')
  t.equal(await server.calls[0]?.done, 'cancelled', 'the client cancelled the still-open call')
})

const protocolCases: { name: string; responses: object[]; pattern: RegExp }[] = [
  {
    name: 'a batch for an unknown table id',
    responses: [HTTP_META, batchResponse('nope', 0, [], { eos: true })],
    pattern: /unknown table id "nope"/,
  },
  {
    name: 'data after eos',
    responses: [COUNT_META, batchResponse('tbl-count', 0, [], { eos: true }), batchResponse('tbl-count', 0, [])],
    pattern: /data for table "count" after its end-of-stream/,
  },
  {
    name: 'a column type mismatch',
    responses: [COUNT_META, batchResponse('tbl-count', 1, [{ string_data: { data: ['1'] } }])],
    pattern: /column "n" of table "count": expected INT64, got STRING/,
  },
  {
    name: 'duplicate metadata',
    responses: [COUNT_META, COUNT_META],
    pattern: /duplicate metadata for table id "tbl-count"/,
  },
  {
    name: 'a clean end without eos',
    responses: [COUNT_META, batchResponse('tbl-count', 1, [{ int64_data: { data: ['1'] } }]), statsResponse()],
    pattern: /table "count" \(id tbl-count\) ended without end-of-stream/,
  },
  {
    name: 'an encrypted batch',
    responses: [COUNT_META, { query_id: 'q', data: { encrypted_batch: Buffer.from('a.b.c.d.e') } }],
    pattern: /encrypted batches are not supported/,
  },
]
for (const c of protocolCases) {
  t.test(`${c.name} rejects with PixieProtocolError`, async (t) => {
    const { server, client } = await setup(t, { executeScript: { responses: c.responses } })
    const error = await rejectionOf(client.executeScript({ script: SCRIPT, timeoutMs: 5000 }))
    t.ok(error instanceof PixieProtocolError, 'protocol error')
    t.match((error as Error).message, c.pattern, 'message names the problem')
    t.match((error as Error).message, server.address, 'message names the address')
  })
}

const statusCases: {
  name: string
  responses?: object[]
  end: { code: number; details: string }
  type: new (...args: never[]) => Error
  pattern: RegExp
}[] = [
  {
    name: 'a stream cut (INTERNAL RST_STREAM) after a batch',
    responses: [COUNT_META, batchResponse('tbl-count', 1, [{ int64_data: { data: ['1'] } }])],
    end: { code: 13, details: 'Received RST_STREAM with code 2 triggered by internal client error' },
    type: PixieUnavailableError,
    pattern: /RST_STREAM/,
  },
  {
    name: 'INTERNAL "server closed the stream without sending trailers"',
    end: { code: 13, details: 'server closed the stream without sending trailers' },
    type: PixieUnavailableError,
    pattern: /without sending trailers/,
  },
  {
    name: 'UNAVAILABLE',
    end: { code: 14, details: 'cluster is not in a healthy state' },
    type: PixieUnavailableError,
    pattern: /cluster is not in a healthy state/,
  },
  { name: 'UNAUTHENTICATED', end: { code: 16, details: 'invalid auth token' }, type: PixieAuthError, pattern: /API key/ },
  { name: 'PERMISSION_DENIED', end: { code: 7, details: 'not allowed' }, type: PixieAuthError, pattern: /not allowed/ },
  {
    name: 'INTERNAL "Auth middleware failed"',
    end: { code: 13, details: 'Auth middleware failed: failed to get augmented token' },
    type: PixieAuthError,
    pattern: /Auth middleware failed/,
  },
  {
    name: 'INVALID_ARGUMENT without in-band status (standalone compile error)',
    end: { code: 3, details: "name 'aa' is not defined" },
    type: PixieQueryError,
    pattern: /invalid: name 'aa' is not defined/,
  },
  {
    name: 'another INTERNAL error',
    end: { code: 13, details: 'failed to fetch creds for cluster' },
    type: PixieQueryError,
    pattern: /INTERNAL.*failed to fetch creds/,
  },
  {
    name: 'FAILED_PRECONDITION',
    end: { code: 9, details: 'carnot failed' },
    type: PixieQueryError,
    pattern: /carnot failed/,
  },
]
for (const c of statusCases) {
  t.test(`final status: ${c.name} maps to ${c.type.name}`, async (t) => {
    const { server, client } = await setup(t, { executeScript: { responses: c.responses ?? [], end: c.end } })
    const error = await rejectionOf(client.executeScript({ script: SCRIPT, timeoutMs: 5000 }))
    t.ok(error instanceof c.type, `rejects with ${c.type.name}, got ${String(error)}`)
    t.equal((error as PixieQueryError).grpcCode, c.end.code, 'grpc code kept')
    t.match((error as Error).message, c.pattern, 'message is specific')
    t.match((error as Error).message, server.address, 'message names the address')
    t.ok((error as Error).cause instanceof Error, 'cause set')
  })
}

t.test('a run past its deadline rejects with PixieDeadlineError naming the timeout', async (t) => {
  const { server, client } = await setup(t, { executeScript: { responses: [HTTP_META], end: 'hang' } })
  const error = await rejectionOf(client.executeScript({ script: SCRIPT, queryName: 'slow', timeoutMs: 200 }))
  t.ok(error instanceof PixieDeadlineError, 'deadline error')
  t.match((error as Error).message, /query "slow".*within 0\.2s/, 'message says which query and the timeout in seconds')
  t.equal(await server.calls[0]?.done, 'cancelled', 'call ended on the server')
})

t.test('aborting the signal cancels the call with PixieCancelledError', async (t) => {
  const { server, client } = await setup(t, { executeScript: { responses: [HTTP_META], end: 'hang' } })
  const controller = new AbortController()
  const run = rejectionOf(client.executeScript({ script: SCRIPT, timeoutMs: 10_000, signal: controller.signal }))
  const call = await server.waitForCall(0)
  controller.abort()
  const error = await run
  t.ok(error instanceof PixieCancelledError, 'cancelled error')
  t.equal(await call.done, 'cancelled', 'the server saw the cancellation')
})

t.test('an already aborted signal rejects without calling', async (t) => {
  const { server, client } = await setup(t, { executeScript: { responses: HAPPY_STREAM } })
  const error = await rejectionOf(
    client.executeScript({ script: SCRIPT, timeoutMs: 5000, signal: AbortSignal.abort() }),
  )
  t.ok(error instanceof PixieCancelledError, 'cancelled error')
  // A later call goes through, so had the first been sent it would be recorded before it.
  await client.executeScript({ script: SCRIPT, queryName: 'second', timeoutMs: 5000 })
  t.same(
    server.calls.map((c) => (c.request as Wire.ExecuteScriptRequest).query_name),
    ['second'],
    'only the second run reached the server',
  )
})

t.test('an address with nothing listening rejects with PixieUnavailableError', async (t) => {
  const { logger } = memoryLogger()
  const address = `127.0.0.1:${await closedPort()}`
  const client = new PixieClient({ address, clusterId: CLUSTER, apiKey: API_KEY, tls: 'plaintext', logger })
  t.teardown(() => client.close())
  const error = await rejectionOf(client.executeScript({ script: SCRIPT, timeoutMs: 5000 }))
  t.ok(error instanceof PixieUnavailableError, `unavailable, got ${String(error)}`)
  t.match((error as Error).message, address, 'message names the address')
})

t.test('the api key appears in no error message and no log line', async (t) => {
  const { client, lines } = await setup(t, {
    executeScript: (request) =>
      request.query_name === 'inband'
        ? { responses: [statusResponse(0, `bad key ${API_KEY}`)], end: 'hang' }
        : { end: { code: 16, details: `invalid api key ${API_KEY}` } },
  })
  const finalError = await rejectionOf(client.executeScript({ script: SCRIPT, queryName: 'final', timeoutMs: 5000 }))
  const inBandError = await rejectionOf(client.executeScript({ script: SCRIPT, queryName: 'inband', timeoutMs: 5000 }))
  t.ok(finalError instanceof PixieAuthError, 'final status mapped')
  t.ok(inBandError instanceof PixieQueryError, 'in-band status mapped')
  for (const [name, error] of [
    ['final status', finalError],
    ['in-band status', inBandError],
  ] as const) {
    const text = `${(error as Error).message} ${String((error as Error).cause)}`
    t.notOk(text.includes(API_KEY), `${name}: key not in message or cause`)
    t.match(text, /<secret>/, `${name}: echoed key replaced`)
  }
  t.ok(lines.length > 0, 'something was logged')
  t.notOk(
    lines.some((l) => l.includes(API_KEY)),
    'no log line contains the key',
  )
})

t.test('healthCheck resolves on the first OK answer and cancels the stream', async (t) => {
  const { server, client } = await setup(t, {})
  await client.healthCheck({ timeoutMs: 5000 })
  const call = server.calls[0]
  t.equal(call?.method, 'HealthCheck', 'HealthCheck called')
  t.same(call?.request, { cluster_id: CLUSTER }, 'cluster_id sent')
  t.equal(call?.metadata['pixie-api-key'], API_KEY, 'api key sent')
  t.equal(await call?.done, 'cancelled', 'stream cancelled after the answer')
})

t.test('healthCheck rejects with PixieUnavailableError on an in-band code 14', async (t) => {
  const { client } = await setup(t, { healthCheck: { responses: [statusResponse(14, 'probe failed')], end: 'hang' } })
  const error = await rejectionOf(client.healthCheck({ timeoutMs: 5000 }))
  t.ok(error instanceof PixieUnavailableError, 'unavailable error')
  t.match((error as Error).message, /not ready: probe failed/, 'message carries the reason')
})

t.test('healthCheck accepts a stream that ends OK without answering (direct endpoints)', async (t) => {
  const { server, client } = await setup(t, { healthCheck: { end: { code: 0 } } })
  await client.healthCheck({ timeoutMs: 5000 })
  t.equal(await server.calls[0]?.done, 'finished', 'the server ended the stream itself')
})

t.test('healthCheck maps a gRPC error status', async (t) => {
  const { client } = await setup(t, { healthCheck: { end: { code: 16, details: 'no key' } } })
  const error = await rejectionOf(client.healthCheck({ timeoutMs: 5000 }))
  t.ok(error instanceof PixieAuthError, 'auth error')
})

t.test('healthCheck against nothing listening rejects with PixieUnavailableError', async (t) => {
  const { logger } = memoryLogger()
  const client = new PixieClient({
    address: `127.0.0.1:${await closedPort()}`,
    clusterId: CLUSTER,
    tls: 'plaintext',
    logger,
  })
  t.teardown(() => client.close())
  const error = await rejectionOf(client.healthCheck({ timeoutMs: 5000 }))
  t.ok(error instanceof PixieUnavailableError, `unavailable, got ${String(error)}`)
})

t.test('a non-positive timeout is refused before calling', async (t) => {
  const { server, client } = await setup(t, { executeScript: { responses: HAPPY_STREAM } })
  const error = await rejectionOf(client.executeScript({ script: SCRIPT, timeoutMs: 0 }))
  t.ok(error instanceof TypeError, 'TypeError for timeoutMs 0')
  const health = await rejectionOf(client.healthCheck({ timeoutMs: Number.NaN }))
  t.ok(health instanceof TypeError, 'TypeError for a NaN health timeout')
  t.equal(server.calls.length, 0, 'nothing sent')
})

t.test('the constructor rejects invalid options', async (t) => {
  const { logger } = memoryLogger()
  t.throws(() => new PixieClient({ address: '', clusterId: CLUSTER, tls: 'plaintext', logger }), TypeError, 'empty address')
  t.throws(
    () => new PixieClient({ address: '127.0.0.1:1', clusterId: CLUSTER, tls: 'none' as 'plaintext', logger }),
    TypeError,
    'unknown tls mode',
  )
  t.throws(
    () => new PixieClient({ address: '127.0.0.1:1', clusterId: CLUSTER, tls: 'plaintext', ca: Buffer.from('x'), logger }),
    TypeError,
    'ca without verify',
  )
})

t.test('handles 12,000 rows over several batches through a real stream', async (t) => {
  const responses: object[] = [HTTP_META]
  for (let b = 0; b < 6; b++) responses.push(httpBatch(2000, b * 2000, b === 5))
  const { client } = await setup(t, { executeScript: { responses } })
  const result = await client.executeScript({ script: SCRIPT, timeoutMs: 10_000 })
  const http = result.tables.get('http')
  t.equal(http?.numRows, 12000, 'all rows')
  t.equal((http?.data[2]?.values as string[])[11999], 'default/pod-11999', 'last string in place')
  t.equal((http?.data[0]?.values as bigint[])[6000], 1700000000123456789n + 6000n, 'time value in place')
})
