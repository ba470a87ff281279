/**
 * The Pixie API SIMULATOR: a real gRPC server speaking Pixie's public
 * `px.api.vizierpb.VizierService` (ExecuteScript, HealthCheck) whose data comes
 * from a {@link Scenario}, never from a cluster. It depends only on Pixie's
 * protocol: it answers a request by its `query_name` (a scenario's custom
 * table, or one of the table answerers in ./answerers/), the parameters in
 * its `exec_funcs`, the plugin time range and the `#px:set
 * max_output_rows_per_table` flag, never by reading the PxL. Any other query
 * gets the compile error a real Pixie would send for a script it cannot
 * compile.
 *
 * It exists for tests, demos and benchmarks. Everything it logs carries
 * `simulated: true` so that simulated data is never mistaken for real data.
 */
import * as grpc from '@grpc/grpc-js'
import { randomUUID } from 'node:crypto'
import { createServer, type Server as HttpServer } from 'node:http'
import type { Logger } from 'pino'
import { encryptBatch } from '../pixie/jwe.js'
import { encodeRowBatch, vizierServiceDefinition, type Wire } from '../pixie/proto.js'
import { answererFor, checkCalls, rowTable, SimCompileError, type Answer, type AnswerContext, type Answerer, type FuncCall, type SimTable } from './answerers/index.js'
import { formatDuration } from '../duration.js'
import { maxOutputRows } from './query-flags.js'
import type { Scenario, ScenarioFault } from './scenario.js'
import { buildTraffic, type PodTraffic } from './traffic.js'
import { GroundTruth, type SimulatorTruth } from './truth.js'

// The CLI loads scenario files through this module.
export { loadScenarioFile, parseScenario } from './scenario.js'

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  readonly scenario: Scenario
  /** `host:port`; port 0 picks a free port (see {@link RunningSimulator.address}). */
  readonly listen: string
  readonly logger: Logger
  /** Clock, milliseconds since the epoch. Default `Date.now`. Faults and traffic follow it. */
  readonly now?: () => number
  /** Scenario time zero, milliseconds since the epoch. Default: `now()` when the server starts. */
  readonly startedAt?: number
  /** Serve TLS with this PEM certificate chain and key instead of plaintext. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer }
  /** Rows per data batch. Default 1,000. */
  readonly batchRows?: number
  /** Interval between HealthCheck answers. Default 5,000 ms, as Pixie's query broker. */
  readonly healthIntervalMs?: number
  /**
   * `host:port` of a plain HTTP server answering `GET /truth` with
   * {@link RunningSimulator.truth} as JSON; port 0 picks a free port. Default:
   * no HTTP server. Keep it on loopback: it is meant for tests and demos.
   */
  readonly truthListen?: string
  /**
   * Behave like a Pixie (or a proxy) that ignores the script's
   * `max_output_rows_per_table` and sends every row: for adversarial tests
   * and bench/memory.mjs. Default false.
   */
  readonly ignoreRowLimit?: boolean
  /** The table answerers, by query_name. Default: every built-in one (./answerers/index.ts). */
  readonly answerers?: readonly Answerer[]
}

/** A started simulator. */
export interface RunningSimulator {
  /** `host:port` actually bound. */
  readonly address: string
  /** Scenario time zero, milliseconds since the epoch. */
  readonly startedAt: number
  /** `host:port` of the `GET /truth` server, when {@link SimulatorOptions.truthListen} was given. */
  readonly truthAddress?: string
  /**
   * Ground truth: per pod, the sums of every `http_pod_counts` row sent in a
   * complete answer (a call that was cut, malformed or cancelled is not
   * recorded), plus the phase serving now.
   */
  truth(): SimulatorTruth
  /** Stops the server, cancelling open calls (HealthCheck streams never end by themselves). */
  close(): Promise<void>
}

/** The compile error sent for a `query_name` the simulator has no answerer (nor custom table) for. */
export function unsupportedQueryMessage(queryName: string): string {
  return `simulator: no table answerer for query_name ${JSON.stringify(queryName)}: the simulator answers only pixie-exporter's built-in queries and the scenario's customTables, by query_name`
}
/** Message of the injected `compile-error` fault (reported at line 3, column 5). */
export const INJECTED_COMPILE_ERROR_MESSAGE = 'simulator: injected compile error'
/** gRPC details of the `unavailable` fault (Pixie cloud says "cluster is not in a healthy state"). */
export const UNAVAILABLE_MESSAGE = 'simulator: cluster is not in a healthy state'
/** gRPC details of the `cut` fault; contains RST_STREAM like the transient errors Pixie clients retry. */
export const CUT_MESSAGE = 'simulator: stream cut (RST_STREAM)'
/** gRPC details when the API key is wrong; Pixie's auth middleware fails with INTERNAL, not UNAUTHENTICATED. */
export const AUTH_FAILED_MESSAGE = 'Auth middleware failed: simulator: invalid or missing pixie-api-key'
/** Sent when `query_str` is empty (a resume request, which the simulator does not support, like old Viziers). */
export const EMPTY_QUERY_MESSAGE = 'Query should not be empty.'

const DATA_TYPE: Readonly<Record<string, number>> = { BOOLEAN: 1, INT64: 2, UINT128: 3, FLOAT64: 4, STRING: 5, TIME64NS: 6 }
const SEMANTIC_TYPE: Readonly<Record<string, number>> = {
  namespace: 700, // ST_NAMESPACE_NAME
  pod: 400, // ST_POD_NAME
  service: 300, // ST_SERVICE_NAME
  requests: 1, // ST_NONE
  errors: 1,
  latency_p50_ns: 901, // ST_DURATION_NS
  latency_p90_ns: 901,
  latency_p99_ns: 901,
  latency_sum_ns: 901,
}
// A fixed compile time keeps stats deterministic; execution time is measured.
const COMPILATION_TIME_NS = '2500000'
// Pixie counts bytes of http_events read; a typical record is a few hundred bytes.
const BYTES_PER_RECORD = 256

type ExecuteCall = grpc.ServerWritableStream<Wire.ExecuteScriptRequest, Wire.ExecuteScriptResponse>
type HealthCall = grpc.ServerWritableStream<Wire.HealthCheckRequest, Wire.HealthCheckResponse>

/** Ends a call with a gRPC error after every message already written. */
function fail(call: ExecuteCall | HealthCall, code: grpc.status, details: string): void {
  call.emit('error', Object.assign(new Error(details), { code, details }))
}

function okStatus(): Wire.Status {
  return { code: 0, message: '', error_details: [] }
}

function splitListen(listen: string): string {
  const colon = listen.lastIndexOf(':')
  if (colon <= 0) throw new TypeError(`listen must be host:port, got ${JSON.stringify(listen)}`)
  return listen.slice(0, colon)
}

function stringColumn(values: readonly string[]): Wire.Column {
  return { string_data: { data: values.map((v) => Buffer.from(v)) } }
}

function int64Column(values: readonly number[]): Wire.Column {
  return { int64_data: { data: values.map((v) => String(v)) } }
}

/** The metadata response announcing a table. */
function metadata(queryId: string, name: string, id: string, columns: readonly { name: string; type: string }[]): Wire.ExecuteScriptResponse {
  return {
    query_id: queryId,
    status: null,
    meta_data: {
      name,
      id,
      relation: {
        columns: columns.map((c) => ({
          column_name: c.name,
          column_type: DATA_TYPE[c.type] ?? 0,
          column_desc: '',
          column_semantic_type: SEMANTIC_TYPE[c.name] ?? 1,
        })),
      },
    },
    mutation_info: null,
  }
}

/**
 * The row batches of one table: full batches of `batchRows`, a zero-row
 * keep-alive batch (Carnot sends those on idle streams; clients must accept
 * them) when there are rows, and the last batch with eow/eos.
 */
function tableBatches(
  length: number,
  batchRows: number,
  batch: (from: number, to: number, eos: boolean) => Wire.ExecuteScriptResponse,
): Wire.ExecuteScriptResponse[] {
  const batches: Wire.ExecuteScriptResponse[] = []
  const lastStart = length === 0 ? 0 : Math.floor((length - 1) / batchRows) * batchRows
  for (let from = 0; from < lastStart; from += batchRows) batches.push(batch(from, from + batchRows, false))
  if (length > 0) batches.push(batch(0, 0, false))
  batches.push(batch(lastStart, length, true))
  return batches
}

/** Interleaves the batch lists of several tables, one batch of each in turn, as Pixie does. */
function interleave<T>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = []
  const longest = Math.max(0, ...lists.map((l) => l.length))
  for (let i = 0; i < longest; i++) for (const list of lists) if (i < list.length) out.push(list[i] as T)
  return out
}

function splitHostPort(listen: string): { host: string; port: number } {
  const host = splitListen(listen)
  const port = Number(listen.slice(host.length + 1))
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError(`listen must be host:port, got ${JSON.stringify(listen)}`)
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port }
}

/**
 * Starts the simulator and resolves once it listens.
 *
 * ExecuteScript accepts any `cluster_id`, checks `pixie-api-key` only when the
 * scenario sets `apiKey`, finds the answer by `query_name` (a custom table of
 * the scenario, else a table answerer, which reads the request's exec_funcs
 * and plugin time) and sends it in Pixie's stream order: the metadata of every
 * table (one per FuncToExecute, named by its output_table_prefix), the tables'
 * row batches interleaved (each table with a zero-row keep-alive batch before
 * its last one, which has eow/eos), execution stats, then OK. Faults from the
 * scenario change that as documented in docs/scenarios.md.
 */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const { scenario } = options
  const now = options.now ?? Date.now
  const startedAt = options.startedAt ?? now()
  const batchRows = options.batchRows ?? 1_000
  const answerers = options.answerers
  const healthIntervalMs = options.healthIntervalMs ?? 5_000
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new TypeError('batchRows must be a positive integer')
  const truthTarget = options.truthListen === undefined ? undefined : splitHostPort(options.truthListen)
  const log = options.logger.child({ component: 'simulator', simulated: true, scenario: scenario.name })
  const traffic: PodTraffic[] = buildTraffic(scenario)
  const groundTruth = new GroundTruth(scenario.name, traffic, startedAt)
  const timers = new Set<NodeJS.Timeout>()

  function activeFault(): ScenarioFault | undefined {
    const t = now() - startedAt
    return scenario.faults.find((f) => f.fromMs <= t && t < f.untilMs)
  }

  function authorised(call: ExecuteCall | HealthCall): boolean {
    if (scenario.apiKey === undefined) return true
    const given = call.metadata.get('pixie-api-key')[0]
    return typeof given === 'string' && given === scenario.apiKey
  }

  /** Resolves true after `ms`, or false as soon as the call is cancelled. */
  function hold(call: ExecuteCall, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (call.cancelled) {
        resolve(false)
        return
      }
      const onCancel = (): void => {
        clearTimeout(timer)
        timers.delete(timer)
        resolve(false)
      }
      const timer = setTimeout(() => {
        timers.delete(timer)
        call.off('cancelled', onCancel)
        resolve(true)
      }, ms)
      timers.add(timer)
      call.once('cancelled', onCancel)
    })
  }

  function compileError(call: ExecuteCall, queryId: string, line: number, column: number, message: string): void {
    call.write({
      query_id: queryId,
      status: { code: grpc.status.INVALID_ARGUMENT, message, error_details: [{ compiler_error: { line: String(line), column: String(column), message } }] },
      mutation_info: null,
    })
    fail(call, grpc.status.INVALID_ARGUMENT, message)
  }

  /**
   * Writes an answer in Pixie's stream order: the metadata of every table,
   * the tables' row batches interleaved (each table with a zero-row
   * keep-alive batch before its last one, which has eow/eos; every batch a
   * JWE for the client's key when the request asks for encryption, as Vizier
   * does), execution stats, then OK. The `cut` and `malformed` faults alter it.
   */
  function writeAnswer(call: ExecuteCall, queryId: string, what: string, answer: Answer, fault: ScenarioFault | undefined, qlog: Logger): void {
    const began = process.hrtime.bigint()
    const jwk = call.request.encryption_options?.jwk_key
    const ids = answer.tables.map(() => randomUUID())
    answer.tables.forEach((table, i) => call.write(metadata(queryId, table.name, ids[i] ?? '', table.columns)))
    const response = (id: string, cols: Wire.Column[], numRows: number, eos: boolean): Wire.ExecuteScriptResponse => {
      const batch = { cols, num_rows: String(numRows), eow: eos, eos, table_id: id }
      const encrypted = jwk ? encryptBatch(encodeRowBatch(batch), jwk) : undefined
      return {
        query_id: queryId,
        status: null,
        data: { batch: encrypted ? null : batch, execution_stats: null, encrypted_batch: encrypted ?? Buffer.alloc(0) },
        mutation_info: null,
      }
    }
    const batchesOf = (table: SimTable, id: string) => tableBatches(table.length, batchRows, (from, to, eos) => response(id, table.cols(from, to), to - from, eos))
    const first = answer.tables[0]
    if (fault?.kind === 'cut') {
      if (first !== undefined) call.write(response(ids[0] ?? '', first.cols(0, Math.min(batchRows, first.length)), Math.min(batchRows, first.length), false))
      qlog.info({ fault: fault.kind, query: what }, 'simulated fault: stream cut after the first batch')
      fail(call, grpc.status.INTERNAL, CUT_MESSAGE)
      return
    }
    const lists = answer.tables.map((table, i) => batchesOf(table, ids[i] ?? ''))
    const firstList = lists[0]
    if (fault?.kind === 'malformed' && first !== undefined && firstList !== undefined && first.columns.length > 0) {
      // The first column of the first table's last batch sent with a type
      // other than the declared one: a protocol violation clients must detect.
      const n = first.length - Math.floor(Math.max(0, first.length - 1) / batchRows) * batchRows
      const cols = first.cols(first.length - n, first.length)
      cols[0] = first.columns[0]?.type === 'STRING' ? int64Column(new Array<number>(n).fill(0)) : stringColumn(new Array<string>(n).fill(''))
      firstList[firstList.length - 1] = response(ids[0] ?? '', cols, n, true)
      qlog.info({ fault: fault.kind, query: what }, 'simulated fault: malformed batch (wrong column type)')
    }
    for (const r of interleave(lists)) call.write(r)
    call.write({
      query_id: queryId,
      status: null,
      data: {
        batch: null,
        execution_stats: {
          timing: { execution_time_ns: String(process.hrtime.bigint() - began), compilation_time_ns: COMPILATION_TIME_NS },
          bytes_processed: String(answer.recordsProcessed * BYTES_PER_RECORD),
          records_processed: String(answer.recordsProcessed),
        },
        encrypted_batch: Buffer.alloc(0),
      },
      mutation_info: null,
    })
    call.end()
    if (fault?.kind !== 'malformed' && !call.cancelled) answer.onComplete?.()
    // Every poll is answered: at info only when a fault shaped the answer, so demo logs stay quiet.
    qlog[fault === undefined ? 'debug' : 'info'](
      {
        query: what,
        tables: Object.fromEntries(answer.tables.map((t) => [t.name, { rows: t.length, truncatedRows: t.truncated }])),
        ...answer.logFields,
        fault: fault?.kind,
      },
      'simulated query answered',
    )
  }

  /** The answer to a request: a scenario's custom table, or its answerer's tables. Throws SimCompileError. */
  function answerOf(request: Wire.ExecuteScriptRequest): { what: string; answer: Answer } {
    const queryName = request.query_name
    const maxRows = options.ignoreRowLimit === true ? Number.MAX_SAFE_INTEGER : maxOutputRows(request.query_str)
    const custom = scenario.customTables.find((t) => t.queryName === queryName)
    if (custom !== undefined) {
      const table = rowTable(custom.table, custom.columns, custom.rows, maxRows)
      return { what: `custom:${custom.table}`, answer: { tables: [table], recordsProcessed: custom.rows.length } }
    }
    const answerer = answererFor(queryName, answerers)
    if (answerer === undefined) throw new SimCompileError(unsupportedQueryMessage(queryName), 1, 1)
    const calls: FuncCall[] = (request.exec_funcs ?? []).map((f) => ({
      funcName: f.func_name,
      args: new Map((f.arg_values ?? []).map((a) => [a.name, a.value])),
      outputTablePrefix: f.output_table_prefix,
    }))
    checkCalls(answerer, calls)
    const pluginConfig = request.configs?.plugin_config
    const context: AnswerContext = {
      scenario,
      traffic,
      startedAt,
      maxRows,
      plugin: pluginConfig === null || pluginConfig === undefined ? undefined : { startNs: BigInt(pluginConfig.start_time_ns), endNs: BigInt(pluginConfig.end_time_ns) },
      truth: groundTruth,
    }
    return { what: queryName, answer: answerer.answer(calls, context) }
  }

  async function executeScript(call: ExecuteCall): Promise<void> {
    const queryId = randomUUID()
    const qlog = log.child({ queryId })
    if (!authorised(call)) {
      qlog.info('simulated query refused: wrong pixie-api-key')
      fail(call, grpc.status.INTERNAL, AUTH_FAILED_MESSAGE)
      return
    }
    const fault = activeFault()
    if (fault?.kind === 'unavailable') {
      qlog.info({ fault: fault.kind }, 'simulated fault: cluster unavailable')
      fail(call, grpc.status.UNAVAILABLE, UNAVAILABLE_MESSAGE)
      return
    }
    if (fault?.kind === 'slow') {
      qlog.info({ fault: fault.kind, delay: formatDuration(fault.delayMs) }, 'simulated fault: holding the answer back')
      if (!(await hold(call, fault.delayMs))) {
        qlog.info({ fault: fault.kind }, 'simulated query cancelled by the client')
        return
      }
    }
    if (fault?.kind === 'compile-error') {
      qlog.info({ fault: fault.kind }, 'simulated fault: compile error')
      compileError(call, queryId, 3, 5, INJECTED_COMPILE_ERROR_MESSAGE)
      return
    }
    if (call.request.query_str === '') {
      qlog.info('simulated query refused: empty query (resume is not simulated)')
      call.write({ query_id: queryId, status: { code: grpc.status.INVALID_ARGUMENT, message: EMPTY_QUERY_MESSAGE, error_details: [] }, mutation_info: null })
      fail(call, grpc.status.INVALID_ARGUMENT, EMPTY_QUERY_MESSAGE)
      return
    }
    let answered: { what: string; answer: Answer }
    try {
      answered = answerOf(call.request)
    } catch (err) {
      if (!(err instanceof SimCompileError)) throw err
      qlog.info({ queryName: call.request.query_name, reason: err.message }, 'simulated query refused: compile error')
      compileError(call, queryId, err.line, err.column, err.message)
      return
    }
    writeAnswer(call, queryId, answered.what, answered.answer, fault, qlog)
  }

  function healthCheck(call: HealthCall): void {
    if (!authorised(call)) {
      log.info('simulated health check refused: wrong pixie-api-key')
      fail(call, grpc.status.INTERNAL, AUTH_FAILED_MESSAGE)
      return
    }
    const answer = (): void => {
      const unavailable = activeFault()?.kind === 'unavailable'
      call.write({
        status: unavailable ? { code: grpc.status.UNAVAILABLE, message: UNAVAILABLE_MESSAGE, error_details: [] } : okStatus(),
      })
    }
    answer()
    const timer = setInterval(answer, healthIntervalMs)
    timers.add(timer)
    call.once('cancelled', () => {
      clearInterval(timer)
      timers.delete(timer)
    })
  }

  const server = new grpc.Server()
  server.addService(vizierServiceDefinition(), {
    ExecuteScript: (call: ExecuteCall) => {
      executeScript(call).catch((err: unknown) => {
        log.error({ err }, 'simulator failed to answer a query')
        fail(call, grpc.status.INTERNAL, `simulator: ${(err as Error).message}`)
      })
    },
    HealthCheck: healthCheck,
  })
  const credentials =
    options.tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false)
  const host = splitListen(options.listen)
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.listen, credentials, (err, bound) => (err === null ? resolve(bound) : reject(err)))
  })
  const address = `${host}:${port}`
  const truth = (): SimulatorTruth => groundTruth.snapshot(now())
  let truthServer: HttpServer | undefined
  let truthAddress: string | undefined
  if (truthTarget !== undefined && options.truthListen !== undefined) {
    const target = truthTarget
    truthServer = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]
      if (path !== '/truth') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the simulator serves GET /truth only\n')
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n')
      } else {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(truth()))
      }
    })
    const http = truthServer
    try {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject)
        http.listen(target.port, target.host, () => {
          http.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      server.forceShutdown()
      throw err
    }
    const bound = http.address()
    truthAddress = `${splitListen(options.truthListen)}:${typeof bound === 'object' && bound !== null ? bound.port : target.port}`
    log.info({ truthAddress }, `simulator ground truth at http://${truthAddress}/truth — data is simulated`)
  }
  log.info(
    { address, tls: options.tls !== undefined, pods: scenario.pods.length, faults: scenario.faults.length },
    `Pixie API SIMULATOR listening on ${address} — data is simulated`,
  )

  let closed: Promise<void> | undefined
  return {
    address,
    startedAt,
    ...(truthAddress === undefined ? {} : { truthAddress }),
    truth,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        // HealthCheck streams only end when cancelled, so a graceful shutdown would wait forever.
        server.forceShutdown()
        if (truthServer === undefined) {
          log.info('Pixie API SIMULATOR stopped')
          resolve()
          return
        }
        truthServer.closeAllConnections()
        truthServer.close(() => {
          log.info('Pixie API SIMULATOR stopped')
          resolve()
        })
      })
      return closed
    },
  }
}
