/**
 * Where the HTTP collector's poll pipeline runs: {@link InProcessHttpRunner}
 * on the calling thread (tests, fake Pixie APIs), {@link WorkerHttpRunner} in
 * a `worker_threads` worker that owns its own gRPC connection to Pixie, so
 * that decoding, aggregating, rendering and compressing a large result never
 * delays a scrape or a probe. The worker hands back finished buffers
 * (transferred, not copied) and the main thread only swaps them in.
 */
import type { Logger } from 'pino'
import type { HttpCollectorConfig } from './http-options.js'
import { PixieCancelledError } from '../errors.js'
import type { PixieApi } from '../pixie/types.js'
import type { RunContext } from './collector.js'
import type { HttpPipeline, PublishedRun } from './http-pipeline.js'
import { CollectorWorker, reviveFamilies, type WorkerPixieOptions, type WorkerReply } from './worker-wire.js'

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
export type FromWorker = WorkerReply<{ readonly run: PublishedRun }>

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

/**
 * Runs the pipeline in a worker thread (started at the first run). The
 * worker keeps the counters and the range planner between runs. When it dies
 * (an uncaught error, out of memory), the run in flight fails with
 * PXE_ERR_COLLECTOR_WORKER and the next run starts a new worker: its counters
 * then start again from 0, as after an exporter restart.
 */
export class WorkerHttpRunner implements HttpRunner {
  readonly #options: WorkerHttpRunnerOptions
  readonly #worker: CollectorWorker<{ readonly run: PublishedRun }, PublishedRun>

  constructor(options: WorkerHttpRunnerOptions) {
    this.#options = options
    const { config, pixie, logger } = options
    const workerData: HttpWorkerData = { config, pixie, logLevel: logger.level }
    this.#worker = new CollectorWorker({ url: options.workerUrl ?? DEFAULT_WORKER_URL, workerData, name: 'http collector worker', logger, revive: (done) => reviveRun(done.run) })
  }

  /** Workers started so far (tests: a crash starts a new one). */
  get workersStarted(): number {
    return this.#worker.started
  }

  /** The live worker's thread id, if one runs. */
  get threadId(): number | undefined {
    return this.#worker.threadId
  }

  /** Starts the worker now (it loads its modules while the exporter gets ready), so that the first run does not wait for it. */
  warmUp(): void {
    void this.#worker.worker
  }

  run(context: RunContext, protobuf: boolean): Promise<PublishedRun> {
    if (this.#worker.inFlight > 0) return Promise.reject(new TypeError('WorkerHttpRunner: a run is already in flight'))
    const what = `query "pixie-exporter/http_pod_stats" on Pixie at ${this.#options.pixie.address}`
    return this.#worker.run(this, context, what, (id) => ({ type: 'run', id, timeoutMs: context.timeoutMs, protobuf }) satisfies ToWorker)
  }

  heapStatistics(): Promise<WorkerHeap | undefined> {
    return this.#worker.heapStatistics()
  }

  close(): Promise<void> {
    return this.#worker.terminate(() => new PixieCancelledError(`query "pixie-exporter/http_pod_stats" on Pixie at ${this.#options.pixie.address} was cancelled: the collector is closed`))
  }
}

/** The run as the worker posted it, its buffers viewed as Buffers again (no copy). */
function reviveRun(run: PublishedRun): PublishedRun {
  return { ...run, families: reviveFamilies(run.families) }
}
