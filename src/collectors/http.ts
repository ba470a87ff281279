import type { Registry } from 'prom-client'
import { CollectorWorkerError } from '../errors.js'
import { SnapshotMetric } from '../metrics/snapshot-metric.js'
import type { Logger } from 'pino'
import type { HttpCollectorConfig } from './http-options.js'
import type { PixieApi } from '../pixie/types.js'
import { defaultStaleAfterMs } from '../scheduler/schedule.js'
import type { Collector, CollectorQueries, PodRates, RunContext, RunSummary } from './collector.js'
import { HttpPipeline, unpackRates, type PublishedRun } from './http-pipeline.js'
import type { BufferReleaser } from '../metrics/buffer-release.js'
import { InProcessHttpRunner, type HttpRunner, type WorkerHeap } from './http-runner.js'
import { familyBuffers } from './worker-wire.js'

export { podLabel, serviceLabel } from './pixie-labels.js'
export type { PodHttpStats } from './http-pipeline.js'
export type { PodRates } from './collector.js'

/** Whether a run failed because the worker thread ran out of heap (Node's ERR_WORKER_OUT_OF_MEMORY). */
function outOfMemory(err: unknown): boolean {
  return err instanceof CollectorWorkerError && (err.cause as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY'
}

/** Dependencies of the built-in HTTP collector. */
export interface HttpCollectorDeps {
  readonly pixie: PixieApi
  readonly registry: Registry
  readonly logger: Logger
  /** Wall clock, ms since the epoch: Pixie's time ranges and published timestamps only. */
  readonly now: () => number
  /**
   * Monotonic clock, ms: staleness, counter expiry and the length of count
   * ranges. Default: `now` (tests that drive a single fake clock); the
   * exporter passes `performance.now`.
   */
  readonly monotonic?: () => number
  readonly config: HttpCollectorConfig
  /**
   * Where the poll pipeline runs. Default: on this thread, against `pixie`
   * (tests, fake Pixie APIs). The exporter passes a WorkerHttpRunner, which
   * polls and renders in a worker thread with its own Pixie connection.
   */
  readonly runner?: HttpRunner
  /**
   * Frees a replaced run's buffers once no response sends them any more.
   * Only for a runner whose buffers own their memory (WorkerHttpRunner).
   */
  readonly releaser?: BufferReleaser
}


/**
 * The built-in collector: one PxL run per schedule tick for ALL pods, giving
 * per-pod request rate, error rate, error ratio and latency quantiles over the
 * window, and counters of requests and latency. See
 * src/pixie/scripts/http-pod-stats.ts for the script and http-pipeline.ts for
 * the poll itself, which runs where the runner puts it; this class only swaps
 * each run's finished buffers in, in one assignment, so a scrape sees the
 * previous run or the new one, never a mix.
 */
export class HttpCollector implements Collector {
  readonly name = 'http'
  readonly schedule: HttpCollectorConfig['schedule']
  readonly timeoutMs: number
  readonly staleAfterMs: number
  #lastSuccessAt: number | undefined
  #lastSuccessMonotonic: number | undefined
  /** The last published run (its buffers; the previous run's are let go when it is replaced). */
  #published: PublishedRun | undefined
  #rates: { readonly run: PublishedRun; readonly pods: readonly PodRates[] } | undefined
  #protobuf: boolean
  #protobufSuspended = false
  readonly #deps: HttpCollectorDeps
  readonly #monotonic: () => number
  readonly #runner: HttpRunner

  constructor(deps: HttpCollectorDeps) {
    this.#deps = deps
    this.#monotonic = deps.monotonic ?? deps.now
    this.schedule = deps.config.schedule
    this.timeoutMs = deps.config.timeoutMs
    this.staleAfterMs = deps.config.staleAfterMs ?? defaultStaleAfterMs(deps.config.schedule)
    const pipeline = new HttpPipeline({ config: deps.config, log: deps.logger, now: deps.now, monotonic: this.#monotonic })
    this.#runner = deps.runner ?? new InProcessHttpRunner(pipeline, deps.pixie)
    // The protobuf forms cost about as much again as the text: they are
    // rendered with native histograms configured, or once a scrape asked for them.
    this.#protobuf = deps.config.nativeHistogram !== undefined
    // Samples are the last published run's buffers, served only while fresh.
    // Buffers the worker handed over may be freed early: the plain text once
    // only gzip scrapes come (SnapshotMetric.shed), the rest when replaced.
    const releaser = deps.releaser
    pipeline.families.forEach((family, i) => {
      new SnapshotMetric(
        {
          name: family.name,
          help: family.help,
          type: family.type,
          rendered: () => (this.#fresh() ? this.#published?.families[i] : undefined),
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

  /** Pods with counter series (including stale ones that are hidden), as of the last run. */
  get counterPods(): number {
    return this.#published?.counterPods ?? 0
  }

  /** The pods currently published, one entry per pod (empty once stale): what `/error-rate` answers from. */
  get pods(): readonly PodRates[] {
    const run = this.#published
    if (run === undefined || !this.#fresh()) return []
    if (this.#rates?.run !== run) this.#rates = { run, pods: unpackRates(run.rates) }
    return this.#rates.pods
  }

  /** Per-pod rates for `/error-rate`, from the published run (never the registry). */
  readonly queries: CollectorQueries = { podRates: () => this.pods }

  /** The heap of the worker thread that polls and renders, if one runs (benchmarks). */
  workerHeap(): Promise<WorkerHeap | undefined> {
    return this.#runner.heapStatistics?.() ?? Promise.resolve(undefined)
  }

  /** Asks for the protobuf forms from the next run on (a protobuf scrape found none); until then protobuf scrapes get text. */
  wantProtobuf(): void {
    if (!this.#protobufSuspended) this.#protobuf = true
  }

  /** Whether the protobuf forms were given up after the worker ran out of heap rendering them (see {@link run}). */
  get protobufSuspended(): boolean {
    return this.#protobufSuspended
  }

  #fresh(): boolean {
    return this.#lastSuccessMonotonic !== undefined && this.#monotonic() - this.#lastSuccessMonotonic <= this.staleAfterMs
  }

  /**
   * One poll. When the worker runs out of heap in a run that rendered the
   * protobuf forms, the next runs render text only and no longer ask Pixie
   * for the native buckets (their decode may be what ran out), until a
   * restart (or a reload that changes this collector's settings): a
   * protobuf scrape (a Prometheus with native histograms) is then answered
   * in the text format, classic buckets included, instead of every run
   * failing the same way and the data going stale.
   */
  async run(context: RunContext): Promise<RunSummary> {
    const protobuf = this.#protobuf
    let run: PublishedRun
    try {
      run = await this.#runner.run(context, protobuf)
    } catch (err) {
      if (protobuf && outOfMemory(err)) {
        this.#protobuf = false
        this.#protobufSuspended = true
        this.#deps.logger.error(
          { err },
          'the http collector worker ran out of heap in a run that rendered the protobuf exposition; from the next run on it renders the text exposition only (and no longer asks Pixie for the native histogram buckets), and protobuf scrapes get text, until a restart (or a reload that changes the http collector settings): raise the heap cap and the memory limit (docs/deploy.md, "Memory sizing")',
        )
      }
      throw err
    }
    // Publish synchronously: scrapes see the previous run or this one, never a mix.
    const replaced = this.#published
    this.#published = run
    this.#rates = undefined
    this.#lastSuccessAt = this.#deps.now()
    this.#lastSuccessMonotonic = this.#monotonic()
    if (replaced !== undefined) this.#deps.releaser?.release(familyBuffers(replaced.families))
    return { rows: run.rows, skippedSeconds: run.skippedSeconds }
  }

  /** Stops the runner (terminates its worker). The published data stays served until it is stale. */
  close(): Promise<void> {
    return this.#runner.close()
  }
}
