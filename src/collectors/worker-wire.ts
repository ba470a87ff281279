/**
 * What crosses the boundary between the serving thread and a collector's
 * worker thread (http-worker.ts, pxl-worker.ts), both ways: how a worker
 * connects to Pixie, errors (rebuilt as the same classes), log lines
 * (forwarded to the main logger, which scrubs secrets), and rendered
 * families (their buffers transferred, not copied).
 */
import { Worker } from 'node:worker_threads'
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

/** Every buffer of `families` (to free them once replaced). */
export function familyBuffers(families: readonly RenderedFamily[]): Buffer[] {
  return families.flatMap((f) => [f.text, f.textGzip, ...(f.protobuf === undefined ? [] : [f.protobuf]), ...(f.protobufGzip === undefined ? [] : [f.protobufGzip])])
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

/** What every collector worker posts: log lines, and the end of a run it was sent. */
export type WorkerReply<Done> = { readonly type: 'log'; readonly line: string } | ({ readonly type: 'done'; readonly id: number } & Done) | { readonly type: 'failed'; readonly id: number; readonly error: ErrorData }

/** Options of {@link CollectorWorker}. */
export interface CollectorWorkerOptions<Done, Result> {
  readonly url: URL
  readonly workerData: unknown
  /** The thread's name, and the worker's in messages ("http collector worker"). */
  readonly name: string
  readonly logger: Logger
  /** The run's result from a `done` reply (e.g. buffers viewed as Buffers again). */
  readonly revive: (done: Done) => Result
  /** Called when the worker died (before the runs in flight are rejected): e.g. to forget what it hosted. */
  readonly onDied?: () => void
}

interface PendingRun<Result> {
  /** Who asked (e.g. a collector's key), to cancel its runs. */
  readonly owner: unknown
  resolve(result: Result): void
  reject(err: Error): void
}

/**
 * One collector worker thread seen from the serving thread: started on
 * demand, its runs matched to their replies by id, its log lines forwarded,
 * a run answered at once when its signal aborts (the worker is told and
 * drops it), and every run in flight failed with PXE_ERR_COLLECTOR_WORKER
 * when the thread dies; the next run then starts a new one.
 */
export class CollectorWorker<Done, Result> {
  readonly #options: CollectorWorkerOptions<Done, Result>
  #worker: Worker | undefined
  readonly #pending = new Map<number, PendingRun<Result>>()
  #nextId = 1
  #started = 0

  constructor(options: CollectorWorkerOptions<Done, Result>) {
    this.#options = options
  }

  /** Workers started so far (tests: a crash starts a new one). */
  get started(): number {
    return this.#started
  }

  /** The live worker's thread id, if one runs. */
  get threadId(): number | undefined {
    return this.#worker?.threadId
  }

  /** Runs in flight. */
  get inFlight(): number {
    return this.#pending.size
  }

  /** The live worker, started if none runs. */
  get worker(): Worker {
    this.#worker ??= this.#start()
    return this.#worker
  }

  #start(): Worker {
    const { logger, name } = this.#options
    const worker = new Worker(this.#options.url, {
      workerData: this.#options.workerData,
      name: `pixie-exporter ${name}`,
      // A small young generation: a poll's short-lived objects are collected
      // often and cheaply instead of growing V8's default 16 MiB semi-spaces
      // (RSS; see bench/memory.mjs).
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    })
    this.#started++
    // The server and the schedule keep the process alive, not an idle worker.
    worker.unref()
    worker.on('message', (message: WorkerReply<Done>) => this.#onMessage(worker, message))
    const died = (err: Error) => {
      if (this.#worker !== worker) return
      this.#worker = undefined
      void worker.terminate()
      this.#options.onDied?.()
      const pending = [...this.#pending.values()]
      this.#pending.clear()
      const failure = new errors.CollectorWorkerError(`the ${name} thread failed: ${err.message}; a new worker is started for the next run`, { cause: err })
      for (const p of pending) p.reject(failure)
      if (pending.length === 0) logger.error({ err: failure }, `the ${name} thread failed between runs`)
    }
    worker.on('error', died)
    worker.on('messageerror', died)
    worker.on('exit', (code) => died(new Error(`the worker exited with code ${code}`)))
    return worker
  }

  #onMessage(worker: Worker, message: WorkerReply<Done>): void {
    if (message.type === 'log') {
      forwardLog(this.#options.logger, message.line, this.#options.name)
      return
    }
    const pending = this.#pending.get(message.id)
    if (this.#worker !== worker || pending === undefined) return
    this.#pending.delete(message.id)
    if (message.type === 'failed') pending.reject(reviveError(message.error))
    else pending.resolve(this.#options.revive(message))
  }

  /**
   * Sends the run `message(id)` and resolves with its result. `what` names
   * the query in the cancellation errors.
   */
  run(owner: unknown, context: { readonly signal: AbortSignal }, what: string, message: (id: number) => object): Promise<Result> {
    if (context.signal.aborted) return Promise.reject(new errors.PixieCancelledError(`${what} cancelled before it started`))
    const worker = this.worker
    const id = this.#nextId++
    return new Promise<Result>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#pending.has(id)) return
        // Answer now, whatever the worker is doing; it drops the run when it gets the message.
        this.#pending.delete(id)
        worker.postMessage({ type: 'abort', id })
        reject(new errors.PixieCancelledError(`${what} was cancelled`))
      }
      const settle = () => context.signal.removeEventListener('abort', onAbort)
      this.#pending.set(id, {
        owner,
        resolve: (result) => {
          settle()
          resolve(result)
        },
        reject: (err) => {
          settle()
          reject(err)
        },
      })
      context.signal.addEventListener('abort', onAbort, { once: true })
      worker.postMessage(message(id))
    })
  }

  /** Cancels `owner`'s runs in flight (the worker is told) with `error`. */
  cancel(owner: unknown, error: () => Error): void {
    for (const [id, pending] of this.#pending) {
      if (pending.owner !== owner) continue
      this.#pending.delete(id)
      this.#worker?.postMessage({ type: 'abort', id })
      pending.reject(error())
    }
  }

  /** Posts a message to the live worker, if one runs. */
  post(message: object): void {
    this.#worker?.postMessage(message)
  }

  /** V8 heap figures of the live worker (Worker#getHeapStatistics: Node.js 22.16 and later). */
  async heapStatistics(): Promise<{ readonly usedBytes: number; readonly totalBytes: number; readonly externalBytes: number } | undefined> {
    const worker = this.#worker
    const get = (worker as (Worker & { getHeapStatistics?: () => Promise<{ used_heap_size: number; total_heap_size: number; external_memory?: number }> }) | undefined)?.getHeapStatistics
    if (worker === undefined || get === undefined) return undefined
    const h = await get.call(worker)
    return { usedBytes: h.used_heap_size, totalBytes: h.total_heap_size, externalBytes: h.external_memory ?? 0 }
  }

  /** Stops the worker; runs in flight fail with `error`. A later run starts a new one. */
  async terminate(error: () => Error): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) p.reject(error())
    if (worker !== undefined) await worker.terminate()
  }
}
