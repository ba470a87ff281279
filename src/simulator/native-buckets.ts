/**
 * The exponential bucket arithmetic the simulated `http_pod_native_buckets`
 * table follows: Prometheus' native-histogram bucket boundaries, as Carnot
 * would compute them from `px.ceil(px.log2(seconds) * scale)` with scale =
 * 2^schema. Written here from the facts (not imported from the exporter's
 * metrics code), so the simulator can catch the exporter's mistakes.
 */

/** log2 of the zero threshold: 2^-20 s (about 0.95 µs), a boundary of every schema. */
export const ZERO_THRESHOLD_LOG2 = -20
/** The zero threshold, seconds. */
export const ZERO_THRESHOLD_SECONDS = 2 ** ZERO_THRESHOLD_LOG2

/** The index the zero threshold falls in: latencies at or below it are clamped to it. */
export function zeroIndex(schema: number): number {
  return ZERO_THRESHOLD_LOG2 * 2 ** schema
}

/** Upper bound (inclusive) of bucket `index`, seconds: 2^(index / 2^schema). */
export function upperBound(index: number, schema: number): number {
  return 2 ** (index / 2 ** schema)
}
