import type { CollectorSchedule } from '../scheduler/schedule.js'

/** What a run gets from the scheduler. */
export interface RunContext {
  /** Aborted when the run times out or the exporter shuts down. */
  readonly signal: AbortSignal
  /** Deadline of the run, ms (also sent to Pixie as the gRPC deadline). */
  readonly timeoutMs: number
}

/** Summary of a successful run. */
export interface RunSummary {
  /** Rows Pixie returned. */
  readonly rows: number
  /** Seconds of traffic this run gave up counting (gap longer than maxCatchUp). */
  readonly skippedSeconds?: number
}

/**
 * A collector runs one PxL script per run and publishes the result as metrics.
 *
 * Contract: `run` either publishes the whole result at once (a reader never
 * sees half a run) and resolves, or rejects and leaves the published series
 * untouched. Published series disappear by themselves once `staleAfterMs` has
 * passed since the last success, so an outage never reads as "0 % errors".
 */
export interface Collector {
  /** Value of the `collector` label of the self-metrics. */
  readonly name: string
  readonly schedule: CollectorSchedule
  readonly timeoutMs: number
  /** Series are dropped this long after the last success. */
  readonly staleAfterMs: number
  /** Wall-clock ms of the last successful publication, if any (published and displayed, never compared). */
  readonly lastSuccessAt: number | undefined
  /**
   * Monotonic ms of the last successful publication, on the clock the job
   * was given; staleness is measured on it. Absent: `lastSuccessAt` is used.
   */
  readonly lastSuccessMonotonic?: number | undefined
  run(context: RunContext): Promise<RunSummary>
}
