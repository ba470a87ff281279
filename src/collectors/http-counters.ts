import { CollectorResultError } from '../errors.js'
import { flatString, type Sample } from '../metrics/snapshot-metric.js'
import { ZERO_THRESHOLD_SECONDS, spansAndDeltas, zeroIndex } from '../metrics/native-histogram.js'
import { MetricType, beginFamily, beginMetric, writeHistogram, writeLabelPair, writeValue, type LabelPair } from '../metrics/protobuf.js'
import type { ProtoWriter } from '../metrics/protobuf-writer.js'
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

/** One run's native histogram buckets by pod ({@link podKey}): exponential bucket index → requests in it. */
export type NativeByPod = Map<string, Map<number, number>>

/** Where a native histogram's classic buckets go in the protobuf exposition (see docs/configuration.md). */
export type ClassicInProtobuf = 'separate' | 'inline' | 'none'

/**
 * A pod's running totals, packed: one object and one typed array per pod
 * (10,000 pods hold a few MiB in the worker, not one small array per figure).
 */
interface PodTotals {
  readonly labels: Readonly<Record<string, string>>
  /** See {@link HttpCounterStore}'s offsets: counts by class, held-back counts by class, buckets, requests, latency sum, last seen. */
  readonly n: Float64Array
  /** Bit i set: status class i is exported (see HttpCounterStore). */
  shown: number
  /** Native histogram: requests by exponential bucket index (the zero bucket under zeroIndex); only with a native schema. */
  readonly native: Map<number, number> | undefined
}

/** A pod's totals as {@link HttpCounterStore.totals} gives them (built per call, for rendering). */
export interface PodTotalsView {
  readonly labels: Readonly<Record<string, string>>
  /** The labels as protobuf label pairs. */
  readonly labelPairs: readonly LabelPair[]
  /** Cumulative counts, one per bound of bucketsSeconds. */
  readonly buckets: readonly number[]
  readonly requests: number
  readonly latencySumSeconds: number
  /** Empty without a native schema. */
  readonly native: ReadonlyMap<number, number>
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

const keyOf = (namespace: string, pod: string, service: string) => `${namespace}\u0000${pod}\u0000${service}`
const podKey = (r: { namespace: string; pod: string; service: string }) => keyOf(r.namespace, r.pod, r.service)
const nativeRow = (i: number, namespace: string, pod: string) => `http_pod_native_buckets row ${i} (${namespace}/${pod})`
const EMPTY_NATIVE: ReadonlyMap<number, number> = new Map()

/** The columns of `http_pod_native_buckets`, decoded (labels already turned into label values). */
export interface NativeColumns {
  readonly rows: number
  readonly namespace: (i: number) => string
  readonly pod: (i: number) => string
  readonly service: (i: number) => string
  readonly bucket: (i: number) => number
  readonly count: (i: number) => number
}

/**
 * Adds up `http_pod_native_buckets` by pod, checked against `http_pod_counts`
 * of the same run: counts are positive integers, no (pod, bucket) twice, and
 * every pod's buckets add up to its requests (Pixie counts both from the same
 * rows). Rows of pods without a count row are left out. When the native table
 * was cut by maxRows (`complete` false), the pods whose sums disagree are
 * dropped instead (counted in `dropped`). Throws CollectorResultError naming
 * the row. No object per row: 10,000 pods give ~450,000 rows a poll.
 */
export function nativeByPod(counts: readonly PodCountRow[], columns: NativeColumns, complete: boolean): { byPod: NativeByPod; dropped: number } {
  const requests = new Map(counts.map((r) => [podKey(r), r.requests]))
  const byPod: NativeByPod = new Map()
  const sums = new Map<string, number>()
  for (let i = 0; i < columns.rows; i++) {
    const namespace = columns.namespace(i)
    const pod = columns.pod(i)
    const bucket = columns.bucket(i)
    const count = columns.count(i)
    if (!Number.isSafeInteger(bucket)) throw new CollectorResultError(`${nativeRow(i, namespace, pod)}: bucket index must be an integer`)
    if (!Number.isSafeInteger(count) || count <= 0) throw new CollectorResultError(`${nativeRow(i, namespace, pod)}: count must be a positive integer`)
    const key = keyOf(namespace, pod, columns.service(i))
    let buckets = byPod.get(key)
    if (buckets === undefined) byPod.set(key, (buckets = new Map()))
    if (buckets.has(bucket)) throw new CollectorResultError(`${nativeRow(i, namespace, pod)}: bucket ${bucket} appears twice`)
    buckets.set(bucket, count)
    sums.set(key, (sums.get(key) ?? 0) + count)
  }
  const bad = new Set<string>()
  for (const [key, sum] of sums) {
    const want = requests.get(key)
    // A pod without a count row (that table was cut by maxRows) counts nothing in this run.
    if (want === undefined) byPod.delete(key)
    else if (sum !== want) bad.add(key)
  }
  if (complete) {
    for (const [key, want] of requests) if ((sums.get(key) ?? 0) !== want) bad.add(key)
    const first = [...bad][0]
    if (first !== undefined) {
      const [ns, pod] = first.split('\u0000')
      throw new CollectorResultError(
        `http_pod_native_buckets: the buckets of ${ns}/${pod} add up to ${sums.get(first) ?? 0}, but http_pod_counts has ${requests.get(first) ?? 0} requests`,
      )
    }
  }
  for (const key of bad) byPod.delete(key)
  return { byPod, dropped: bad.size }
}

/** Status classes exported for every pod, answered or not: the templates, rules and dashboards select them by name. */
const ALWAYS_SHOWN: ReadonlySet<string> = new Set(['2xx', '5xx'])

/**
 * Running totals per pod (namespace, pod, service), added up from contiguous
 * ranges. A pod's series are created when it is first seen and removed once it
 * has not been seen for `expireAfterMs`.
 *
 * `pixie_http_requests_total` has a series for 2xx and 5xx always, and for
 * 1xx, 3xx and 4xx only once the pod answered one (a lean series budget:
 * most pods never answer 1xx or 3xx). A class that appears on a pod already
 * exported is first published at 0 and gets its count one publication later,
 * so that Prometheus' rate() and increase() count its first requests instead
 * of taking the new series' first value as its start.
 */
export class HttpCounterStore {
  readonly bucketsSeconds: readonly number[]
  /** Schema of the native histogram; undefined: none. */
  readonly nativeSchema: number | undefined
  readonly #expireAfterMs: number
  readonly #pods = new Map<string, PodTotals>()
  // Offsets into PodTotals.n.
  readonly #pending = STATUS_CLASSES.length
  readonly #bucket = 2 * STATUS_CLASSES.length
  readonly #requests: number
  readonly #sum: number
  readonly #seen: number

  constructor(options: { bucketsSeconds: readonly number[]; expireAfterMs: number; nativeSchema?: number }) {
    this.bucketsSeconds = options.bucketsSeconds
    this.#expireAfterMs = options.expireAfterMs
    this.nativeSchema = options.nativeSchema
    this.#requests = this.#bucket + options.bucketsSeconds.length
    this.#sum = this.#requests + 1
    this.#seen = this.#requests + 2
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
  add(rows: readonly PodCountRow[], nowMs: number, native: NativeByPod = new Map()): void {
    const classes = STATUS_CLASSES.length
    const pending = this.#pending
    // Counts held back at the previous publication are added now.
    for (const totals of this.#pods.values()) {
      const n = totals.n
      for (let i = 0; i < classes; i++) {
        const held = n[pending + i] ?? 0
        if (held > 0) {
          n[i] = (n[i] ?? 0) + held
          n[pending + i] = 0
        }
      }
    }
    for (const row of rows) {
      const key = podKey(row)
      let totals = this.#pods.get(key)
      if (totals === undefined) {
        let shown = 0
        // A new pod starts with 2xx, 5xx and the classes it answered in this range.
        STATUS_CLASSES.forEach((c, i) => {
          if (ALWAYS_SHOWN.has(c) || (row.byClass[i] ?? 0) > 0) shown |= 1 << i
        })
        totals = {
          labels: { namespace: row.namespace, pod: row.pod, service: row.service },
          n: new Float64Array(this.#seen + 1),
          shown,
          native: this.nativeSchema === undefined ? undefined : new Map(),
        }
        // Stored under a flat copy of the key (the template above is a tree of pieces in V8).
        this.#pods.set(flatString(key), totals)
      }
      const n = totals.n
      for (let i = 0; i < classes; i++) {
        const count = row.byClass[i] ?? 0
        if (count === 0) continue
        if ((totals.shown & (1 << i)) !== 0) {
          n[i] = (n[i] ?? 0) + count
        } else {
          // First answer of this class by a pod already exported: the series
          // appears at 0 now and gets the count at the next publication, so
          // that rate()/increase() see the first increment.
          totals.shown |= 1 << i
          n[pending + i] = (n[pending + i] ?? 0) + count
        }
      }
      row.buckets.forEach((count, i) => (n[this.#bucket + i] = (n[this.#bucket + i] ?? 0) + count))
      n[this.#requests] = (n[this.#requests] ?? 0) + row.requests
      n[this.#sum] = (n[this.#sum] ?? 0) + row.latencySumSeconds
      n[this.#seen] = nowMs
    }
    // Native buckets of pods that have a count row in this run (nativeByPod).
    for (const [key, buckets] of native) {
      const totals = this.#pods.get(key)?.native
      if (totals === undefined) continue
      for (const [bucket, count] of buckets) totals.set(bucket, (totals.get(bucket) ?? 0) + count)
    }
    for (const [key, totals] of this.#pods) {
      if (nowMs - (totals.n[this.#seen] ?? 0) > this.#expireAfterMs) this.#pods.delete(key)
    }
  }

  /** The pods' running totals, one view per pod built on the fly (for the protobuf forms). */
  *totals(): Generator<PodTotalsView> {
    const bounds = this.bucketsSeconds.length
    for (const totals of this.#pods.values()) {
      const n = totals.n
      const { namespace = '', pod = '', service = '' } = totals.labels
      yield {
        labels: totals.labels,
        labelPairs: [
          { name: 'namespace', value: namespace },
          { name: 'pod', value: pod },
          { name: 'service', value: service },
        ],
        buckets: Array.from(n.subarray(this.#bucket, this.#bucket + bounds)),
        requests: n[this.#requests] ?? 0,
        latencySumSeconds: n[this.#sum] ?? 0,
        native: totals.native ?? EMPTY_NATIVE,
      }
    }
  }

  /** Samples of `pixie_http_requests_total`. */
  *requestSamples(): Generator<Sample> {
    for (const totals of this.#pods.values()) {
      for (let i = 0; i < STATUS_CLASSES.length; i++) {
        if ((totals.shown & (1 << i)) === 0) continue
        yield { labels: totals.labels, extra: ['status_class', STATUS_CLASSES[i] ?? ''], value: totals.n[i] ?? 0 }
      }
    }
  }

  /**
   * Samples of the latency histogram: `_bucket{le}` (cumulative, with +Inf),
   * then `_sum` and `_count` unless `sumAndCount` is false (the lean default:
   * `_count` repeats the +Inf bucket, and no shipped query reads `_sum`).
   */
  *histogramSamples(name: string, sumAndCount = true): Generator<Sample> {
    const bounds = this.bucketsSeconds.map(String)
    const bucket = `${name}_bucket`
    for (const totals of this.#pods.values()) {
      const n = totals.n
      for (let i = 0; i < bounds.length; i++) {
        yield { labels: totals.labels, extra: ['le', bounds[i] ?? ''], value: n[this.#bucket + i] ?? 0, metricName: bucket }
      }
      const requests = n[this.#requests] ?? 0
      yield { labels: totals.labels, extra: ['le', '+Inf'], value: requests, metricName: bucket }
      if (!sumAndCount) continue
      yield { labels: totals.labels, value: n[this.#sum] ?? 0, metricName: `${name}_sum` }
      yield { labels: totals.labels, value: requests, metricName: `${name}_count` }
    }
  }
}

/**
 * The protobuf families of the latency histogram with native buckets,
 * written to `w` pod by pod (no message object per pod): one HISTOGRAM
 * family whose messages carry the native buckets (schema, zero bucket, spans
 * and deltas) and, per `classic`:
 *
 * - `separate`: the classic series as their own COUNTER families
 *   `<name>_bucket{le}` and, with `sumAndCount`, `<name>_sum`, `<name>_count`. Prometheus 2.42 to 2.44
 *   ingest only the native part of a histogram that has one, so this keeps
 *   every classic series (and every query on them) working beside it;
 * - `inline`: the classic buckets inside the same Histogram messages (for a
 *   Prometheus that ingests both, `scrape_classic_histograms: true`);
 * - `none`: native buckets only.
 *
 * The native count is the sum of the native buckets (the requests counted by
 * Pixie over the same ranges), the sum is the latency sum. Families without
 * pods are left out.
 */
export function writeNativeHistogramFamilies(
  w: ProtoWriter,
  store: HttpCounterStore,
  name: string,
  help: string,
  classic: ClassicInProtobuf,
  sumAndCount = true,
): void {
  const schema = store.nativeSchema
  if (schema === undefined) throw new TypeError('the counter store has no native histogram schema')
  if (store.size === 0) return
  const zero = zeroIndex(schema)
  const bounds = store.bucketsSeconds
  const boundText = bounds.map(String)
  const labels = (totals: PodTotalsView, extra?: readonly [string, string]) => {
    for (const l of totals.labelPairs) writeLabelPair(w, l.name, l.value)
    if (extra !== undefined) writeLabelPair(w, extra[0], extra[1])
  }
  const histograms = beginFamily(w, name, help, MetricType.HISTOGRAM)
  for (const totals of store.totals()) {
    const positive = new Map(totals.native)
    const zeroCount = positive.get(zero) ?? 0
    positive.delete(zero)
    const { spans, deltas } = spansAndDeltas(positive)
    let count = zeroCount
    for (const n of positive.values()) count += n
    const metric = beginMetric(w)
    labels(totals)
    writeHistogram(w, {
      sampleCount: count,
      sampleSum: totals.latencySumSeconds,
      ...(classic === 'inline' && {
        bucket: [...bounds.map((b, i) => ({ cumulativeCount: totals.buckets[i] ?? 0, upperBound: b })), { cumulativeCount: totals.requests, upperBound: Number.POSITIVE_INFINITY }],
      }),
      schema,
      zeroThreshold: ZERO_THRESHOLD_SECONDS,
      zeroCount,
      positiveSpan: spans,
      positiveDelta: deltas,
    })
    w.end(metric)
  }
  w.end(histograms)
  if (classic !== 'separate') return
  const counterFamily = (familyName: string, familyHelp: string, each: (totals: PodTotalsView) => void) => {
    const family = beginFamily(w, familyName, familyHelp, MetricType.COUNTER)
    for (const totals of store.totals()) each(totals)
    w.end(family)
  }
  const counter = (totals: PodTotalsView, value: number, extra?: readonly [string, string]) => {
    const metric = beginMetric(w)
    labels(totals, extra)
    writeValue(w, 'counter', value)
    w.end(metric)
  }
  counterFamily(`${name}_bucket`, `Classic buckets of ${name} (cumulative, by le).`, (totals) => {
    boundText.forEach((b, i) => counter(totals, totals.buckets[i] ?? 0, ['le', b]))
    counter(totals, totals.requests, ['le', '+Inf'])
  })
  // Like the text exposition: _sum and _count only when configured (the native part carries both anyway).
  if (!sumAndCount) return
  counterFamily(`${name}_sum`, `Sum of ${name}.`, (totals) => counter(totals, totals.latencySumSeconds))
  counterFamily(`${name}_count`, `Count of ${name}.`, (totals) => counter(totals, totals.requests))
}
