/**
 * The Pixie API SIMULATOR: a real gRPC server speaking Pixie's public
 * `px.api.vizierpb.VizierService` (ExecuteScript, HealthCheck) whose data comes
 * from a {@link Scenario}, never from a cluster. It answers only
 * pixie-exporter's built-in scripts (the HTTP script and the library
 * collectors', see ./library/) and the scenario's custom tables; any other
 * script gets the compile error a real Pixie would send for a script it
 * cannot compile.
 *
 * It exists for tests, demos and benchmarks. Everything it logs carries
 * `simulated: true` so that simulated data is never mistaken for real data.
 */
import * as grpc from '@grpc/grpc-js'
import { randomUUID } from 'node:crypto'
import { createServer, type Server as HttpServer } from 'node:http'
import type { Logger } from 'pino'
import { encryptBatch } from '../pixie/jwe.js'
import { SIMULATOR_HEADER, encodeRowBatch, vizierServiceDefinition, type Wire } from '../pixie/proto.js'
import {
  HTTP_POD_COUNTS_TABLE,
  HTTP_POD_STATS_COLUMNS,
  HTTP_POD_STATS_TABLE,
  httpPodCountsColumns,
  HTTP_POD_NATIVE_BUCKETS_COLUMNS,
  HTTP_POD_NATIVE_BUCKETS_TABLE,
  parseHttpPodStatsScript,
} from '../pixie/scripts/http-pod-stats.js'
import { formatDuration } from '../duration.js'
import { answerScript, tableColumns, type ScriptAnswer } from './library/index.js'
import { simulateHttpPodCounts, type HttpPodCountsRows, type HttpPodNativeBucketRows } from './http-pod-counts.js'
import { simulateHttpPodStats, type HttpPodStatsRows } from './http-pod-stats.js'
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

/** Message of the compile error sent for every script the simulator does not know. */
export const UNSUPPORTED_SCRIPT_MESSAGE = "simulator: unsupported script (only pixie-exporter's built-in scripts are simulated)"
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

function float64Column(values: readonly number[]): Wire.Column {
  return { float64_data: { data: [...values] } }
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

/** The columns of rows [from, to) of the `http_pod_native_buckets` table, in relation order. */
function nativeColumnsOf(rows: HttpPodNativeBucketRows, from: number, to: number): Wire.Column[] {
  return [
    stringColumn(rows.namespace.slice(from, to)),
    stringColumn(rows.pod.slice(from, to)),
    stringColumn(rows.service.slice(from, to)),
    int64Column(rows.bucket.slice(from, to)),
    int64Column(rows.count.slice(from, to)),
  ]
}

function countColumnsOf(rows: HttpPodCountsRows, from: number, to: number): Wire.Column[] {
  return [
    stringColumn(rows.namespace.slice(from, to)),
    stringColumn(rows.pod.slice(from, to)),
    stringColumn(rows.service.slice(from, to)),
    int64Column(rows.requests.slice(from, to)),
    ...rows.byClass.map((c) => int64Column(c.slice(from, to))),
    int64Column(rows.latencySumNs.slice(from, to)),
    ...rows.buckets.map((c) => int64Column(c.slice(from, to))),
  ]
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

/** The columns of rows [from, to) of the table, in relation order. */
function columnsOf(rows: HttpPodStatsRows, from: number, to: number): Wire.Column[] {
  return [
    stringColumn(rows.namespace.slice(from, to)),
    stringColumn(rows.pod.slice(from, to)),
    stringColumn(rows.service.slice(from, to)),
    int64Column(rows.requests.slice(from, to)),
    int64Column(rows.errors.slice(from, to)),
    float64Column(rows.latencyP50Ns.slice(from, to)),
    float64Column(rows.latencyP90Ns.slice(from, to)),
    float64Column(rows.latencyP99Ns.slice(from, to)),
  ]
}

/**
 * Starts the simulator and resolves once it listens.
 *
 * ExecuteScript accepts any `cluster_id`, checks `pixie-api-key` only when the
 * scenario sets `apiKey`, and answers in Pixie's stream order: the metadata of
 * every table (`http_pod_stats`, then `http_pod_counts` when the script asks
 * for counts), the tables' row batches interleaved (each table with a zero-row
 * keep-alive batch before its last one, which has eow/eos), execution stats,
 * then OK. Faults from the scenario change
 * that as documented in docs/scenarios.md.
 */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const { scenario } = options
  const now = options.now ?? Date.now
  const startedAt = options.startedAt ?? now()
  const batchRows = options.batchRows ?? 1_000
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

  /** Answers a custom or library script: one table, in the same stream order and with the same faults as the HTTP script. */
  function writeTable(call: ExecuteCall, queryId: string, answer: ScriptAnswer & { kind: 'table' }, fault: ScenarioFault | undefined, qlog: Logger): void {
    const began = process.hrtime.bigint()
    const { table } = answer
    const tableId = randomUUID()
    call.write(metadata(queryId, table.name, tableId, table.columns))
    const batch = (from: number, to: number, eos: boolean): Wire.ExecuteScriptResponse => ({
      query_id: queryId,
      status: null,
      data: { batch: { cols: tableColumns(table, from, to), num_rows: String(to - from), eow: eos, eos, table_id: tableId }, execution_stats: null, encrypted_batch: Buffer.alloc(0) },
      mutation_info: null,
    })
    if (fault?.kind === 'cut') {
      call.write(batch(0, Math.min(batchRows, table.rows.length), false))
      qlog.info({ fault: fault.kind, script: answer.script }, 'simulated fault: stream cut after the first batch')
      fail(call, grpc.status.INTERNAL, CUT_MESSAGE)
      return
    }
    const batches = tableBatches(table.rows.length, batchRows, batch)
    const last = batches.at(-1)?.data?.batch
    if (fault?.kind === 'malformed' && last != null && table.columns.length > 0) {
      // The first column sent with a type other than the declared one.
      const n = Number(last.num_rows)
      last.cols[0] = table.columns[0]?.type === 'STRING' ? int64Column(new Array<number>(n).fill(0)) : stringColumn(new Array<string>(n).fill(''))
      qlog.info({ fault: fault.kind, script: answer.script }, 'simulated fault: malformed batch (wrong column type)')
    }
    for (const r of batches) call.write(r)
    call.write({
      query_id: queryId,
      status: null,
      data: {
        batch: null,
        execution_stats: {
          timing: { execution_time_ns: String(process.hrtime.bigint() - began), compilation_time_ns: COMPILATION_TIME_NS },
          bytes_processed: String(table.recordsProcessed * BYTES_PER_RECORD),
          records_processed: String(table.recordsProcessed),
        },
        encrypted_batch: Buffer.alloc(0),
      },
      mutation_info: null,
    })
    call.end()
    // Every poll is answered: at info only when a fault shaped the answer, so demo logs stay quiet.
    qlog[fault === undefined ? 'debug' : 'info'](
      { script: answer.script, table: table.name, rows: table.rows.length, truncatedRows: table.truncated, rangeSeconds: answer.rangeSeconds, fault: fault?.kind },
      'simulated query answered',
    )
  }

  async function executeScript(call: ExecuteCall): Promise<void> {
    const queryId = randomUUID()
    const qlog = log.child({ queryId })
    // Say so in the response headers: a client (our exporter) can then label
    // everything it shows as simulated, however it was started.
    const headers = new grpc.Metadata()
    headers.set(SIMULATOR_HEADER, 'true')
    call.sendMetadata(headers)
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
    const answer = answerScript(call.request, { scenario, traffic, startedAt })
    if (answer?.kind === 'compile-error') {
      qlog.info('simulated query refused: compile error')
      compileError(call, queryId, answer.line, answer.column, answer.message)
      return
    }
    if (answer !== undefined) {
      writeTable(call, queryId, answer, fault, qlog)
      return
    }
    const parsed = parseHttpPodStatsScript(call.request.query_str)
    const params = parsed === undefined || options.ignoreRowLimit !== true ? parsed : { ...parsed, maxRows: Number.MAX_SAFE_INTEGER }
    if (params === undefined) {
      qlog.info('simulated query refused: unsupported script')
      compileError(call, queryId, 1, 1, UNSUPPORTED_SCRIPT_MESSAGE)
      return
    }

    const began = process.hrtime.bigint()
    const rows = simulateHttpPodStats(traffic, params, startedAt)
    const counts = simulateHttpPodCounts(traffic, params, startedAt)
    const tableId = randomUUID()
    const countsId = randomUUID()
    const nativeId = randomUUID()
    const native = counts?.native
    call.write(metadata(queryId, HTTP_POD_STATS_TABLE, tableId, HTTP_POD_STATS_COLUMNS))
    if (counts !== undefined) call.write(metadata(queryId, HTTP_POD_COUNTS_TABLE, countsId, httpPodCountsColumns(counts.bucketsNs.length)))
    if (native !== undefined) call.write(metadata(queryId, HTTP_POD_NATIVE_BUCKETS_TABLE, nativeId, HTTP_POD_NATIVE_BUCKETS_COLUMNS))
    // With encryption_options, every batch goes out as a JWE for the client's
    // key, as Vizier does (metadata and stats stay in the clear).
    const jwk = call.request.encryption_options?.jwk_key
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
    const batch = (from: number, to: number, eos: boolean): Wire.ExecuteScriptResponse => response(tableId, columnsOf(rows, from, to), to - from, eos)

    if (fault?.kind === 'cut') {
      call.write(batch(0, Math.min(batchRows, rows.length), false))
      qlog.info({ fault: fault.kind }, 'simulated fault: stream cut after the first batch')
      fail(call, grpc.status.INTERNAL, CUT_MESSAGE)
      return
    }

    const statsBatches = tableBatches(rows.length, batchRows, batch)
    if (fault?.kind === 'malformed') {
      // Declared STRING, sent as INT64: a protocol violation clients must detect.
      const cols = statsBatches.at(-1)?.data?.batch?.cols
      if (cols !== undefined) cols[0] = int64Column(new Array<number>(Number(statsBatches.at(-1)?.data?.batch?.num_rows ?? 0)).fill(0))
      qlog.info({ fault: fault.kind }, 'simulated fault: malformed batch (wrong column type)')
    }
    const countBatches =
      counts === undefined ? [] : tableBatches(counts.length, batchRows, (from, to, eos) => response(countsId, countColumnsOf(counts, from, to), to - from, eos))
    const nativeBatches =
      native === undefined ? [] : tableBatches(native.length, batchRows, (from, to, eos) => response(nativeId, nativeColumnsOf(native, from, to), to - from, eos))
    for (const r of interleave([statsBatches, countBatches, nativeBatches])) call.write(r)
    const records = rows.recordsProcessed + (counts?.recordsProcessed ?? 0)
    call.write({
      query_id: queryId,
      status: null,
      data: {
        batch: null,
        execution_stats: {
          timing: { execution_time_ns: String(process.hrtime.bigint() - began), compilation_time_ns: COMPILATION_TIME_NS },
          bytes_processed: String(records * BYTES_PER_RECORD),
          records_processed: String(records),
        },
        encrypted_batch: Buffer.alloc(0),
      },
      mutation_info: null,
    })
    call.end()
    // A correct exporter discards a malformed or cancelled answer, so only complete ones count.
    if (counts !== undefined && fault?.kind !== 'malformed' && !call.cancelled) groundTruth.record(counts)
    qlog[fault === undefined ? 'debug' : 'info'](
      {
        script: HTTP_POD_STATS_TABLE,
        rows: rows.length,
        truncatedRows: rows.truncated,
        windowSeconds: Number(params.endNs - params.startNs) / 1e9,
        ...(counts === undefined
          ? {}
          : { countRows: counts.length, truncatedCountRows: counts.truncated, countSeconds: (counts.endMs - counts.startMs) / 1_000 }),
        ...(native === undefined ? {} : { nativeBucketRows: native.length, truncatedNativeBucketRows: native.truncated }),
        fault: fault?.kind,
      },
      'simulated query answered',
    )
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
