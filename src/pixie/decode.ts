/**
 * Assembly of an `ExecuteScript` response stream into complete tables, and
 * decoding of column values. Pure: no gRPC, no I/O, so every protocol rule can
 * be tested with plain objects. The rules come from pixie-api.md §3 and §5.
 */
import { PixieCompileError, PixieProtocolError, PixieQueryError, PixieResultTooLargeError } from '../errors.js'
import type { CompilerErrorDetail, PixieError } from '../errors.js'
import type { Wire, WireInt64 } from './proto.js'
import type { ColumnInfo, ColumnType, ColumnValues, PixieTable, QueryStats, ScriptResult } from './types.js'

/** gRPC code INVALID_ARGUMENT, which Pixie uses for compile errors and bad requests. */
const INVALID_ARGUMENT = 3

/** Pixie's `DataType` enum numbers of the types that carry data. */
const DATA_TYPES: ReadonlyMap<number, ColumnType> = new Map<number, ColumnType>([
  [1, 'BOOLEAN'],
  [2, 'INT64'],
  [3, 'UINT128'],
  [4, 'FLOAT64'],
  [5, 'STRING'],
  [6, 'TIME64NS'],
])

type ColumnCase = NonNullable<Wire.Column['col_data']>

/** The `Column.col_data` oneof case that carries each column type. */
const CASE_OF_TYPE: Readonly<Record<ColumnType, ColumnCase>> = {
  BOOLEAN: 'boolean_data',
  INT64: 'int64_data',
  UINT128: 'uint128_data',
  FLOAT64: 'float64_data',
  STRING: 'string_data',
  TIME64NS: 'time64ns_data',
}

const TYPE_OF_CASE: ReadonlyMap<string, ColumnType> = new Map(
  Object.entries(CASE_OF_TYPE).map(([type, oneofCase]) => [oneofCase, type as ColumnType]),
)

/**
 * Formats a Pixie `UInt128` as Pixie's clients do: 16 big-endian bytes, `high`
 * then `low`, written as a lowercase UUID (8-4-4-4-12).
 *
 * @param high - the upper 64 bits (as the loader yields them, or bigint)
 * @param low - the lower 64 bits
 */
export function uint128ToUuid(high: WireInt64, low: WireInt64): string {
  const hex =
    BigInt.asUintN(64, int64ToBigInt(high)).toString(16).padStart(16, '0') +
    BigInt.asUintN(64, int64ToBigInt(low)).toString(16).padStart(16, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * An int64/uint64 field as a bigint, exactly: from a Long object (the
 * client's loader options) without going through a string, or from a
 * decimal string, number or bigint. Absent is 0.
 */
export function int64ToBigInt(value: WireInt64 | null | undefined): bigint {
  if (value === null || value === undefined) return 0n
  if (typeof value !== 'object') return BigInt(value)
  const { low, high, unsigned } = value
  // Most values fit in 32 bits: one small bigint, nothing else allocated.
  if (high === 0 && low >= 0) return BigInt(low)
  if (!unsigned && high === -1 && low < 0) return BigInt(low)
  const bits = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)
  return unsigned ? bits : BigInt.asIntN(64, bits)
}

/** Converts a uint64 to a number, for line/column positions. */
function toNumber(value: WireInt64 | undefined): number {
  const n = Number(int64ToBigInt(value ?? 0))
  return Number.isFinite(n) ? n : 0
}

/**
 * Turns an in-band `Status` into the error it reports, or `undefined` when it
 * reports success. Pixie maps some internal failures to code 0 with a message
 * (pixie-api.md §3.3), so a non-empty message or any error detail counts as a
 * failure even with code 0.
 *
 * @param status - the response's `status` (null or absent means OK)
 * @param source - where the status came from (the address), for messages
 */
export function inBandStatusError(status: Wire.Status | null | undefined, source: string): PixieError | undefined {
  if (status === null || status === undefined) return undefined
  const details = status.error_details ?? []
  const message = status.message ?? ''
  if (status.code === 0 && details.length === 0 && message === '') return undefined

  const compilerErrors: CompilerErrorDetail[] = []
  for (const detail of details) {
    const ce = detail.compiler_error
    if (ce !== null && ce !== undefined) {
      compilerErrors.push({ line: toNumber(ce.line), column: toNumber(ce.column), message: ce.message })
    }
  }
  const code = status.code === 0 ? undefined : status.code
  if (compilerErrors.length > 0) return new PixieCompileError(compilerErrors, code)
  if (status.code === INVALID_ARGUMENT) {
    return new PixieQueryError(`Pixie at ${source} rejected the script: invalid/missing arguments: ${message}`, code)
  }
  const text = message === '' ? 'no message' : message
  return new PixieQueryError(`Pixie at ${source} reported a script failure (status code ${status.code}): ${text}`, code)
}

function emptyValues(type: ColumnType): ColumnValues {
  // Each branch builds a fresh array of the right element type.
  switch (type) {
    case 'BOOLEAN':
      return { type, values: [] }
    case 'INT64':
      return { type, values: [] }
    case 'TIME64NS':
      return { type, values: [] }
    case 'UINT128':
      return { type, values: [] }
    case 'FLOAT64':
      return { type, values: [] }
    case 'STRING':
      return { type, values: [] }
  }
}

/**
 * The oneof case a column carries. The loader names it in `col_data`; the
 * fallback looks for the set field, for objects built without the loader.
 */
function columnCase(column: Wire.Column): ColumnCase | undefined {
  if (column.col_data !== undefined) return column.col_data
  for (const c of TYPE_OF_CASE.keys()) {
    const key = c as ColumnCase
    if (column[key] !== undefined && column[key] !== null) return key
  }
  return undefined
}

/** Length of the data array of a column's set oneof case (0 when absent). */
function columnLength(column: Wire.Column, oneofCase: ColumnCase): number {
  return column[oneofCase]?.data?.length ?? 0
}

/**
 * Appends a column's values to `target`, converting as documented on
 * {@link ColumnValues}. The caller has checked that the case matches.
 */
function appendColumn(target: ColumnValues, column: Wire.Column, strings: Map<string, string>): void {
  // Plain indexed loops: this runs once per cell and must not allocate beyond the value itself.
  switch (target.type) {
    case 'BOOLEAN': {
      const src = column.boolean_data?.data ?? []
      const out = target.values
      for (let i = 0; i < src.length; i++) out.push(src[i] === true)
      return
    }
    case 'INT64':
    case 'TIME64NS': {
      const src = (target.type === 'INT64' ? column.int64_data?.data : column.time64ns_data?.data) ?? []
      const out = target.values
      for (let i = 0; i < src.length; i++) out.push(int64ToBigInt(src[i]))
      return
    }
    case 'UINT128': {
      const src = column.uint128_data?.data ?? []
      const out = target.values
      for (let i = 0; i < src.length; i++) {
        const v = src[i]
        out.push(uint128ToUuid(v?.high ?? 0n, v?.low ?? 0n))
      }
      return
    }
    case 'FLOAT64': {
      const src = column.float64_data?.data ?? []
      const out = target.values
      // Number() keeps NaN and ±Infinity, and also accepts the strings a JSON-mode loader would give.
      for (let i = 0; i < src.length; i++) out.push(Number(src[i]))
      return
    }
    case 'STRING': {
      const src = column.string_data?.data ?? []
      const out = target.values
      // Buffer#toString replaces invalid UTF-8 with U+FFFD instead of throwing.
      for (let i = 0; i < src.length; i++) {
        const v: Buffer | string | undefined = src[i]
        const text = typeof v === 'string' ? v : (v?.toString('utf8') ?? '')
        // One string per distinct value: a table repeats the same pod,
        // namespace and service in many rows (450,000 rows for 10,000 pods'
        // native buckets), and a copy per cell would hold tens of MiB.
        let kept = strings.get(text)
        if (kept === undefined) {
          kept = text
          if (strings.size < MAX_INTERNED_STRINGS) strings.set(text, text)
        }
        out.push(kept)
      }
      return
    }
  }
}

/** Distinct string values kept per table while decoding (beyond them, each cell keeps its own copy). */
const MAX_INTERNED_STRINGS = 1 << 16

interface TableState {
  readonly id: string
  readonly name: string
  readonly columns: readonly ColumnInfo[]
  readonly data: ColumnValues[]
  /** Distinct values of the table's STRING cells so far, to share one string per value. */
  readonly strings: Map<string, string>
  numRows: number
  eos: boolean
}

/** What {@link ResultAssembler.accept} did with a response (for logging and tests). */
export type AcceptOutcome = 'metadata' | 'batch' | 'stats' | 'batch+stats' | 'ignored'

/** Options of a {@link ResultAssembler}. */
export interface ResultAssemblerOptions {
  /** Where the stream comes from (the address); used in error messages. */
  readonly source: string
  /**
   * Turns an `encrypted_batch` into its RowBatchData; given when the request
   * asked for end-to-end encryption. Without it an encrypted batch is a
   * protocol error (we never receive one unless we asked).
   */
  readonly decrypt?: (encrypted: Buffer) => Wire.RowBatchData
  /**
   * Hard cap on the rows of one table (the script's
   * `max_output_rows_per_table`): a batch that would take a table past it
   * throws PixieResultTooLargeError before its rows are kept. Default: no cap.
   */
  readonly maxRowsPerTable?: number | undefined
}

/** The error for a table that reached `rows` rows, more than the cap `maxRowsPerTable`. */
export function rowCapError(table: string, rows: number, maxRowsPerTable: number): PixieResultTooLargeError {
  return new PixieResultTooLargeError(
    `table "${table}" sent more than ${maxRowsPerTable} rows (at least ${rows}): Pixie ignored max_output_rows_per_table; the run was cut off and nothing of it was published`,
  )
}

/**
 * Builds a {@link ScriptResult} from the responses of one `ExecuteScript` call,
 * enforcing the stream rules: metadata keyed by unique id, batches routed by
 * `table_id`, columns in relation order with matching types and `num_rows`
 * values each, nothing after a table's `eos`, and every table at `eos` by the end.
 * Every violation throws {@link PixieProtocolError}; a failed in-band status
 * throws the error from {@link inBandStatusError}.
 */
export class ResultAssembler {
  readonly #source: string
  readonly #decrypt: ((encrypted: Buffer) => Wire.RowBatchData) | undefined
  readonly #maxRowsPerTable: number
  readonly #tables = new Map<string, TableState>()
  readonly #names = new Set<string>()
  #queryId = ''
  #stats: QueryStats | undefined
  #rows = 0

  constructor(options: ResultAssemblerOptions) {
    this.#source = options.source
    this.#decrypt = options.decrypt
    this.#maxRowsPerTable = options.maxRowsPerTable ?? Number.POSITIVE_INFINITY
  }

  /** Number of tables announced so far. */
  get tableCount(): number {
    return this.#tables.size
  }

  /** Rows received so far, over all tables. */
  get rowCount(): number {
    return this.#rows
  }

  /**
   * Processes one response.
   *
   * @throws PixieError when the response reports a failure or breaks the protocol
   */
  accept(response: Wire.ExecuteScriptResponse): AcceptOutcome {
    const failure = inBandStatusError(response.status, this.#source)
    if (failure !== undefined) throw failure
    if (this.#queryId === '' && typeof response.query_id === 'string') this.#queryId = response.query_id

    const meta = response.meta_data
    if (meta !== null && meta !== undefined && response.result !== 'data') {
      this.#acceptMetadata(meta)
      return 'metadata'
    }
    const data = response.data
    if (data === null || data === undefined) return 'ignored'

    const encrypted = data.encrypted_batch
    let batch = data.batch
    if (encrypted !== null && encrypted !== undefined && encrypted.length > 0) {
      if (this.#decrypt === undefined) throw this.#protocol('encrypted batches are not supported (encryption is not requested)')
      batch = this.#decrypt(encrypted)
    }
    let outcome: AcceptOutcome = 'ignored'
    if (batch !== null && batch !== undefined) {
      this.#acceptBatch(batch)
      outcome = 'batch'
    }
    if (data.execution_stats !== null && data.execution_stats !== undefined) {
      const s = data.execution_stats
      this.#stats = {
        executionTimeNs: int64ToBigInt(s.timing?.execution_time_ns),
        compilationTimeNs: int64ToBigInt(s.timing?.compilation_time_ns),
        bytesProcessed: int64ToBigInt(s.bytes_processed),
        recordsProcessed: int64ToBigInt(s.records_processed),
      }
      outcome = outcome === 'batch' ? 'batch+stats' : 'stats'
    }
    return outcome
  }

  /**
   * Completes the result after the call ended with status OK.
   *
   * @throws PixieProtocolError when a table has not reached end-of-stream
   */
  finish(): ScriptResult {
    const tables = new Map<string, PixieTable>()
    for (const t of this.#tables.values()) {
      if (!t.eos) throw this.#protocol(`table "${t.name}" (id ${t.id}) ended without end-of-stream`)
      tables.set(t.name, { id: t.id, name: t.name, columns: t.columns, data: t.data, numRows: t.numRows })
    }
    return { queryId: this.#queryId, tables, stats: this.#stats }
  }

  #acceptMetadata(meta: NonNullable<Wire.ExecuteScriptResponse['meta_data']>): void {
    const { id, name } = meta
    if (this.#tables.has(id)) throw this.#protocol(`duplicate metadata for table id "${id}" ("${name}")`)
    // Tables are returned by name, so two tables sharing one would hide one of them.
    if (this.#names.has(name)) throw this.#protocol(`two tables are named "${name}"`)
    const columns: ColumnInfo[] = []
    for (const c of meta.relation?.columns ?? []) {
      const type = DATA_TYPES.get(c.column_type)
      if (type === undefined) {
        throw this.#protocol(`column "${c.column_name}" of table "${name}" has unsupported type ${c.column_type}`)
      }
      columns.push({ name: c.column_name, type, semanticType: c.column_semantic_type })
    }
    this.#tables.set(id, { id, name, columns, data: columns.map((c) => emptyValues(c.type)), strings: new Map(), numRows: 0, eos: false })
    this.#names.add(name)
  }

  #acceptBatch(batch: Wire.RowBatchData): void {
    const table = this.#tables.get(batch.table_id)
    if (table === undefined) throw this.#protocol(`batch for unknown table id "${batch.table_id}"`)
    if (table.eos) throw this.#protocol(`data for table "${table.name}" after its end-of-stream`)
    const numRows = typeof batch.num_rows === 'object' && batch.num_rows !== null ? Number(int64ToBigInt(batch.num_rows)) : Number(batch.num_rows ?? 0)
    const cols = batch.cols ?? []
    if (!Number.isSafeInteger(numRows) || numRows < 0) {
      throw this.#protocol(`batch for table "${table.name}" has invalid num_rows ${String(batch.num_rows)}`)
    }
    // A table without columns carries no values to bound its row count; past 2^53 the count would be inexact.
    if (!Number.isSafeInteger(table.numRows + numRows) || !Number.isSafeInteger(this.#rows + numRows)) {
      throw this.#protocol(`batch for table "${table.name}" takes the row count past ${Number.MAX_SAFE_INTEGER}`)
    }
    if (table.numRows + numRows > this.#maxRowsPerTable) throw rowCapError(table.name, table.numRows + numRows, this.#maxRowsPerTable)
    // An end-of-stream marker may carry no columns at all (pixie-api.md §8); with zero rows it holds no data.
    const bare = numRows === 0 && cols.length === 0
    if (!bare) {
      if (cols.length !== table.columns.length) {
        throw this.#protocol(
          `batch for table "${table.name}" has ${cols.length} columns, the relation has ${table.columns.length}`,
        )
      }
      // Validate every column before appending any, so a bad batch leaves no partial rows behind.
      for (let i = 0; i < cols.length; i++) {
        const info = table.columns[i] as ColumnInfo
        const col = cols[i] as Wire.Column
        const expected = CASE_OF_TYPE[info.type]
        const actual = columnCase(col)
        if (actual !== expected) {
          const got = actual === undefined ? 'no data' : (TYPE_OF_CASE.get(actual) ?? actual)
          throw this.#protocol(`column "${info.name}" of table "${table.name}": expected ${info.type}, got ${got}`)
        }
        const length = columnLength(col, expected)
        if (length !== numRows) {
          throw this.#protocol(
            `column "${info.name}" of table "${table.name}" has ${length} values, the batch says num_rows ${numRows}`,
          )
        }
      }
      for (let i = 0; i < cols.length; i++) appendColumn(table.data[i] as ColumnValues, cols[i] as Wire.Column, table.strings)
    }
    table.numRows += numRows
    this.#rows += numRows
    if (batch.eos) table.eos = true
  }

  #protocol(message: string): PixieProtocolError {
    return new PixieProtocolError(`invalid result stream from Pixie at ${this.#source}: ${message}`)
  }
}
