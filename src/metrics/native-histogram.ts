/**
 * Bucket arithmetic of Prometheus native (exponential) histograms, as used by
 * the latency histogram `pixie_http_request_duration_seconds`.
 *
 * With schema `s`, bucket boundaries are the powers of `base = 2^(2^-s)`:
 * bucket `i` holds the observations `v` with `base^(i-1) < v <= base^i`, so
 *
 *   index(v) = ceil(log2(v) · 2^s)
 *
 * (1 s is always a boundary: bucket 0 is (base^-1, 1]). Observations at or
 * below the zero threshold go to the zero bucket instead.
 *
 * The default schema 3 (base 2^(1/8) ≈ 1.0905) fits canary latency: a
 * quantile interpolated inside one bucket is off by at most 9.05 % (the width
 * of a bucket relative to its lower bound), and 10 µs … 10 s spans about 160
 * buckets, of which a pod's traffic fills a few dozen.
 *
 * The zero threshold is 2^-20 s (about 0.95 µs): below any real HTTP latency,
 * and a bucket boundary of every schema from 0 to 8, so the zero bucket and the
 * exponential buckets never overlap and index(max(v, threshold)) equals
 * {@link zeroIndex} exactly for the observations of the zero bucket. The PxL
 * script relies on that (src/pixie/scripts/http-pod-stats.ts).
 */

/** Smallest and largest schema accepted (those whose boundaries include the zero threshold). */
export const MIN_NATIVE_SCHEMA = 0
export const MAX_NATIVE_SCHEMA = 8
/** The default schema: 8 buckets per power of two. */
export const DEFAULT_NATIVE_SCHEMA = 3
/** log2 of the zero threshold in seconds. */
export const ZERO_THRESHOLD_LOG2 = -20
/** Breadth of the zero bucket, seconds: 2^-20 (exactly representable). */
export const ZERO_THRESHOLD_SECONDS = 2 ** ZERO_THRESHOLD_LOG2
/** The zero threshold in whole nanoseconds, rounded down: latencies (integer ns) at or below it are in the zero bucket. */
export const ZERO_THRESHOLD_NS = Math.floor(ZERO_THRESHOLD_SECONDS * 1e9)

function checkSchema(schema: number): void {
  if (!Number.isInteger(schema) || schema < MIN_NATIVE_SCHEMA || schema > MAX_NATIVE_SCHEMA) {
    throw new TypeError(`native histogram schema must be an integer from ${MIN_NATIVE_SCHEMA} to ${MAX_NATIVE_SCHEMA}`)
  }
}

/** The index the zero threshold itself falls in; every exponential bucket in use has a greater index. */
export function zeroIndex(schema: number): number {
  checkSchema(schema)
  return ZERO_THRESHOLD_LOG2 * 2 ** schema
}

/**
 * The bucket index of an observation of `seconds` (> the zero threshold), or
 * undefined when it belongs to the zero bucket (including 0, negatives, NaN).
 */
export function bucketIndex(seconds: number, schema: number): number | undefined {
  checkSchema(schema)
  if (!(seconds > ZERO_THRESHOLD_SECONDS)) return undefined
  if (seconds === Number.POSITIVE_INFINITY) throw new TypeError('an observation must be finite')
  // Within an ulp above the threshold, log2 rounds onto it: still the first exponential bucket.
  return Math.max(Math.ceil(Math.log2(seconds) * 2 ** schema), zeroIndex(schema) + 1)
}

/** The bucket index of a latency in integer nanoseconds (the PxL script's arithmetic); undefined: zero bucket. */
export function bucketIndexOfNs(ns: number, schema: number): number | undefined {
  checkSchema(schema)
  if (!(ns > ZERO_THRESHOLD_NS)) return undefined
  return Math.ceil(Math.log2(ns / 1e9) * 2 ** schema)
}

/** Upper bound (inclusive) of bucket `index`, seconds: 2^(index / 2^schema). */
export function upperBound(index: number, schema: number): number {
  checkSchema(schema)
  return 2 ** (index / 2 ** schema)
}

/** Worst relative error of a quantile interpolated inside one bucket: base − 1. */
export function relativeError(schema: number): number {
  checkSchema(schema)
  return 2 ** (2 ** -schema) - 1
}

/** Sparse bucket counts of one native histogram: index → count, plus the zero bucket. */
export interface NativeBuckets {
  readonly zeroCount: number
  /** Positive buckets by index; entries with a count of 0 may be present or absent. */
  readonly counts: ReadonlyMap<number, number>
}

/** One run of consecutive buckets: `offset` is the gap to the previous span (the first span: its start index). */
export interface BucketSpan {
  readonly offset: number
  readonly length: number
}

/**
 * The wire form of the positive buckets: spans and deltas (each count minus
 * the previous one, the first against 0), the encoding of Prometheus'
 * `Histogram.positive_span` / `positive_delta`. Buckets with a count of 0 are
 * left out, except inside a span where a gap of 1 or 2 costs less than a new span.
 */
export function spansAndDeltas(counts: ReadonlyMap<number, number>): { spans: BucketSpan[]; deltas: number[] } {
  const indexes = [...counts].filter(([, n]) => n > 0).map(([i]) => i).sort((a, b) => a - b)
  const spans: { offset: number; length: number }[] = []
  const deltas: number[] = []
  let previousIndex: number | undefined
  let previousCount = 0
  for (const index of indexes) {
    const count = counts.get(index) ?? 0
    const last = spans.at(-1)
    if (previousIndex === undefined || last === undefined) {
      spans.push({ offset: index, length: 1 })
    } else {
      const gap = index - previousIndex - 1
      if (gap <= 2) {
        // Fill a short gap with empty buckets rather than starting a new span.
        for (let g = 0; g < gap; g++) {
          deltas.push(-previousCount)
          previousCount = 0
        }
        last.length += gap + 1
      } else {
        spans.push({ offset: gap, length: 1 })
      }
    }
    deltas.push(count - previousCount)
    previousCount = count
    previousIndex = index
  }
  return { spans, deltas }
}
