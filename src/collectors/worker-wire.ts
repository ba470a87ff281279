/**
 * What crosses the boundary between the serving thread and a collector's
 * worker thread (http-worker.ts, pxl-worker.ts), both ways: how a worker
 * connects to Pixie, errors (rebuilt as the same classes), log lines
 * (forwarded to the main logger, which scrubs secrets), and rendered
 * families (their buffers transferred, not copied).
 */
import type { Logger } from 'pino'
import * as errors from '../errors.js'
import type { TlsMode as PixieTlsMode } from '../pixie/tls-modes.js'
import type { RenderedFamily } from '../metrics/snapshot-metric.js'

/** A collector worker's young generation, MiB (resourceLimits.maxYoungGenerationSizeMb). */
export const WORKER_YOUNG_GENERATION_MB = 3

/** How a worker connects to Pixie (PixieClientOptions without the logger). */
export interface WorkerPixieOptions {
  readonly address: string
  readonly clusterId: string
  readonly apiKey?: string | undefined
  readonly tls: PixieTlsMode
  readonly ca?: Buffer | undefined
  readonly encryption?: boolean | undefined
}

/** An error as it crosses the thread boundary. */
export interface ErrorData {
  readonly name: string
  readonly message: string
  readonly stack?: string | undefined
  /** Own enumerable fields (code, grpcCode, compilerErrors, errors, …). */
  readonly fields: Record<string, unknown>
}

/** The error's data for a postMessage. */
export function errorData(err: unknown): ErrorData {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} }
  const fields: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(err)) {
    if (k !== 'cause' && k !== 'name') fields[k] = v
  }
  return { name: err.name, message: err.message, stack: err.stack, fields: structuredCloneable(fields) }
}

function structuredCloneable(fields: Record<string, unknown>): Record<string, unknown> {
  try {
    structuredClone(fields)
    return fields
  } catch {
    return typeof fields.code === 'string' ? { code: fields.code } : {}
  }
}

/** The error class of `name` in src/errors.ts, if it is one of ours. */
const ERROR_CLASSES = new Map<string, abstract new (...args: never[]) => Error>(
  Object.values(errors).flatMap((value) => (typeof value === 'function' && value.prototype instanceof Error ? [[value.name, value as abstract new (...args: never[]) => Error]] : [])),
)

/**
 * Rebuilds an error posted by the worker as an instance of the same class
 * (so `instanceof PixieDeadlineError` and `err.code` work as in-process),
 * with the worker's stack.
 */
export function reviveError(data: ErrorData): Error {
  const error = new Error(data.message)
  const cls = ERROR_CLASSES.get(data.name)
  if (cls !== undefined) Object.setPrototypeOf(error, cls.prototype)
  Object.assign(error, data.fields)
  Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true, enumerable: false })
  if (data.stack !== undefined) error.stack = data.stack
  return error
}

/**
 * Logs a pino JSON line of a worker through the main logger (which scrubs
 * secrets and formats). `worker` names it when the line cannot be read.
 */
export function forwardLog(logger: Logger, line: string, worker: string): void {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    logger.warn({ line }, `unreadable log line from the ${worker}`)
    return
  }
  const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = entry
  const label = typeof level === 'number' ? logger.levels.labels[level] : undefined
  const method = label === 'trace' || label === 'debug' || label === 'info' || label === 'warn' || label === 'error' || label === 'fatal' ? label : 'info'
  logger[method](fields, typeof msg === 'string' ? msg : '')
}

/**
 * The worker's side: `families` with every buffer on an ArrayBuffer of its
 * own, each ArrayBuffer added to `transfer`. Small buffers may be slices of
 * Node's shared pool, which must not be transferred (it would detach the
 * pool): those are copied.
 */
export function ownFamilies(families: readonly RenderedFamily[], transfer: ArrayBuffer[]): RenderedFamily[] {
  const bytes = (b: Buffer) => ownView<Uint8Array>(b, (v) => new Uint8Array(v), transfer) as Buffer
  return families.map((f) => ({
    text: bytes(f.text),
    textGzip: bytes(f.textGzip),
    ...(f.protobuf !== undefined && f.protobufGzip !== undefined && { protobuf: bytes(f.protobuf), protobufGzip: bytes(f.protobufGzip) }),
  }))
}

/** `view` if it spans its own ArrayBuffer (not yet listed), else a copy; the result's ArrayBuffer is added to `transfer`. */
export function ownView<T extends Uint8Array | Float64Array>(view: T, copy: (v: T) => T, transfer: ArrayBuffer[]): T {
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer && !transfer.includes(view.buffer)
  const mine = whole ? view : copy(view)
  transfer.push(mine.buffer as ArrayBuffer)
  return mine
}

/** The main thread's side: buffers arrive as plain Uint8Arrays; view them as Buffers again (no copy). */
export function reviveFamilies(families: readonly RenderedFamily[]): RenderedFamily[] {
  const buffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
  return families.map(
    (f): RenderedFamily => ({
      text: buffer(f.text),
      textGzip: buffer(f.textGzip),
      ...(f.protobuf !== undefined && f.protobufGzip !== undefined && { protobuf: buffer(f.protobuf), protobufGzip: buffer(f.protobufGzip) }),
    }),
  )
}
