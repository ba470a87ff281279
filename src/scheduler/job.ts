import cron, { type ScheduledTask } from 'node-cron'
import type { Logger } from 'pino'
import type { Collector, CollectorQueries } from '../collectors/collector.js'
import { PixieCancelledError, PixieDeadlineError, PixieResultTooLargeError } from '../errors.js'
import type { RunOutcome, SelfMetrics } from '../metrics/self-metrics.js'
import { nominalIntervalMs } from './schedule.js'

/** How many recent retry delays {@link CollectorJob.retryDelays} keeps. */
const MAX_KEPT_RETRY_DELAYS = 10

/** Dependencies of a {@link CollectorJob}. */
export interface CollectorJobDeps {
  readonly collector: Collector
  readonly metrics: SelfMetrics
  readonly logger: Logger
  /** Wall clock, ms since the epoch: the times shown on the landing page only. */
  readonly now: () => number
  /**
   * Monotonic clock, ms: readiness (staleness) and run durations. Default:
   * `now` (tests that drive a single fake clock); the exporter passes
   * `performance.now`, so a step of the wall clock cannot keep stale data ready.
   */
  readonly monotonic?: () => number
  /** Random numbers in [0, 1) for retry jitter; default Math.random. */
  readonly random?: () => number
  /** First retry delay after a failure, ms; doubles per consecutive failure. Default 1000. */
  readonly retryBaseMs?: number
  /** Called after each successful run (a new publication), e.g. to prepare the exposition. */
  readonly onSuccess?: () => void
}

/** What the landing page and `/-/ready` show about a collector. */
export interface CollectorStatus {
  readonly name: string
  readonly schedule: string
  readonly running: boolean
  readonly lastRunAt: number | undefined
  readonly lastOutcome: RunOutcome | undefined
  readonly lastSuccessAt: number | undefined
  readonly lastDurationMs: number | undefined
  readonly lastRows: number | undefined
  /** Message of the last failure (cleared by a success). Never holds a secret. */
  readonly lastError: string | undefined
  readonly staleAfterMs: number
}

/**
 * Runs a collector on its schedule (node-cron) and once at start, never two
 * runs at once (a tick that finds the previous run still going is counted as
 * `skipped`), each run bounded by the collector's timeout. Records the
 * self-metrics and the status shown on `/` and `/-/ready`.
 */
export class CollectorJob {
  readonly #deps: CollectorJobDeps
  #task: ScheduledTask | undefined
  #inFlight: Promise<RunOutcome> | undefined
  #abort: AbortController | undefined
  #stopped = false
  #failures = 0
  /** When the current run of failures began (the first failed run's start); undefined while healthy. */
  #outage: { startedAt: number; failedRuns: number } | undefined
  #retry: NodeJS.Timeout | undefined
  readonly #retryDelays: number[] = []
  #status: Omit<CollectorStatus, 'name' | 'schedule' | 'running' | 'lastSuccessAt' | 'staleAfterMs'> = {
    lastRunAt: undefined,
    lastOutcome: undefined,
    lastDurationMs: undefined,
    lastRows: undefined,
    lastError: undefined,
  }

  constructor(deps: CollectorJobDeps) {
    this.#deps = deps
    deps.metrics.addCollector(deps.collector.name)
  }

  get name(): string {
    return this.#deps.collector.name
  }

  /** The collector's typed queries over its published data (e.g. per-pod rates for `/error-rate`). */
  get queries(): CollectorQueries | undefined {
    return this.#deps.collector.queries
  }

  /** The collector this job runs. */
  get collector(): Collector {
    return this.#deps.collector
  }

  /** Starts the schedule and runs once right away (the promise of that first run is returned). */
  start(): Promise<RunOutcome> {
    const { collector } = this.#deps
    this.#stopped = false
    this.#task = cron.schedule(collector.schedule.cron, () => this.runNow(), { name: `collector-${collector.name}` })
    return this.runNow()
  }

  /** Stops the schedule, aborts a run in flight and waits for it to settle. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#retry)
    this.#retry = undefined
    const task = this.#task
    this.#task = undefined
    if (task !== undefined) await task.destroy()
    this.#abort?.abort(new PixieCancelledError('exporter is shutting down'))
    await this.#inFlight
  }

  /** Runs the collector now unless a run is in flight (then counts and returns `skipped`). */
  runNow(): Promise<RunOutcome> {
    const { collector, metrics, logger } = this.#deps
    if (this.#inFlight !== undefined) {
      metrics.runs.inc({ collector: collector.name, result: 'skipped' })
      logger.warn({ collector: collector.name }, 'previous run still in progress; run skipped')
      return Promise.resolve('skipped')
    }
    if (this.#stopped) return Promise.resolve('skipped')
    const run = this.#runOnce().finally(() => {
      this.#inFlight = undefined
    })
    this.#inFlight = run
    return run
  }

  async #runOnce(): Promise<RunOutcome> {
    const { collector, metrics, logger, now } = this.#deps
    const labels = { collector: collector.name }
    const abort = new AbortController()
    this.#abort = abort
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      abort.abort(new PixieDeadlineError(`run exceeded its timeout of ${collector.timeoutMs / 1000}s`))
    }, collector.timeoutMs)
    const monotonic = this.#deps.monotonic ?? now
    const startedAt = now()
    const started = monotonic()
    let outcome: RunOutcome
    try {
      const summary = await collector.run({ signal: abort.signal, timeoutMs: collector.timeoutMs })
      outcome = 'success'
      metrics.up.set(labels, 1)
      metrics.rows.set(labels, summary.rows)
      if (summary.skippedSeconds !== undefined && summary.skippedSeconds > 0) {
        metrics.skippedSeconds.inc(labels, summary.skippedSeconds)
        logger.warn({ collector: collector.name, skippedSeconds: summary.skippedSeconds }, 'gap since the last success exceeded maxCatchUp; older traffic was not counted')
      }
      metrics.lastSuccess.set(labels, (collector.lastSuccessAt ?? now()) / 1000)
      this.#deps.onSuccess?.()
      this.#status = { ...this.#status, lastRows: summary.rows, lastError: undefined }
      logger.debug({ collector: collector.name, rows: summary.rows, durationMs: monotonic() - started }, 'collector run succeeded')
      if (this.#outage !== undefined) {
        const outageSeconds = Math.round((monotonic() - this.#outage.startedAt) / 100) / 10
        logger.info(
          { collector: collector.name, failedRuns: this.#outage.failedRuns, outageSeconds },
          `collector runs recovered after ${this.#outage.failedRuns} failed run(s) over ${outageSeconds}s`,
        )
        this.#outage = undefined
      }
    } catch (err) {
      outcome = timedOut || err instanceof PixieDeadlineError ? 'timeout' : 'error'
      metrics.up.set(labels, 0)
      const message = err instanceof Error ? err.message : String(err)
      this.#status = { ...this.#status, lastError: message }
      if (err instanceof PixieResultTooLargeError) metrics.oversizeResults.inc(labels)
      if (!(this.#stopped && err instanceof PixieCancelledError)) {
        // One line per failed run: the coded errors (Pixie unreachable, a
        // query rejected) carry their stack only at debug (src/log.ts).
        this.#outage ??= { startedAt: started, failedRuns: 0 }
        this.#outage.failedRuns++
        logger.error(
          { err, collector: collector.name, outcome, failedRuns: this.#outage.failedRuns },
          'collector run failed; keeping the last values until they are stale',
        )
      }
    } finally {
      clearTimeout(timer)
      this.#abort = undefined
    }
    const durationMs = monotonic() - started
    this.#scheduleRetry(outcome)
    metrics.runs.inc({ ...labels, result: outcome })
    metrics.duration.set(labels, durationMs / 1000)
    this.#status = { ...this.#status, lastRunAt: startedAt, lastOutcome: outcome, lastDurationMs: durationMs }
    return outcome
  }

  /**
   * After a failure, tries again sooner than the next tick: 1s, 2s, 4s...
   * (±20 % jitter, so replicas do not retry in step), while that comes
   * before half the nominal interval; the schedule takes over beyond that.
   * Pixie being unreachable at start therefore costs seconds, not an interval.
   */
  #scheduleRetry(outcome: RunOutcome): void {
    clearTimeout(this.#retry)
    this.#retry = undefined
    if (outcome === 'success') {
      this.#failures = 0
      return
    }
    this.#failures++
    if (this.#stopped || this.#task === undefined) return
    const base = (this.#deps.retryBaseMs ?? 1000) * 2 ** (this.#failures - 1)
    const jitter = 0.8 + 0.4 * (this.#deps.random ?? Math.random)()
    const delay = Math.round(base * jitter)
    if (delay >= nominalIntervalMs(this.#deps.collector.schedule) / 2) return
    // Only the latest few are kept: a long outage must not grow this list.
    this.#retryDelays.push(delay)
    if (this.#retryDelays.length > MAX_KEPT_RETRY_DELAYS) this.#retryDelays.shift()
    this.#retry = setTimeout(() => void this.runNow(), delay)
    this.#retry.unref()
  }

  /** The delays (ms) of the latest early retries, oldest first (for tests). */
  get retryDelays(): readonly number[] {
    return this.#retryDelays
  }

  /** Whether an early retry after a failure is pending. */
  get retryPending(): boolean {
    return this.#retry !== undefined
  }

  /** Snapshot of the collector's state. */
  status(): CollectorStatus {
    const { collector } = this.#deps
    const s = collector.schedule
    return {
      ...this.#status,
      name: collector.name,
      schedule: s.kind === 'interval' ? `every ${s.intervalMs / 1000}s` : `cron ${s.cron}`,
      running: this.#inFlight !== undefined,
      lastSuccessAt: collector.lastSuccessAt,
      staleAfterMs: collector.staleAfterMs,
    }
  }

  /** Ready once the collector has succeeded and its data is not stale; otherwise the reason. */
  readiness(): { ready: true } | { ready: false; reason: string } {
    const { collector, now } = this.#deps
    // Staleness on the monotonic clock (see CollectorJobDeps.monotonic).
    const monotonic = collector.lastSuccessMonotonic !== undefined
    const last = monotonic ? collector.lastSuccessMonotonic : collector.lastSuccessAt
    if (last === undefined) {
      const why = this.#status.lastError === undefined ? 'no run has completed yet' : `last error: ${this.#status.lastError}`
      return { ready: false, reason: `collector ${collector.name} has not succeeded yet (${why})` }
    }
    const age = (monotonic ? (this.#deps.monotonic ?? now)() : now()) - last
    if (age > collector.staleAfterMs) {
      return {
        ready: false,
        reason: `collector ${collector.name} data is stale: last success ${Math.round(age / 1000)}s ago (staleAfter ${collector.staleAfterMs / 1000}s)`,
      }
    }
    return { ready: true }
  }
}
