/**
 * What a table answerer is: one small module per query the simulator knows,
 * registered in ./index.ts. An answerer is chosen by the request's
 * `query_name`; it reads its parameters from Pixie's standard `exec_funcs`
 * (function name, string arguments, output table prefix) and the plugin time
 * range (`configs.plugin_config`), never from the PxL text, and produces
 * tables from the scenario model. Each answerer declares its tables'
 * relations itself, as Pixie would send them: these are facts duplicated on
 * purpose, independent of the exporter's code, so that the simulator catches
 * the exporter's mistakes instead of sharing them.
 */
import type { Wire } from '../../pixie/proto.js'
import type { Scenario } from '../scenario.js'
import type { PodTraffic } from '../traffic.js'
import type { GroundTruth } from '../truth.js'

/** Pixie's column data types that the simulator sends. */
export type SimColumnType = 'BOOLEAN' | 'INT64' | 'FLOAT64' | 'STRING' | 'TIME64NS'

/** One column of a table's relation. */
export interface SimColumn {
  readonly name: string
  readonly type: SimColumnType
}

/** A cell value: STRING as string, INT64/TIME64NS as number or decimal string, FLOAT64 as number, BOOLEAN as boolean. */
export type CellValue = string | number | boolean

/** One result table, ready to be sent in batches. */
export interface SimTable {
  /** The table name Pixie gives it: the function's `output_table_prefix` (or the `px.display` name). */
  readonly name: string
  readonly columns: readonly SimColumn[]
  /** Rows sent. */
  readonly length: number
  /** Rows dropped by `max_output_rows_per_table`. */
  readonly truncated: number
  /** The columns of rows [from, to), in relation order. */
  cols(from: number, to: number): Wire.Column[]
}

/** One `FuncToExecute` of the request, arguments by name. */
export interface FuncCall {
  readonly funcName: string
  readonly args: ReadonlyMap<string, string>
  readonly outputTablePrefix: string
}

/** What an answerer gets besides the calls. */
export interface AnswerContext {
  readonly scenario: Scenario
  readonly traffic: readonly PodTraffic[]
  /** Scenario time zero, ms since the epoch. */
  readonly startedAt: number
  /** Rows per table at most: the script's `max_output_rows_per_table` (Pixie's default 10,000). */
  readonly maxRows: number
  /** `configs.plugin_config` as absolute ns, when the request carries it. */
  readonly plugin: { readonly startNs: bigint; readonly endNs: bigint } | undefined
  /** The ground truth of `GET /truth`: answerers of counted tables record complete answers in it. */
  readonly truth: GroundTruth
}

/** An answer: the tables in the order of the calls, and what the execution stats and logs report. */
export interface Answer {
  readonly tables: readonly SimTable[]
  /** Pixie's records processed (events or samples read). */
  readonly recordsProcessed: number
  /** Extra fields for the "simulated query answered" log line. */
  readonly logFields?: Readonly<Record<string, unknown>>
  /** Called once the whole answer went out unaltered (not cut, not malformed, not cancelled). */
  readonly onComplete?: () => void
}

/** The parameter types of PxL functions that the exec_funcs arguments are parsed into. */
export type ParamType = 'int' | 'float' | 'str'

/** A PxL function an answerer can execute: its name and typed parameters. */
export interface FunctionSignature {
  readonly name: string
  readonly params: readonly { readonly name: string; readonly type: ParamType }[]
  /** Further parameters accepted by name pattern (e.g. `le_<i>` bucket bounds), all of this type. */
  readonly extra?: { readonly pattern: RegExp; readonly type: ParamType }
}

/** One module answering one `query_name`. */
export interface Answerer {
  /** The request's `query_name` this answerer serves. */
  readonly queryName: string
  /** The functions it executes. A request must call each at most once. */
  readonly functions: readonly FunctionSignature[]
  /** Needs `configs.plugin_config` (the script reads `px.plugin.start_time` / `end_time`). */
  readonly needsPluginTime?: boolean
  /** Computes the tables; the calls were already checked against {@link functions}. */
  answer(calls: readonly FuncCall[], context: AnswerContext): Answer
}

/**
 * A compile error, as Pixie reports it: INVALID_ARGUMENT with a
 * `compiler_error` detail. Errors about exec_funcs have line 0, column 0, as
 * in Pixie's planner (which has no source position for them).
 */
export class SimCompileError extends Error {
  readonly line: number
  readonly column: number
  constructor(message: string, line = 0, column = 0) {
    super(message)
    this.name = new.target.name
    this.line = line
    this.column = column
  }
}

/** The argument `name` of a call, which {@link checkCalls} has checked is present and well typed. */
export function arg(call: FuncCall, name: string): string {
  const value = call.args.get(name)
  if (value === undefined) throw new SimCompileError(`Function '${call.funcName}' is missing the argument '${name}'.`)
  return value
}

/** An `int` argument as a bigint. */
export function intArg(call: FuncCall, name: string): bigint {
  return BigInt(arg(call, name))
}

/** A `float` argument. */
export function floatArg(call: FuncCall, name: string): number {
  return Number(arg(call, name))
}

/**
 * The predicate of a `str` argument used as a `px.regex_match` pattern.
 * Carnot matches with RE2's FullMatch: the whole value must match.
 */
export function regexArg(call: FuncCall, name: string): (value: string) => boolean {
  const pattern = arg(call, name)
  let re: RegExp
  try {
    re = new RegExp(`^(?:${pattern})$`, 'u')
  } catch {
    throw new SimCompileError(`Function '${call.funcName}': argument '${name}' is not a valid regular expression: '${pattern}'.`)
  }
  return (value) => re.test(value)
}

const INT64_TEXT = /^-?\d{1,19}$/

function parses(value: string, type: ParamType): boolean {
  switch (type) {
    case 'int':
      return INT64_TEXT.test(value) && BigInt(value) >= -(2n ** 63n) && BigInt(value) < 2n ** 63n
    case 'float':
      return value.trim() !== '' && Number.isFinite(Number(value))
    case 'str':
      return true
  }
}

const TYPE_WORD: Readonly<Record<ParamType, string>> = { int: 'int64', float: 'float64', str: 'string' }

/**
 * Checks the request's exec_funcs against the answerer's functions the way
 * Pixie's compiler does (messages follow Pixie's wording): every function
 * exists, has an output table prefix, gets only arguments it declares, each
 * parsable as its type, and no declared argument is missing (the simulator's
 * functions have no defaults).
 */
export function checkCalls(answerer: Answerer, calls: readonly FuncCall[]): void {
  if (calls.length === 0) throw new SimCompileError('query does not output a result, please add a px.display() statement')
  const seen = new Set<string>()
  for (const call of calls) {
    if (call.funcName === '') throw new SimCompileError('Must specify func_name for each FuncToExecute.')
    if (call.outputTablePrefix === '') throw new SimCompileError(`Output_table_prefix must be specified for function ${call.funcName}.`)
    const fn = answerer.functions.find((f) => f.name === call.funcName)
    if (fn === undefined) throw new SimCompileError(`Function to execute, '${call.funcName}', not found.`)
    if (seen.has(call.funcName)) throw new SimCompileError(`simulator: function '${call.funcName}' is called twice in one request`)
    seen.add(call.funcName)
    for (const [name, value] of call.args) {
      const type = fn.params.find((p) => p.name === name)?.type ?? (fn.extra?.pattern.test(name) === true ? fn.extra.type : undefined)
      if (type === undefined) throw new SimCompileError(`Function '${call.funcName}' does not have an argument called '${name}'`)
      if (!parses(value, type)) throw new SimCompileError(`Failed to parse arg with value '${value}' as ${TYPE_WORD[type]}.`)
    }
    for (const p of fn.params) {
      if (!call.args.has(p.name)) throw new SimCompileError(`Function '${call.funcName}' is missing the argument '${p.name}'.`)
    }
  }
}

/** The columns of a row-major table, rows [from, to), in relation order. */
export function rowColumns(columns: readonly SimColumn[], rows: readonly (readonly CellValue[])[], from: number, to: number): Wire.Column[] {
  const slice = rows.slice(from, to)
  return columns.map((c, i) => column(c.type, slice.map((r) => r[i] ?? '')))
}

/** A row-major table with Pixie's row limit applied. */
export function rowTable(name: string, columns: readonly SimColumn[], rows: readonly (readonly CellValue[])[], maxRows: number): SimTable {
  const kept = rows.slice(0, maxRows)
  return { name, columns, length: kept.length, truncated: rows.length - kept.length, cols: (from, to) => rowColumns(columns, kept, from, to) }
}

/** One column of values of `type`. */
export function column(type: SimColumnType, values: readonly CellValue[]): Wire.Column {
  switch (type) {
    case 'STRING':
      return { string_data: { data: values.map((v) => Buffer.from(String(v))) } }
    case 'FLOAT64':
      return { float64_data: { data: values.map(Number) } }
    case 'BOOLEAN':
      return { boolean_data: { data: values.map((v) => v === true) } }
    case 'TIME64NS':
      return { time64ns_data: { data: values.map((v) => String(v)) } }
    case 'INT64':
      return { int64_data: { data: values.map((v) => String(v)) } }
  }
}
