import { CollectorResultError } from '../errors.js'
import type { Sample } from '../metrics/snapshot-metric.js'
import { STATUS_CLASSES } from '../pixie/scripts/http-pod-stats.js'

/** One pod's counts over one range, as decoded from `http_pod_counts`. */
export interface PodCountRow {
  readonly namespace: string
  readonly pod: string
  readonly service: string
  readonly requests: number
  /** By status class, in the order of STATUS_CLASSES. */
  readonly byClass: readonly number[]
  readonly latencySumSeconds: number
  /** Cumulative bucket counts, one per configured bound. */
  readonly buckets: readonly number[]
}

/** A pod's running totals. */
interface PodTotals {
  readonly labels: Readonly<Record<string, string>>
  readonly byClass: number[]
  readonly buckets: number[]
  requests: number
  latencySumSeconds: number
  lastSeenMs: number
}

/** Checks a row's internal consistency; throws CollectorResultError naming the row. */
export function checkCountRow(row: PodCountRow, index: number, buckets: number): void {
  const where = `${HTTP_COUNTS_NAME} row ${index} (${row.namespace}/${row.pod})`
  const classes = row.byClass.reduce((a, b) => a + b, 0)
  if (row.byClass.length !== STATUS_CLASSES.length || row.byClass.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    throw new CollectorResultError(`${where}: status class counts must be non-negative integers`)
  }
  if (classes !== row.requests) throw new CollectorResultError(`${where}: requests (${row.requests}) differ from the sum of status classes (${classes})`)
  if (row.buckets.length !== buckets) throw new CollectorResultError(`${where}: expected ${buckets} bucket counts, got ${row.buckets.length}`)
  row.buckets.forEach((n, i) => {
    const previous = i === 0 ? 0 : (row.buckets[i - 1] ?? 0)
    if (!Number.isSafeInteger(n) || n < previous || n > row.requests) {
      throw new CollectorResultError(`${where}: bucket counts must be non-decreasing and at most requests`)
    }
  })
  if (!(row.latencySumSeconds >= 0)) throw new CollectorResultError(`${where}: latency sum must be >= 0`)
}

const HTTP_COUNTS_NAME = 'http_pod_counts'

/**
 * Running totals per pod (namespace, pod, service), added up from contiguous
 * ranges. A pod's series are created when it is first seen, with every status
 * class at 0, and removed once it has not been seen for `expireAfterMs`.
 */
export class HttpCounterStore {
  readonly bucketsSeconds: readonly number[]
  readonly #expireAfterMs: number
  readonly #pods = new Map<string, PodTotals>()

  constructor(options: { bucketsSeconds: readonly number[]; expireAfterMs: number }) {
    this.bucketsSeconds = options.bucketsSeconds
    this.#expireAfterMs = options.expireAfterMs
  }

  /** Number of pods with series. */
  get size(): number {
    return this.#pods.size
  }

  /**
   * Adds one range's rows (already checked with {@link checkCountRow}) and
   * expires pods not seen for `expireAfterMs`; `nowMs` is monotonic time. Synchronous, so a scrape never
   * sees half of it.
   */
  add(rows: readonly PodCountRow[], nowMs: number): void {
    for (const row of rows) {
      const key = `${row.namespace}\u0000${row.pod}\u0000${row.service}`
      let totals = this.#pods.get(key)
      if (totals === undefined) {
        totals = {
          labels: { namespace: row.namespace, pod: row.pod, service: row.service },
          byClass: STATUS_CLASSES.map(() => 0),
          buckets: this.bucketsSeconds.map(() => 0),
          requests: 0,
          latencySumSeconds: 0,
          lastSeenMs: nowMs,
        }
        this.#pods.set(key, totals)
      }
      row.byClass.forEach((n, i) => (totals.byClass[i] = (totals.byClass[i] ?? 0) + n))
      row.buckets.forEach((n, i) => (totals.buckets[i] = (totals.buckets[i] ?? 0) + n))
      totals.requests += row.requests
      totals.latencySumSeconds += row.latencySumSeconds
      totals.lastSeenMs = nowMs
    }
    for (const [key, totals] of this.#pods) {
      if (nowMs - totals.lastSeenMs > this.#expireAfterMs) this.#pods.delete(key)
    }
  }

  /** Samples of `pixie_http_requests_total`. */
  *requestSamples(): Generator<Sample> {
    for (const totals of this.#pods.values()) {
      for (let i = 0; i < STATUS_CLASSES.length; i++) {
        yield { labels: totals.labels, extra: ['status_class', STATUS_CLASSES[i] ?? ''], value: totals.byClass[i] ?? 0 }
      }
    }
  }

  /** Samples of the latency histogram: `_bucket{le}` (cumulative, with +Inf), `_sum`, `_count`. */
  *histogramSamples(name: string): Generator<Sample> {
    const bounds = this.bucketsSeconds.map(String)
    const bucket = `${name}_bucket`
    for (const totals of this.#pods.values()) {
      for (let i = 0; i < bounds.length; i++) {
        yield { labels: totals.labels, extra: ['le', bounds[i] ?? ''], value: totals.buckets[i] ?? 0, metricName: bucket }
      }
      yield { labels: totals.labels, extra: ['le', '+Inf'], value: totals.requests, metricName: bucket }
      yield { labels: totals.labels, value: totals.latencySumSeconds, metricName: `${name}_sum` }
      yield { labels: totals.labels, value: totals.requests, metricName: `${name}_count` }
    }
  }
}
