/**
 * The simulated `http_pod_counts` table (function `http_pod_counts` of
 * pixie-exporter's HTTP script):
 * per pod, the requests over the contiguous count range [counts.startNs, endNs)
 * by status class, their latency sum and cumulative latency-bucket counts.
 * Like Pixie's groupby, a pod has a row only if it served requests with a
 * status from 100 to 599 in the range.
 */
import { offsetMs, type HttpQuery } from './http-pod-stats.js'
import { ZERO_THRESHOLD_SECONDS, upperBound, zeroIndex } from './native-buckets.js'
import { renderServices, type PodTraffic } from './traffic.js'

/**
 * The simulated `http_pod_native_buckets` table: per pod and exponential
 * bucket index, its requests over the count range (only non-empty buckets,
 * like Pixie's groupby). The zero bucket has index `zeroIndex(schema)`.
 */
export interface HttpPodNativeBucketRows {
  readonly namespace: string[]
  readonly pod: string[]
  readonly service: string[]
  readonly bucket: number[]
  readonly count: number[]
  /** Per row, the index of its pod in the traffic list (for ground truth). */
  readonly podIndex: number[]
  /** Number of rows sent (after the `max_output_rows_per_table` cut). */
  readonly length: number
  /** Rows dropped by the `max_output_rows_per_table` cut. */
  readonly truncated: number
  readonly schema: number
}

/**
 * Per pod and schema: the exponential buckets that can hold its requests
 * (the phases' log-normals ± 9 sigma, at least one bucket either side of
 * each phase's median), merged with the classic bounds so that one cell model
 * yields both tables and they agree exactly (same requests, same cells).
 */
interface NativeLayout {
  readonly classicNs: readonly number[]
  /** Sorted, distinct: the zero threshold, the exponential bounds, the classic bounds (ns). */
  readonly mergedNs: readonly number[]
  /** Position of each classic bound in mergedNs. */
  readonly classicAt: readonly number[]
  /** Bucket index of each merged bound (the zero threshold: zeroIndex); undefined for a classic-only bound. */
  readonly indexAt: readonly (number | undefined)[]
  /** Index of the bucket above the last exponential bound (holds everything above it). */
  readonly overflowIndex: number
}

const layouts = new WeakMap<PodTraffic, Map<string, NativeLayout>>()
const SIGMAS = 9

function nativeLayout(model: PodTraffic, schema: number, classicNs: readonly number[]): NativeLayout {
  let bySchema = layouts.get(model)
  if (bySchema === undefined) {
    bySchema = new Map()
    layouts.set(model, bySchema)
  }
  const key = `${schema}:${classicNs.join(',')}`
  const cached = bySchema.get(key)
  if (cached !== undefined) return cached
  const zero = zeroIndex(schema)
  const scale = 2 ** schema
  let lo = Number.POSITIVE_INFINITY
  let hi = Number.NEGATIVE_INFINITY
  for (const { mu, sigma } of model.latencyDistributions()) {
    // ln(ns) → index: ceil(log2(ns / 1e9) · 2^schema).
    const index = (lnNs: number) => Math.ceil((lnNs / Math.LN2 - Math.log2(1e9)) * scale)
    lo = Math.min(lo, index(mu - SIGMAS * sigma) - 1)
    hi = Math.max(hi, index(mu + SIGMAS * sigma) + 1)
  }
  if (!Number.isFinite(lo)) {
    lo = zero + 1
    hi = zero + 1
  }
  lo = Math.max(lo, zero + 1)
  hi = Math.max(hi, lo)
  const entries = new Map<number, number | undefined>()
  entries.set(ZERO_THRESHOLD_SECONDS * 1e9, zero)
  for (let i = lo; i <= hi; i++) entries.set(upperBound(i, schema) * 1e9, i)
  for (const b of classicNs) if (!entries.has(b)) entries.set(b, undefined)
  const mergedNs = [...entries.keys()].sort((a, b) => a - b)
  const layout: NativeLayout = {
    classicNs,
    mergedNs,
    classicAt: classicNs.map((b) => mergedNs.indexOf(b)),
    indexAt: mergedNs.map((b) => entries.get(b)),
    overflowIndex: hi + 1,
  }
  bySchema.set(key, layout)
  return layout
}

/** The `http_pod_counts` table, columnar, in the order of `httpPodCountsColumns(n)`. */
export interface HttpPodCountsRows {
  readonly namespace: string[]
  /** `<namespace>/<pod>`. */
  readonly pod: string[]
  /** Pixie's ctx['service'] form. */
  readonly service: string[]
  /** Requests with a status from 100 to 599. */
  readonly requests: number[]
  /** Five columns, `s1xx` ... `s5xx`. */
  readonly byClass: readonly number[][]
  readonly latencySumNs: number[]
  /** One column per bucket bound: requests with latency <= the bound. */
  readonly buckets: readonly number[][]
  /** Per row, the index of its pod in the traffic list (for ground truth). */
  readonly podIndex: number[]
  /** Per row, counts by status code index of the pod's traffic model (for ground truth). */
  readonly byCode: number[][]
  /** Number of rows sent (after the `max_output_rows_per_table` cut). */
  readonly length: number
  /** Rows dropped by the `max_output_rows_per_table` cut. */
  readonly truncated: number
  /** Requests in the range over all pods that passed the namespace filter. */
  readonly recordsProcessed: number
  /** The count range, ms after the simulator's start. */
  readonly startMs: number
  readonly endMs: number
  /** The bucket bounds in ns, as numbers. */
  readonly bucketsNs: readonly number[]
  /** The `http_pod_native_buckets` table, when the script asked for it. */
  readonly native?: HttpPodNativeBucketRows
}

/**
 * Computes the `http_pod_counts` table for one run, or undefined when the
 * script asked for no counts. Plain loops: the benchmark runs it over 10,000 pods.
 */
export function simulateHttpPodCounts(traffic: readonly PodTraffic[], params: HttpQuery, startedAtMs: number): HttpPodCountsRows | undefined {
  const { counts } = params
  if (counts === undefined) return undefined
  const startMs = offsetMs(counts.startNs, startedAtMs)
  const endMs = offsetMs(params.endNs, startedAtMs)
  const bucketsNs = counts.bucketsNs.map(Number)
  const rows = {
    namespace: [] as string[],
    pod: [] as string[],
    service: [] as string[],
    requests: [] as number[],
    byClass: [[], [], [], [], []] as number[][],
    latencySumNs: [] as number[],
    buckets: bucketsNs.map(() => [] as number[]),
    podIndex: [] as number[],
    byCode: [] as number[][],
  }
  const classCounts = [0, 0, 0, 0, 0]
  const bucketCounts = bucketsNs.map(() => 0)
  const schema = counts.native?.schema
  const native =
    schema === undefined
      ? undefined
      : { namespace: [] as string[], pod: [] as string[], service: [] as string[], bucket: [] as number[], count: [] as number[], podIndex: [] as number[], length: 0, truncated: 0, schema }
  let length = 0
  let truncated = 0
  let recordsProcessed = 0
  for (let p = 0; p < traffic.length; p++) {
    const model = traffic[p]
    if (model === undefined) continue
    const { pod } = model
    if (!params.keepNamespace(pod.namespace)) continue
    const byCode = model.codes.map(() => 0)
    const layout = schema === undefined ? undefined : nativeLayout(model, schema, bucketsNs)
    let merged: number[] | undefined
    if (layout === undefined) {
      model.cellCountsInto(startMs, endMs, bucketsNs, byCode, bucketCounts)
    } else {
      merged = layout.mergedNs.map(() => 0)
      model.cellCountsInto(startMs, endMs, layout.mergedNs, byCode, merged)
      for (let j = 0; j < bucketCounts.length; j++) bucketCounts[j] = merged[layout.classicAt[j] ?? -1] ?? 0
    }
    classCounts.fill(0)
    let requests = 0
    for (let i = 0; i < byCode.length; i++) {
      const cls = model.classes[i] ?? -1
      if (cls < 0) continue
      const n = byCode[i] ?? 0
      classCounts[cls] = (classCounts[cls] ?? 0) + n
      requests += n
    }
    if (requests === 0) continue
    recordsProcessed += requests
    if (length >= params.maxRows) {
      truncated++
      continue
    }
    rows.namespace.push(pod.namespace)
    rows.pod.push(`${pod.namespace}/${pod.name}`)
    rows.service.push(renderServices(pod))
    rows.requests.push(requests)
    for (let c = 0; c < 5; c++) rows.byClass[c]?.push(classCounts[c] ?? 0)
    rows.latencySumNs.push(model.latencySumNs(startMs, endMs))
    for (let j = 0; j < bucketCounts.length; j++) rows.buckets[j]?.push(bucketCounts[j] ?? 0)
    rows.podIndex.push(p)
    rows.byCode.push(byCode)
    length++
    if (native !== undefined && layout !== undefined && merged !== undefined) {
      // Per exponential bucket: the cumulative count at its bound minus the
      // one at the previous exponential bound (classic-only bounds in between
      // are skipped); above the last bound: the rest of the requests.
      let below = 0
      const add = (bucket: number, count: number) => {
        if (count <= 0) return
        if (native.length >= params.maxRows) {
          native.truncated++
          return
        }
        native.namespace.push(pod.namespace)
        native.pod.push(`${pod.namespace}/${pod.name}`)
        native.service.push(renderServices(pod))
        native.bucket.push(bucket)
        native.count.push(count)
        native.podIndex.push(p)
        native.length++
      }
      for (let j = 0; j < layout.mergedNs.length; j++) {
        const index = layout.indexAt[j]
        if (index === undefined) continue
        const cumulative = merged[j] ?? 0
        add(index, cumulative - below)
        below = cumulative
      }
      add(layout.overflowIndex, requests - below)
    }
  }
  return { ...rows, length, truncated, recordsProcessed, startMs, endMs, bucketsNs, ...(native !== undefined && { native }) }
}
