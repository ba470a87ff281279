/**
 * Plans the contiguous, non-overlapping time ranges whose counts are added up
 * into counters. Each successful run counts [end of the previous successful
 * range, now − lag); the first run counts one window. After failed runs the
 * next success catches up over the missed span, at most `maxCatchUpMs` back;
 * older time is skipped (and reported, never silently lost).
 */

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
  /** Start of the count range; undefined when there is nothing new to count (clock went back). */
  readonly countStartMs: number | undefined
  /** Milliseconds between the previous range and this one that will never be counted. */
  readonly skippedMs: number
}

/** Keeps the end of the last counted range; see the module comment. */
export class CountRangePlanner {
  readonly #options: CountRangeOptions
  #countedUntilMs: number | undefined

  constructor(options: CountRangeOptions) {
    this.#options = options
  }

  /** End of the last range that was committed, if any. */
  get countedUntilMs(): number | undefined {
    return this.#countedUntilMs
  }

  /** The ranges of a run starting at `nowMs`. Pure: nothing changes until {@link commit}. */
  plan(nowMs: number): RangePlan {
    const { windowMs, lagMs, maxCatchUpMs } = this.#options
    const endMs = nowMs - lagMs
    const windowStartMs = endMs - windowMs
    const last = this.#countedUntilMs
    if (last === undefined) return { endMs, windowStartMs, countStartMs: windowStartMs, skippedMs: 0 }
    if (endMs <= last) return { endMs, windowStartMs, countStartMs: undefined, skippedMs: 0 }
    const earliest = endMs - maxCatchUpMs
    if (last < earliest) return { endMs, windowStartMs, countStartMs: earliest, skippedMs: earliest - last }
    return { endMs, windowStartMs, countStartMs: last, skippedMs: 0 }
  }

  /** Records that a plan's counts were published. */
  commit(plan: RangePlan): void {
    if (plan.countStartMs !== undefined) this.#countedUntilMs = plan.endMs
  }
}
