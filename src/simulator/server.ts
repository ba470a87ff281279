/**
 * The Pixie API SIMULATOR: a real gRPC server speaking Pixie's public
 * `px.api.vizierpb.VizierService` (ExecuteScript, HealthCheck) whose data comes
 * from a {@link Scenario}, never from a cluster. It answers only
 * pixie-exporter's built-in scripts; any other script gets the compile error a
 * real Pixie would send for a script it cannot compile.
 *
 * It exists for tests, demos and benchmarks. Everything it logs carries
 * `simulated: true` so that simulated data is never mistaken for real data.
 */
import * as grpc from '@grpc/grpc-js'
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { vizierServiceDefinition, type Wire } from '../pixie/proto.js'
import { HTTP_POD_STATS_COLUMNS, HTTP_POD_STATS_TABLE, parseHttpPodStatsScript } from '../pixie/scripts/http-pod-stats.js'
import { formatDuration } from './duration.js'
import { simulateHttpPodStats, type HttpPodStatsRows } from './http-pod-stats.js'
import type { Scenario, ScenarioFault } from './scenario.js'
import { buildTraffic, type PodTraffic } from './traffic.js'

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
}

/** A started simulator. */
export interface RunningSimulator {
  /** `host:port` actually bound. */
  readonly address: string
  /** Scenario time zero, milliseconds since the epoch. */
  readonly startedAt: number
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
 * scenario sets `apiKey`, and answers in Pixie's stream order: metadata, row
 * batches (with a zero-row keep-alive batch before the last one), the last
 * batch with eow/eos, execution stats, then OK. Faults from the scenario change
 * that as documented in docs/scenarios.md.
 */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const { scenario } = options
  const now = options.now ?? Date.now
  const startedAt = options.startedAt ?? now()
  const batchRows = options.batchRows ?? 1_000
  const healthIntervalMs = options.healthIntervalMs ?? 5_000
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new TypeError('batchRows must be a positive integer')
  const log = options.logger.child({ component: 'simulator', simulated: true, scenario: scenario.name })
  const traffic: PodTraffic[] = buildTraffic(scenario)
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
    const params = parseHttpPodStatsScript(call.request.query_str)
    if (params === undefined) {
      qlog.info('simulated query refused: unsupported script')
      compileError(call, queryId, 1, 1, UNSUPPORTED_SCRIPT_MESSAGE)
      return
    }

    const began = process.hrtime.bigint()
    const rows = simulateHttpPodStats(traffic, params, startedAt)
    const tableId = randomUUID()
    call.write({
      query_id: queryId,
      status: null,
      meta_data: {
        name: HTTP_POD_STATS_TABLE,
        id: tableId,
        relation: {
          columns: HTTP_POD_STATS_COLUMNS.map((c) => ({
            column_name: c.name,
            column_type: DATA_TYPE[c.type] ?? 0,
            column_desc: '',
            column_semantic_type: SEMANTIC_TYPE[c.name] ?? 1,
          })),
        },
      },
      mutation_info: null,
    })
    const batch = (from: number, to: number, eos: boolean): Wire.ExecuteScriptResponse => ({
      query_id: queryId,
      status: null,
      data: {
        batch: { cols: columnsOf(rows, from, to), num_rows: String(to - from), eow: eos, eos, table_id: tableId },
        execution_stats: null,
        encrypted_batch: Buffer.alloc(0),
      },
      mutation_info: null,
    })

    if (fault?.kind === 'cut') {
      call.write(batch(0, Math.min(batchRows, rows.length), false))
      qlog.info({ fault: fault.kind }, 'simulated fault: stream cut after the first batch')
      fail(call, grpc.status.INTERNAL, CUT_MESSAGE)
      return
    }

    const batches: Wire.ExecuteScriptResponse[] = []
    const lastStart = rows.length === 0 ? 0 : Math.floor((rows.length - 1) / batchRows) * batchRows
    for (let from = 0; from < lastStart; from += batchRows) batches.push(batch(from, from + batchRows, false))
    // Carnot sends zero-row keep-alive batches on idle streams; clients must accept them.
    if (rows.length > 0) batches.push(batch(0, 0, false))
    const last = batch(lastStart, rows.length, true)
    batches.push(last)
    if (fault?.kind === 'malformed') {
      // Declared STRING, sent as INT64: a protocol violation clients must detect.
      const cols = last.data?.batch?.cols
      if (cols !== undefined) cols[0] = int64Column(new Array<number>(rows.length - lastStart).fill(0))
      qlog.info({ fault: fault.kind }, 'simulated fault: malformed batch (wrong column type)')
    }
    for (const response of batches) call.write(response)
    call.write({
      query_id: queryId,
      status: null,
      data: {
        batch: null,
        execution_stats: {
          timing: { execution_time_ns: String(process.hrtime.bigint() - began), compilation_time_ns: COMPILATION_TIME_NS },
          bytes_processed: String(rows.recordsProcessed * BYTES_PER_RECORD),
          records_processed: String(rows.recordsProcessed),
        },
        encrypted_batch: Buffer.alloc(0),
      },
      mutation_info: null,
    })
    call.end()
    qlog.info(
      {
        script: HTTP_POD_STATS_TABLE,
        rows: rows.length,
        truncatedRows: rows.truncated,
        windowSeconds: Number(params.endNs - params.startNs) / 1e9,
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
  log.info(
    { address, tls: options.tls !== undefined, pods: scenario.pods.length, faults: scenario.faults.length },
    `Pixie API SIMULATOR listening on ${address} — data is simulated`,
  )

  let closed: Promise<void> | undefined
  return {
    address,
    startedAt,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        // HealthCheck streams only end when cancelled, so a graceful shutdown would wait forever.
        server.forceShutdown()
        log.info('Pixie API SIMULATOR stopped')
        resolve()
      })
      return closed
    },
  }
}
