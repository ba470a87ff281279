/**
 * Clocks. Durations (staleness, freshness, retries, expiry, the length of a
 * count range) are measured on a monotonic clock, which NTP never steps; the
 * wall clock is used only where an absolute time is needed (Pixie's time
 * ranges, the unix timestamps the exporter publishes, the landing page).
 * Both are injected, so tests can step the wall clock without moving time.
 */

/** Milliseconds on a clock that never goes back nor jumps (`performance.now()`). */
export type MonotonicClock = () => number

/** The process' monotonic clock. */
export const monotonicNow: MonotonicClock = () => performance.now()

/** A wall-clock difference this much larger or smaller than the monotonic one is a step, ms. */
export const CLOCK_STEP_TOLERANCE_MS = 1000

/**
 * Detects a step of the wall clock between two readings of both clocks:
 * returns how far the wall clock moved beyond the elapsed monotonic time
 * (positive: forward, negative: back), or 0 when the two agree within
 * {@link CLOCK_STEP_TOLERANCE_MS} plus 0.1 % of the elapsed time (slewing
 * by NTP stays far below that).
 */
export function wallClockStepMs(wallElapsedMs: number, monotonicElapsedMs: number): number {
  const step = wallElapsedMs - monotonicElapsedMs
  return Math.abs(step) > CLOCK_STEP_TOLERANCE_MS + Math.abs(monotonicElapsedMs) / 1000 ? step : 0
}
