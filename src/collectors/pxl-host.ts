/**
 * PxL-engine collectors (library and custom) off the serving thread: one
 * worker thread (pxl-worker.ts) hosts every one of them, with its own Pixie
 * connection, and runs, decodes, aggregates and renders there; the serving
 * thread only swaps each run's finished families in, as for the HTTP
 * collector (http-runner.ts). `pxlCollector` (module.ts) picks this or the
 * in-process PxlCollector.
 */
import { Worker } from 'node:worker_threads'
import type { Counter, Registry } from 'prom-client'
import type { Logger } from 'pino'
import { CollectorWorkerError, PixieCancelledError } from '../errors.js'
import { SnapshotMetric, type RenderedFamily } from '../metrics/snapshot-metric.js'
import type { BufferReleaser } from '../metrics/buffer-release.js'
import type { Collector, RunContext, RunSummary } from './collector.js'
import { checkPxlSpec, pxlFamilies } from './pxl.js'
import type { PxlCollectorSpec } from './pxl-spec.js'
import { WORKER_YOUNG_GENERATION_MB, forwardLog, reviveError, reviveFamilies, type ErrorData, type WorkerPixieOptions } from './worker-wire.js'

/** What the worker is started with. */
export interface PxlWorkerData {
  readonly pixie: WorkerPixieOptions
  /** pino level name of the worker's log lines (forwarded to the main logger). */
  readonly logLevel: string
}

/** What one run in the worker gives back. */
export interface PxlRunResult {
  readonly summary: RunSummary
  /** Series the run dropped at maxSeries (pixie_exporter_series_dropped_total's increase). */
  readonly droppedSeries: number
  /** The collector's families in the order of its spec; absent when the run published nothing. */
  readonly families?: readonly RenderedFamily[]
}

/** Messages from the main thread to the worker. */
export type ToPxlWorker =
  | { readonly type: 'add'; readonly key: number; readonly spec: PxlCollectorSpec }
  | { readonly type: 'remove'; readonly key: number }
  | { readonly type: 'run'; readonly id: number; readonly key: number; readonly timeoutMs: number; readonly protobuf: boolean }
  | { readonly type: 'abort'; readonly id: number }

/** Messages from the worker to the main thread. */
export type FromPxlWorker =
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'done'; readonly id: number; readonly result: PxlRunResult }
  | { readonly type: 'failed'; readonly id: number; readonly error: ErrorData }

/** Options of {@link PxlWorkerHost}. */
export interface PxlWorkerHostOptions {
  readonly pixie: WorkerPixieOptions
  /** Receives the worker's log lines (each collector's carry `collector`) and the host's own. */
  readonly logger: Logger
  /** The worker's script; default pxl-worker.js next to this module. Tests pass a wrapper that misbehaves. */
  readonly workerUrl?: URL
}

/** Default worker script: the compiled .js, or the .ts source when this module runs from source (tests). */
const DEFAULT_WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './pxl-worker.ts' : './pxl-worker.js', import.meta.url)

interface Pending {
  readonly key: number
  resolve(result: PxlRunResult): void
  reject(err: Error): void
}

/**
 * The worker thread of the PxL-engine collectors, shared by all of them. A
 * collector joins at its first run and leaves when it is closed; the worker
 * starts with the first run (or {@link warmUp}) and stops when the last
 * collector leaves. When it dies (an uncaught error, out of heap), the runs
 * in flight fail with PXE_ERR_COLLECTOR_WORKER and the next run starts a new
 * worker, where every collector starts again as after a restart (counters
 * from 0).
 */
export class PxlWorkerHost {
  readonly #options: PxlWorkerHostOptions
  #worker: Worker | undefined
  /** Collectors that joined and did not leave, by key. */
  readonly #specs = new Map<number, PxlCollectorSpec>()
  /** Keys the current worker hosts. */
  readonly #known = new Set<number>()
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  #nextKey = 1
  #started = 0

  constructor(options: PxlWorkerHostOptions) {
    this.#options = options
  }

  /** A key for a new collector (it joins at its first run). */
  newKey(): number {
    return this.#nextKey++
  }

  /** Workers started so far (tests: a crash starts a new one). */
  get workersStarted(): number {
    return this.#started
  }

  /** The live worker's thread id, if one runs. */
  get threadId(): number | undefined {
    return this.#worker?.threadId
  }

  /** Collectors hosted (joined and not closed). */
  get collectors(): number {
    return this.#specs.size
  }

  /** Starts the worker now (it loads its modules while the exporter gets ready). */
  warmUp(): void {
    this.#worker ??= this.#start()
  }

  #start(): Worker {
    const data: PxlWorkerData = { pixie: this.#options.pixie, logLevel: this.#options.logger.level }
    const worker = new Worker(this.#options.workerUrl ?? DEFAULT_WORKER_URL, {
      workerData: data,
      name: 'pixie-exporter pxl collectors',
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    })
    this.#started++
    this.#known.clear()
    // The server and the schedule keep the process alive, not an idle worker.
    worker.unref()
    worker.on('message', (message: FromPxlWorker) => this.#onMessage(worker, message))
    const died = (err: Error) => {
      if (this.#worker !== worker) return
      this.#worker = undefined
      this.#known.clear()
      void worker.terminate()
      const pending = [...this.#pending.values()]
      this.#pending.clear()
      const failure = new CollectorWorkerError(`the PxL collectors' worker thread failed: ${err.message}; a new worker is started for the next run (the collectors' counters start again from 0)`, { cause: err })
      for (const p of pending) p.reject(failure)
      if (pending.length === 0) this.#options.logger.error({ err: failure }, "the PxL collectors' worker thread failed between runs")
    }
    worker.on('error', died)
    worker.on('messageerror', died)
    worker.on('exit', (code) => died(new Error(`the worker exited with code ${code}`)))
    return worker
  }

  #onMessage(worker: Worker, message: FromPxlWorker): void {
    if (message.type === 'log') {
      forwardLog(this.#options.logger, message.line, "PxL collectors' worker")
      return
    }
    const pending = this.#pending.get(message.id)
    if (this.#worker !== worker || pending === undefined) return
    this.#pending.delete(message.id)
    if (message.type === 'failed') return pending.reject(reviveError(message.error))
    const { result } = message
    pending.resolve(result.families === undefined ? result : { ...result, families: reviveFamilies(result.families) })
  }

  /** Runs collector `key` (joining it first if needed). Rejects, publishing nothing, on any failure. */
  run(key: number, spec: PxlCollectorSpec, context: RunContext, protobuf: boolean): Promise<PxlRunResult> {
    const what = `query "pixie-exporter/${spec.name}" on Pixie at ${this.#options.pixie.address}`
    if (context.signal.aborted) return Promise.reject(new PixieCancelledError(`${what} cancelled before it started`))
    this.#specs.set(key, spec)
    const worker = (this.#worker ??= this.#start())
    if (!this.#known.has(key)) {
      worker.postMessage({ type: 'add', key, spec } satisfies ToPxlWorker)
      this.#known.add(key)
    }
    const id = this.#nextId++
    return new Promise<PxlRunResult>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#pending.has(id)) return
        // Answer now, whatever the worker is doing; it drops the run when it gets the message.
        this.#pending.delete(id)
        worker.postMessage({ type: 'abort', id } satisfies ToPxlWorker)
        reject(new PixieCancelledError(`${what} was cancelled`))
      }
      const settle = () => context.signal.removeEventListener('abort', onAbort)
      this.#pending.set(id, {
        key,
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
      worker.postMessage({ type: 'run', id, key, timeoutMs: context.timeoutMs, protobuf } satisfies ToPxlWorker)
    })
  }

  /**
   * Collector `key` leaves: its run in flight (if any) is cancelled and the
   * worker forgets it. The worker stops when no collector is left.
   */
  async remove(key: number): Promise<void> {
    const spec = this.#specs.get(key)
    if (spec === undefined) return
    this.#specs.delete(key)
    for (const [id, pending] of this.#pending) {
      if (pending.key !== key) continue
      this.#pending.delete(id)
      this.#worker?.postMessage({ type: 'abort', id } satisfies ToPxlWorker)
      pending.reject(new PixieCancelledError(`query "pixie-exporter/${spec.name}" on Pixie at ${this.#options.pixie.address} was cancelled: the collector is closed`))
    }
    if (this.#known.delete(key)) this.#worker?.postMessage({ type: 'remove', key } satisfies ToPxlWorker)
    if (this.#specs.size === 0) await this.close()
  }

  /** Stops the worker; runs in flight fail. A later run starts a new one. */
  async close(): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    this.#known.clear()
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) p.reject(new PixieCancelledError(`a PxL collector's query on Pixie at ${this.#options.pixie.address} was cancelled: the collectors' worker is closed`))
    if (worker !== undefined) await worker.terminate()
  }
}

/** Dependencies of a {@link WorkerPxlCollector}. */
export interface WorkerPxlCollectorDeps {
  readonly spec: PxlCollectorSpec
  readonly host: PxlWorkerHost
  readonly registry: Registry
  readonly now: () => number
  /** Monotonic clock, ms: staleness. Default: `now`. */
  readonly monotonic?: () => number
  readonly seriesDropped: Counter<'collector'>
  /** Frees a replaced run's buffers once no response sends them any more. */
  readonly releaser?: BufferReleaser
}

/**
 * A PxL-engine collector whose runs happen in the {@link PxlWorkerHost}'s
 * thread: same families, same bytes as a {@link PxlCollector} (which runs
 * there), published here in one assignment, absent once stale.
 */
export class WorkerPxlCollector implements Collector {
  readonly name: string
  readonly schedule: PxlCollectorSpec['schedule']
  readonly timeoutMs: number
  readonly staleAfterMs: number
  readonly #deps: WorkerPxlCollectorDeps
  readonly #key: number
  readonly #monotonic: () => number
  #published: readonly RenderedFamily[] | undefined
  #lastSuccessAt: number | undefined
  #lastSuccessMonotonic: number | undefined
  #protobuf = false

  /** @throws TypeError when the spec is invalid (see checkPxlSpec). */
  constructor(deps: WorkerPxlCollectorDeps) {
    checkPxlSpec(deps.spec)
    this.#deps = deps
    this.#key = deps.host.newKey()
    this.#monotonic = deps.monotonic ?? deps.now
    this.name = deps.spec.name
    this.schedule = deps.spec.schedule
    this.timeoutMs = deps.spec.timeoutMs
    this.staleAfterMs = deps.spec.staleAfterMs
    const releaser = deps.releaser
    pxlFamilies(deps.spec).forEach((family, i) => {
      new SnapshotMetric(
        {
          ...family,
          rendered: () => (this.#fresh() ? this.#published?.[i] : undefined),
          // The plain text may go once only gzip scrapes come (SnapshotMetric.shed).
          ...(releaser !== undefined && { releaseText: (text: Buffer) => releaser.release([text]) }),
        },
        deps.registry,
      )
    })
  }

  get lastSuccessAt(): number | undefined {
    return this.#lastSuccessAt
  }

  get lastSuccessMonotonic(): number | undefined {
    return this.#lastSuccessMonotonic
  }

  #fresh(): boolean {
    return this.#lastSuccessMonotonic !== undefined && this.#monotonic() - this.#lastSuccessMonotonic <= this.staleAfterMs
  }

  /** Asks for the protobuf forms from the next run on (a protobuf scrape found none); until then protobuf scrapes get text. */
  wantProtobuf(): void {
    this.#protobuf = true
  }

  async run(context: RunContext): Promise<RunSummary> {
    const { host, spec, seriesDropped } = this.#deps
    const result = await host.run(this.#key, spec, context, this.#protobuf)
    if (result.droppedSeries > 0) seriesDropped.inc({ collector: this.name }, result.droppedSeries)
    if (result.families !== undefined) {
      // Publish synchronously: scrapes see the previous run or this one, never a mix.
      const replaced = this.#published
      this.#published = result.families
      this.#lastSuccessAt = this.#deps.now()
      this.#lastSuccessMonotonic = this.#monotonic()
      if (replaced !== undefined) this.#deps.releaser?.release(replaced.flatMap((f) => [f.text, f.textGzip, ...(f.protobuf === undefined ? [] : [f.protobuf]), ...(f.protobufGzip === undefined ? [] : [f.protobufGzip])]))
    }
    return result.summary
  }

  /** Leaves the worker (its counters there are dropped). The published data stays served until it is stale. */
  close(): Promise<void> {
    return this.#deps.host.remove(this.#key)
  }
}
