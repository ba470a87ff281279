/**
 * PxL-engine collectors (library and custom) off the serving thread: one
 * worker thread (pxl-worker.ts) hosts every one of them, with its own Pixie
 * connection, and runs, decodes, aggregates and renders there; the serving
 * thread only swaps each run's finished families in, as for the HTTP
 * collector (http-runner.ts). `pxlCollector` (module.ts) picks this or the
 * in-process PxlCollector.
 */
import type { Counter, Registry } from 'prom-client'
import type { Logger } from 'pino'
import { PixieCancelledError } from '../errors.js'
import { SnapshotMetric, type RenderedFamily } from '../metrics/snapshot-metric.js'
import type { BufferReleaser } from '../metrics/buffer-release.js'
import type { Collector, RunContext, RunSummary } from './collector.js'
import { checkPxlSpec, pxlFamilies } from './pxl.js'
import type { PxlCollectorSpec } from './pxl-spec.js'
import { CollectorWorker, familyBuffers, reviveFamilies, type WorkerPixieOptions, type WorkerReply } from './worker-wire.js'

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
export type FromPxlWorker = WorkerReply<{ readonly result: PxlRunResult }>

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
  readonly #worker: CollectorWorker<{ readonly result: PxlRunResult }, PxlRunResult>
  /** Collectors that joined and did not leave, by key. */
  readonly #specs = new Map<number, PxlCollectorSpec>()
  /** Keys the current worker hosts. */
  readonly #known = new Set<number>()
  #nextKey = 1

  constructor(options: PxlWorkerHostOptions) {
    this.#options = options
    const workerData: PxlWorkerData = { pixie: options.pixie, logLevel: options.logger.level }
    this.#worker = new CollectorWorker({
      url: options.workerUrl ?? DEFAULT_WORKER_URL,
      workerData,
      name: "PxL collectors' worker",
      logger: options.logger,
      revive: ({ result }) => (result.families === undefined ? result : { ...result, families: reviveFamilies(result.families) }),
      // A new worker hosts nothing: each collector joins it again at its next run, its counters from 0.
      onDied: () => this.#known.clear(),
    })
  }

  /** A key for a new collector (it joins at its first run). */
  newKey(): number {
    return this.#nextKey++
  }

  /** Workers started so far (tests: a crash starts a new one). */
  get workersStarted(): number {
    return this.#worker.started
  }

  /** The live worker's thread id, if one runs. */
  get threadId(): number | undefined {
    return this.#worker.threadId
  }

  /** Collectors hosted (joined and not closed). */
  get collectors(): number {
    return this.#specs.size
  }

  /** Starts the worker now (it loads its modules while the exporter gets ready). */
  warmUp(): void {
    void this.#worker.worker
  }

  /** Runs collector `key` (joining it first if needed). Rejects, publishing nothing, on any failure. */
  run(key: number, spec: PxlCollectorSpec, context: RunContext, protobuf: boolean): Promise<PxlRunResult> {
    const what = `query "pixie-exporter/${spec.name}" on Pixie at ${this.#options.pixie.address}`
    if (context.signal.aborted) return Promise.reject(new PixieCancelledError(`${what} cancelled before it started`))
    this.#specs.set(key, spec)
    const worker = this.#worker.worker
    if (!this.#known.has(key)) {
      worker.postMessage({ type: 'add', key, spec } satisfies ToPxlWorker)
      this.#known.add(key)
    }
    return this.#worker.run(key, context, what, (id) => ({ type: 'run', id, key, timeoutMs: context.timeoutMs, protobuf }) satisfies ToPxlWorker)
  }

  /**
   * Collector `key` leaves: its run in flight (if any) is cancelled and the
   * worker forgets it. The worker stops when no collector is left.
   */
  async remove(key: number): Promise<void> {
    const spec = this.#specs.get(key)
    if (spec === undefined) return
    this.#specs.delete(key)
    this.#worker.cancel(key, () => new PixieCancelledError(`query "pixie-exporter/${spec.name}" on Pixie at ${this.#options.pixie.address} was cancelled: the collector is closed`))
    if (this.#known.delete(key)) this.#worker.post({ type: 'remove', key } satisfies ToPxlWorker)
    if (this.#specs.size === 0) await this.close()
  }

  /** Stops the worker; runs in flight fail. A later run starts a new one. */
  close(): Promise<void> {
    this.#known.clear()
    return this.#worker.terminate(() => new PixieCancelledError(`a PxL collector's query on Pixie at ${this.#options.pixie.address} was cancelled: the collectors' worker is closed`))
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
      if (replaced !== undefined) this.#deps.releaser?.release(familyBuffers(replaced))
    }
    return result.summary
  }

  /** Leaves the worker (its counters there are dropped). The published data stays served until it is stale. */
  close(): Promise<void> {
    return this.#deps.host.remove(this.#key)
  }
}
