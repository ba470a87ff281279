/**
 * Plans the contiguous, non-overlapping time ranges whose counts are added up
 * into counters. Each successful run counts [end of the previous successful
 * range, now − lag); the first run counts one window. After failed runs the
 * next success catches up over the missed span, at most `maxCatchUpMs` back;
 * older time is skipped (and reported, never silently lost).
 *
 * Ranges are sent to Pixie in wall-clock time, but how much time a range
 * covers is measured on the monotonic clock: when the wall clock was stepped
 * (NTP, a VM resumed) since the last counted range, the next range covers the
 * monotonic time elapsed, ending at the new now − lag. A step forward thus
 * neither counts nor skips the hour it jumped, and a step back does not
 * freeze the counters until the wall clock has caught up again.
 */
import { wallClockStepMs } from '../clock.js'

/** Options of a {@link CountRangePlanner}. */
export interface CountRangeOptions {
  /** Length of the first range (and of the gauge window), ms. */
  readonly windowMs: number
  /** Ranges end this long before now, ms. */
  readonly lagMs: number
  /** The longest range a catch-up may count, ms. */
  readonly maxCatchUpMs: number
}

/** One run's ranges, in ms since the epoch. */
export interface RangePlan {
  /** End of both the gauge window and the count range (exclusive). */
  readonly endMs: number
  /** Start of the gauge window. */
  readonly windowStartMs: number
  /** Start of the count range; undefined when there is nothing new to count. */
  readonly countStartMs: number | undefined
  /** Milliseconds between the previous range and this one that will never be counted. */
  readonly skippedMs: number
  /** How far the wall clock was stepped since the last counted range (0: no step), ms. */
  readonly clockStepMs: number
  /** Monotonic time of the plan (recorded on commit). */
  readonly monotonicMs: number
}

/** Keeps the end of the last counted range; see the module comment. */
export class CountRangePlanner {
  readonly #options: CountRangeOptions
  #last: { readonly endMs: number; readonly monotonicMs: number } | undefined

  constructor(options: CountRangeOptions) {
    this.#options = options
  }

  /** End of the last range that was committed, if any. */
  get countedUntilMs(): number | undefined {
    return this.#last?.endMs
  }

  /**
   * The ranges of a run starting at wall time `nowMs` and monotonic time
   * `monotonicMs` (default: `nowMs`, for callers with a single clock). Pure:
   * nothing changes until {@link commit}.
   */
  plan(nowMs: number, monotonicMs: number = nowMs): RangePlan {
    const { windowMs, lagMs, maxCatchUpMs } = this.#options
    const endMs = nowMs - lagMs
    const windowStartMs = endMs - windowMs
    const base = { endMs, windowStartMs, monotonicMs, clockStepMs: 0 }
    const last = this.#last
    if (last === undefined) return { ...base, countStartMs: windowStartMs, skippedMs: 0 }
    const elapsedMs = monotonicMs - last.monotonicMs
    const step = wallClockStepMs(endMs - last.endMs, elapsedMs)
    if (step !== 0) {
      // Re-anchor: count the time that really passed, ending now.
      if (!(elapsedMs > 0)) return { ...base, clockStepMs: step, countStartMs: undefined, skippedMs: 0 }
      const length = Math.min(elapsedMs, maxCatchUpMs)
      return { ...base, clockStepMs: step, countStartMs: endMs - length, skippedMs: elapsedMs - length }
    }
    if (endMs <= last.endMs) return { ...base, countStartMs: undefined, skippedMs: 0 }
    const earliest = endMs - maxCatchUpMs
    if (last.endMs < earliest) return { ...base, countStartMs: earliest, skippedMs: earliest - last.endMs }
    return { ...base, countStartMs: last.endMs, skippedMs: 0 }
  }

  /** Records that a plan's counts were published. */
  commit(plan: RangePlan): void {
    if (plan.countStartMs !== undefined) this.#last = { endMs: plan.endMs, monotonicMs: plan.monotonicMs }
  }
}
