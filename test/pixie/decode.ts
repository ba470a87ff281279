import t from 'tap'
import { PixieCompileError, PixieProtocolError, PixieQueryError } from '../../src/errors.js'
import { ResultAssembler, inBandStatusError, int64ToBigInt, uint128ToUuid } from '../../src/pixie/decode.js'
import { onTheWire as wire } from '../fixtures/fake-vizier.js'
import {
  DataType,
  batchResponse,
  metadataResponse,
  onTheWire,
  statsResponse,
  statusResponse,
} from '../fixtures/fake-vizier.js'

const SOURCE = '127.0.0.1:1'

/** Feeds responses (through the real codec) to a new assembler. */
function assemble(responses: readonly object[]): ResultAssembler {
  const assembler = new ResultAssembler({ source: SOURCE })
  for (const r of responses) assembler.accept(onTheWire(r))
  return assembler
}

const INT_TABLE = metadataResponse('abc', 'http_table', [{ name: 'http_status', type: DataType.INT64 }])

t.test('uint128ToUuid formats high then low as big-endian UUID text', async (t) => {
  t.equal(uint128ToUuid('77311094061', '34858981'), '00000012-0019-ad2d-0000-00000213e7e5', 'UPID vector from the UI tests')
  t.equal(uint128ToUuid('123', '456'), '00000000-0000-007b-0000-0000000001c8', 'small vector')
  t.equal(
    uint128ToUuid('18446744073709551615', '9223372036854775809'),
    'ffffffff-ffff-ffff-8000-000000000001',
    'halves above 2^63 are exact',
  )
  t.equal(uint128ToUuid(0n, 0n), '00000000-0000-0000-0000-000000000000', 'zero pads every group')
})

t.test('int64 fields: Long objects from the client\'s loader become exact bigints, at every edge of 32 and 64 bits', async (t) => {
  /** The Long object protobufjs makes of a value: signed 32-bit halves. */
  const long = (v: bigint, unsigned: boolean) => ({ low: Number(BigInt.asIntN(32, v)), high: Number(BigInt.asIntN(32, v >> 32n)), unsigned })
  const signed = [0n, 1n, -1n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)]
  for (const v of signed) t.equal(int64ToBigInt(long(v, false)), v, `int64 ${v}`)
  const unsigned = [0n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 63n, 2n ** 64n - 1n]
  for (const v of unsigned) t.equal(int64ToBigInt(long(BigInt.asIntN(64, v), true)), v, `uint64 ${v}`)
  t.equal(int64ToBigInt('-9223372036854775808'), -(2n ** 63n), 'a decimal string (the simulator\'s loader)')
  t.equal(int64ToBigInt(undefined), 0n, 'absent is 0')
  // Through the real codec: what the client's loader really gives.
  const values = signed.map(String)
  const response = wire(batchResponse('abc', values.length, [{ int64_data: { data: values } }]))
  const column = response.data?.batch?.cols[0]?.int64_data?.data ?? []
  t.equal(typeof column[0], 'object', 'the client\'s loader gives Long objects')
  t.same(column.map(int64ToBigInt), signed, 'each value exact')
})

t.test('decodes all six column types exactly', async (t) => {
  const meta = metadataResponse('t1', 'all', [
    { name: 'b', type: DataType.BOOLEAN },
    { name: 'i', type: DataType.INT64 },
    { name: 'u', type: DataType.UINT128, semanticType: 200 },
    { name: 'f', type: DataType.FLOAT64 },
    { name: 's', type: DataType.STRING },
    { name: 't', type: DataType.TIME64NS },
  ])
  const batch = batchResponse(
    't1',
    4,
    [
      { boolean_data: { data: [true, false, true, false] } },
      { int64_data: { data: ['9223372036854775807', '-9223372036854775808', '-1', '0'] } },
      {
        uint128_data: {
          data: [
            { high: '77311094061', low: '34858981' },
            { high: '123', low: '456' },
            { high: '18446744073709551615', low: '1' },
            { high: '0', low: '0' },
          ],
        },
      },
      { float64_data: { data: [1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY] } },
      { string_data: { data: [Buffer.from('foo'), Buffer.from([0x66, 0xff, 0x6f]), Buffer.from('é✓'), Buffer.alloc(0)] } },
      { time64ns_data: { data: ['1700000000123456789', '-1700000000123456789', '1', '0'] } },
    ],
    { eos: true },
  )
  const result = assemble([meta, batch, statsResponse()]).finish()
  const table = result.tables.get('all')
  if (table === undefined) throw new Error('table "all" missing')
  t.equal(table.numRows, 4, 'four rows')
  t.same(
    table.columns.map((c) => [c.name, c.type]),
    [
      ['b', 'BOOLEAN'],
      ['i', 'INT64'],
      ['u', 'UINT128'],
      ['f', 'FLOAT64'],
      ['s', 'STRING'],
      ['t', 'TIME64NS'],
    ],
    'columns in relation order with their types',
  )
  t.equal(table.columns[2]?.semanticType, 200, 'semantic type kept')
  const [b, i, u, f, s, time] = table.data
  t.same(b?.values, [true, false, true, false], 'booleans')
  t.same(i?.values, [9223372036854775807n, -9223372036854775808n, -1n, 0n], 'int64 as exact bigint')
  t.same(
    u?.values,
    [
      '00000012-0019-ad2d-0000-00000213e7e5',
      '00000000-0000-007b-0000-0000000001c8',
      'ffffffff-ffff-ffff-0000-000000000001',
      '00000000-0000-0000-0000-000000000000',
    ],
    'uint128 as UUID text',
  )
  const floats = f?.values as number[]
  t.equal(floats[0], 1.5, 'plain float')
  t.ok(Number.isNaN(floats[1]), 'NaN passes through')
  t.equal(floats[2], Number.POSITIVE_INFINITY, '+Inf passes through')
  t.equal(floats[3], Number.NEGATIVE_INFINITY, '-Inf passes through')
  t.same(s?.values, ['foo', 'f\uFFFDo', 'é✓', ''], 'strings UTF-8 decoded, invalid bytes replaced')
  t.same(time?.values, [1700000000123456789n, -1700000000123456789n, 1n, 0n], 'time64ns as exact bigint')
  t.same(
    result.stats,
    { executionTimeNs: 6913000n, compilationTimeNs: 2557231n, bytesProcessed: 1024n, recordsProcessed: 42n },
    'execution stats recorded',
  )
  t.equal(result.queryId, 'query-1', 'query id taken from the stream')
})

t.test('appends batches in order, accepting zero-row batches and a column-less end marker', async (t) => {
  const result = assemble([
    INT_TABLE,
    batchResponse('abc', 2, [{ int64_data: { data: ['1', '2'] } }]),
    batchResponse('abc', 0, [{ int64_data: { data: [] } }]),
    batchResponse('abc', 3, [{ int64_data: { data: ['3', '4', '5'] } }]),
    batchResponse('abc', 0, [], { eos: true }),
  ]).finish()
  const table = result.tables.get('http_table')
  t.same(table?.data[0]?.values, [1n, 2n, 3n, 4n, 5n], 'values of all batches in order')
  t.equal(table?.numRows, 5, 'row count summed')
  t.equal(result.stats, undefined, 'no stats when none were sent')
})

t.test('the eos batch may carry rows', async (t) => {
  const result = assemble([INT_TABLE, batchResponse('abc', 1, [{ int64_data: { data: ['7'] } }], { eos: true })]).finish()
  t.same(result.tables.get('http_table')?.data[0]?.values, [7n], 'rows of the eos batch kept')
})

t.test('handles 12,000 rows over several batches', async (t) => {
  const meta = metadataResponse('big', 'big', [
    { name: 'n', type: DataType.INT64 },
    { name: 'name', type: DataType.STRING },
  ])
  const responses: object[] = [meta]
  const perBatch = 3000
  for (let b = 0; b < 4; b++) {
    const ints: string[] = []
    const names: string[] = []
    for (let r = 0; r < perBatch; r++) {
      ints.push(String(b * perBatch + r))
      names.push(`pod-${b * perBatch + r}`)
    }
    responses.push(
      batchResponse('big', perBatch, [{ int64_data: { data: ints } }, { string_data: { data: names } }], { eos: b === 3 }),
    )
  }
  const table = assemble(responses).finish().tables.get('big')
  const n = table?.data[0]?.values as bigint[]
  const names = table?.data[1]?.values as string[]
  t.equal(table?.numRows, 12000, 'all rows counted')
  t.equal(n.length, 12000, 'all int values kept')
  t.equal(n[11999], 11999n, 'last value in place')
  t.equal(names[6001], 'pod-6001', 'string values in place')
  t.equal(
    n.reduce((a, v) => a + v, 0n),
    (11999n * 12000n) / 2n,
    'every value decoded once and in order',
  )
})

t.test('two tables interleaved are kept apart', async (t) => {
  const result = assemble([
    INT_TABLE,
    metadataResponse('def', 'other', [{ name: 's', type: DataType.STRING }]),
    batchResponse('def', 1, [{ string_data: { data: ['a'] } }]),
    batchResponse('abc', 1, [{ int64_data: { data: ['1'] } }]),
    batchResponse('def', 1, [{ string_data: { data: ['b'] } }], { eos: true }),
    batchResponse('abc', 1, [{ int64_data: { data: ['2'] } }], { eos: true }),
  ]).finish()
  t.same([...result.tables.keys()].sort(), ['http_table', 'other'], 'both tables by name')
  t.same(result.tables.get('http_table')?.data[0]?.values, [1n, 2n], 'first table values')
  t.same(result.tables.get('other')?.data[0]?.values, ['a', 'b'], 'second table values')
})

t.test('accepts a column object without the oneof case name', async (t) => {
  // Objects built by hand (not by the loader) have no col_data; the set field is used instead.
  const assembler = new ResultAssembler({ source: SOURCE })
  assembler.accept(onTheWire(INT_TABLE))
  assembler.accept({
    status: null,
    query_id: 'q',
    mutation_info: null,
    data: {
      batch: { table_id: 'abc', num_rows: '1', eow: true, eos: true, cols: [{ int64_data: { data: ['5'] } }] },
      execution_stats: null,
      encrypted_batch: Buffer.alloc(0),
    },
  })
  t.same(assembler.finish().tables.get('http_table')?.data[0]?.values, [5n], 'value decoded')
})

t.test('a response without data or metadata is ignored', async (t) => {
  const assembler = assemble([INT_TABLE])
  const outcome = assembler.accept(onTheWire({ query_id: 'q', mutation_info: { states: [] } }))
  t.equal(outcome, 'ignored', 'reported as ignored')
  t.equal(assembler.tableCount, 1, 'state unchanged')
})

/** Feeds `responses`, finishes, and returns what was thrown (undefined when nothing was). */
function failureOf(responses: readonly object[]): unknown {
  try {
    assemble(responses).finish()
  } catch (error) {
    return error
  }
  return undefined
}

/** The message of a protocol error that names the source, or a description of what came instead. */
function protocolMessage(error: unknown): string {
  if (!(error instanceof PixieProtocolError)) return `not a PixieProtocolError: ${String(error)}`
  if (!error.message.includes(SOURCE)) return `message does not name the source: ${error.message}`
  return error.message
}

t.test('a batch for an unknown table id is a protocol error naming it', async (t) => {
  t.match(protocolMessage(failureOf([INT_TABLE, batchResponse('zzz', 0, [], { eos: true })])), /unknown table id "zzz"/, 'unknown id')
})

t.test('data after eos is a protocol error', async (t) => {
  t.match(protocolMessage(failureOf([
      INT_TABLE,
      batchResponse('abc', 1, [{ int64_data: { data: ['1'] } }], { eos: true }),
      batchResponse('abc', 0, [{ int64_data: { data: [] } }]),
    ])),
    /after its end-of-stream/,
    'even a zero-row batch after eos',
  )
})

t.test('a column of the wrong type is a protocol error naming column, table and types', async (t) => {
  t.match(protocolMessage(failureOf([INT_TABLE, batchResponse('abc', 1, [{ string_data: { data: ['200'] } }])])),
    /column "http_status" of table "http_table": expected INT64, got STRING/,
    'type mismatch',
  )
})

t.test('a wrong number of columns is a protocol error', async (t) => {
  t.match(protocolMessage(failureOf([INT_TABLE, batchResponse('abc', 1, [{ int64_data: { data: ['1'] } }, { int64_data: { data: ['2'] } }])])),
    /has 2 columns, the relation has 1/,
    'column count mismatch',
  )
})

t.test('a column length different from num_rows is a protocol error', async (t) => {
  t.match(protocolMessage(failureOf([INT_TABLE, batchResponse('abc', 3, [{ int64_data: { data: ['1', '2'] } }])])),
    /has 2 values, the batch says num_rows 3/,
    'length mismatch',
  )
})

t.test('duplicate metadata is a protocol error', async (t) => {
  t.match(protocolMessage(failureOf([INT_TABLE, INT_TABLE])), /duplicate metadata for table id "abc"/, 'same id twice')
})

t.test('a relation with an unsupported column type is a protocol error', async (t) => {
  t.match(protocolMessage(failureOf([metadataResponse('x', 'x', [{ name: 'c', type: 0 }])])), /unsupported type 0/, 'DATA_TYPE_UNKNOWN')
})

t.test('a table without eos at the end is a protocol error', async (t) => {
  t.match(protocolMessage(failureOf([INT_TABLE, batchResponse('abc', 1, [{ int64_data: { data: ['1'] } }]), statsResponse()])),
    /table "http_table" \(id abc\) ended without end-of-stream/,
    'missing eos detected at finish',
  )
})

t.test('an encrypted batch is a protocol error', async (t) => {
  t.match(protocolMessage(failureOf([INT_TABLE, { query_id: 'q', data: { encrypted_batch: Buffer.from('eyJhbGciOi.x.y.z.w') } }])),
    /encrypted batches are not supported \(encryption is not requested\)/,
    'encrypted batch refused',
  )
})

t.test('in-band compiler errors become PixieCompileError with positions', async (t) => {
  const error = inBandStatusError(
    onTheWire(
      statusResponse(3, 'Compilation failed', [
        { line: 1, column: 2, message: "name 'aa' is not defined" },
        { line: 2, column: 2, message: 'Indentation error' },
      ]),
    ).status,
    SOURCE,
  )
  t.ok(error instanceof PixieCompileError, 'compile error class')
  t.same(
    (error as PixieCompileError).compilerErrors,
    [
      { line: 1, column: 2, message: "name 'aa' is not defined" },
      { line: 2, column: 2, message: 'Indentation error' },
    ],
    'both errors with numeric line and column',
  )
  t.match(error?.message, /1:2 name 'aa' is not defined; 2:2 Indentation error/, 'message lists both')
  t.equal(error?.grpcCode, 3, 'code kept')
})

t.test('in-band code 3 without details is an invalid-arguments query error', async (t) => {
  const error = inBandStatusError(onTheWire(statusResponse(3, 'Script should not be empty.')).status, SOURCE)
  t.ok(error instanceof PixieQueryError, 'query error class')
  t.match(error?.message, /invalid\/missing arguments: Script should not be empty\./, 'message as Pixie clients word it')
})

t.test('in-band code 0 with a message is a failure', async (t) => {
  const error = inBandStatusError(onTheWire(statusResponse(0, 'Unimplemented: no such UDF')).status, SOURCE)
  t.ok(error instanceof PixieQueryError, 'query error class')
  t.match(error?.message, /no such UDF/, 'server message kept')
})

t.test('an OK in-band status is not a failure', async (t) => {
  t.equal(inBandStatusError(onTheWire(statusResponse(0, '')).status, SOURCE), undefined, 'code 0 without message')
  t.equal(inBandStatusError(null, SOURCE), undefined, 'absent status')
})

t.test('the assembler throws the in-band failure', async (t) => {
  const error = failureOf([INT_TABLE, statusResponse(13, 'boom')])
  t.ok(error instanceof PixieQueryError, 'query error class')
  t.match((error as Error).message, /boom/, 'server message kept')
})
