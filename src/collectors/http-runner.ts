/**
 * Where the HTTP collector's poll pipeline runs: {@link InProcessHttpRunner}
 * on the calling thread (tests, fake Pixie APIs), {@link WorkerHttpRunner} in
 * a `worker_threads` worker that owns its own gRPC connection to Pixie, so
 * that decoding, aggregating, rendering and compressing a large result never
 * delays a scrape or a probe. The worker hands back finished buffers
 * (transferred, not copied) and the main thread only swaps them in.
 */
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { HttpCollectorConfig } from './http-options.js'
import { CollectorWorkerError, PixieCancelledError } from '../errors.js'
import type { PixieApi } from '../pixie/types.js'
import type { RunContext } from './collector.js'
import type { HttpPipeline, PublishedRun } from './http-pipeline.js'
import { WORKER_YOUNG_GENERATION_MB, forwardLog, reviveError, reviveFamilies, type ErrorData, type WorkerPixieOptions } from './worker-wire.js'

export { WORKER_YOUNG_GENERATION_MB, errorData, reviveError, type ErrorData, type WorkerPixieOptions } from './worker-wire.js'

/** Runs one poll of the HTTP collector and returns what to publish. */
export interface HttpRunner {
  /** `protobuf`: also render the protobuf forms. Rejects (publishing nothing) on any failure. */
  run(context: RunContext, protobuf: boolean): Promise<PublishedRun>
  /** Releases the runner (terminates a worker); a later run starts it again. */
  close(): Promise<void>
  /** V8 heap figures of the thread the pipeline runs on, when that is a worker (benchmarks). */
  heapStatistics?(): Promise<WorkerHeap | undefined>
}

/** A worker's V8 heap, bytes. */
export interface WorkerHeap {
  readonly usedBytes: number
  readonly totalBytes: number
  /** Memory outside the heap held by the worker's objects (e.g. buffers not yet handed over). */
  readonly externalBytes: number
}

/** Runs the pipeline on this thread. */
export class InProcessHttpRunner implements HttpRunner {
  readonly #pipeline: HttpPipeline
  readonly #pixie: PixieApi

  constructor(pipeline: HttpPipeline, pixie: PixieApi) {
    this.#pipeline = pipeline
    this.#pixie = pixie
  }

  run(context: RunContext, protobuf: boolean): Promise<PublishedRun> {
    return this.#pipeline.run(this.#pixie, context, protobuf)
  }

  async close(): Promise<void> {}
}

/** What the worker is started with. */
export interface HttpWorkerData {
  readonly config: HttpCollectorConfig
  readonly pixie: WorkerPixieOptions
  /** pino level name of the worker's log lines (forwarded to the main logger). */
  readonly logLevel: string
}

/** Messages from the main thread to the worker. */
export type ToWorker = { readonly type: 'run'; readonly id: number; readonly timeoutMs: number; readonly protobuf: boolean } | { readonly type: 'abort'; readonly id: number }

/** Messages from the worker to the main thread. */
export type FromWorker =
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'done'; readonly id: number; readonly run: PublishedRun }
  | { readonly type: 'failed'; readonly id: number; readonly error: ErrorData }

/** Options of {@link WorkerHttpRunner}. */
export interface WorkerHttpRunnerOptions {
  readonly config: HttpCollectorConfig
  readonly pixie: WorkerPixieOptions
  /** Receives the worker's log lines (and the runner's own). */
  readonly logger: Logger
  /** The worker's script; default http-worker.js next to this module. Tests pass a wrapper that misbehaves. */
  readonly workerUrl?: URL
}

/** Default worker script: the compiled .js, or the .ts source when this module runs from source (tests). */
const DEFAULT_WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './http-worker.ts' : './http-worker.js', import.meta.url)

/** Pending run of a {@link WorkerHttpRunner}. */
interface Pending {
  readonly id: number
  resolve(run: PublishedRun): void
  reject(err: Error): void
}

/**
 * Runs the pipeline in a worker thread (started at the first run). The
 * worker keeps the counters and the range planner between runs. When it dies
 * (an uncaught error, out of memory), the run in flight fails with
 * PXE_ERR_COLLECTOR_WORKER and the next run starts a new worker: its counters
 * then start again from 0, as after an exporter restart.
 */
export class WorkerHttpRunner implements HttpRunner {
  readonly #options: WorkerHttpRunnerOptions
  #worker: Worker | undefined
  #pending: Pending | undefined
  #nextId = 1
  /** Workers started so far (tests: a crash starts a new one). */
  #started = 0

  constructor(options: WorkerHttpRunnerOptions) {
    this.#options = options
  }

  /** Workers started so far. */
  get workersStarted(): number {
    return this.#started
  }

  /** The live worker's thread id, if one runs. */
  get threadId(): number | undefined {
    return this.#worker?.threadId
  }

  #start(): Worker {
    const { config, pixie, logger } = this.#options
    const data: HttpWorkerData = { config, pixie, logLevel: logger.level }
    const worker = new Worker(this.#options.workerUrl ?? DEFAULT_WORKER_URL, {
      workerData: data,
      name: 'pixie-exporter http collector',
      // A small young generation: the poll's short-lived objects are
      // collected often and cheaply instead of growing V8's default 16 MiB
      // semi-spaces (RSS; see bench/memory.mjs).
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    })
    this.#started++
    // The server and the schedule keep the process alive, not an idle worker.
    worker.unref()
    worker.on('message', (message: FromWorker) => this.#onMessage(worker, message))
    const died = (err: Error) => {
      if (this.#worker !== worker) return
      this.#worker = undefined
      void worker.terminate()
      const pending = this.#pending
      this.#pending = undefined
      const failure = new CollectorWorkerError(`the http collector's worker thread failed: ${err.message}; a new worker is started for the next run`, { cause: err })
      if (pending !== undefined) pending.reject(failure)
      else logger.error({ err: failure }, 'the http collector worker thread failed between runs')
    }
    worker.on('error', died)
    worker.on('messageerror', died)
    worker.on('exit', (code) => died(new Error(`the worker exited with code ${code}`)))
    return worker
  }

  #onMessage(worker: Worker, message: FromWorker): void {
    if (message.type === 'log') {
      forwardLog(this.#options.logger, message.line, 'http collector worker')
      return
    }
    const pending = this.#pending
    if (this.#worker !== worker || pending === undefined || pending.id !== message.id) return
    this.#pending = undefined
    if (message.type === 'done') pending.resolve(reviveRun(message.run))
    else pending.reject(reviveError(message.error))
  }

  /** Starts the worker now (it loads its modules while the exporter gets ready), so that the first run does not wait for it. */
  warmUp(): void {
    this.#worker ??= this.#start()
  }

  run(context: RunContext, protobuf: boolean): Promise<PublishedRun> {
    if (this.#pending !== undefined) return Promise.reject(new TypeError('WorkerHttpRunner: a run is already in flight'))
    const what = `query "pixie-exporter/http_pod_stats" on Pixie at ${this.#options.pixie.address}`
    if (context.signal.aborted) return Promise.reject(new PixieCancelledError(`${what} cancelled before it started`))
    const worker = (this.#worker ??= this.#start())
    const id = this.#nextId++
    return new Promise<PublishedRun>((resolve, reject) => {
      const onAbort = () => {
        if (this.#pending?.id !== id) return
        // Answer now, whatever the worker is doing; it drops the run when it gets the message.
        this.#pending = undefined
        worker.postMessage({ type: 'abort', id } satisfies ToWorker)
        reject(new PixieCancelledError(`${what} was cancelled`))
      }
      this.#pending = {
        id,
        resolve: (run) => {
          context.signal.removeEventListener('abort', onAbort)
          resolve(run)
        },
        reject: (err) => {
          context.signal.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      context.signal.addEventListener('abort', onAbort, { once: true })
      worker.postMessage({ type: 'run', id, timeoutMs: context.timeoutMs, protobuf } satisfies ToWorker)
    })
  }

  async heapStatistics(): Promise<WorkerHeap | undefined> {
    const worker = this.#worker
    // Worker#getHeapStatistics: Node.js 22.16 and later.
    const get = (worker as (Worker & { getHeapStatistics?: () => Promise<{ used_heap_size: number; total_heap_size: number; external_memory?: number }> }) | undefined)?.getHeapStatistics
    if (worker === undefined || get === undefined) return undefined
    const h = await get.call(worker)
    return { usedBytes: h.used_heap_size, totalBytes: h.total_heap_size, externalBytes: h.external_memory ?? 0 }
  }

  async close(): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    const pending = this.#pending
    this.#pending = undefined
    pending?.reject(new PixieCancelledError(`query "pixie-exporter/http_pod_stats" on Pixie at ${this.#options.pixie.address} was cancelled: the collector is closed`))
    if (worker !== undefined) await worker.terminate()
  }
}

/** The run as the worker posted it, its buffers viewed as Buffers again (no copy). */
function reviveRun(run: PublishedRun): PublishedRun {
  return { ...run, families: reviveFamilies(run.families) }
}
