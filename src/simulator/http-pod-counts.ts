/**
 * The simulated `http_pod_counts` table of pixie-exporter's built-in script:
 * per pod, the requests over the contiguous count range [counts.startNs, endNs)
 * by status class, their latency sum and cumulative latency-bucket counts.
 * Like Pixie's groupby, a pod has a row only if it served requests with a
 * status from 100 to 599 in the range.
 */
import type { HttpPodStatsParams } from '../pixie/scripts/http-pod-stats.js'
import { offsetMs } from './http-pod-stats.js'
import { renderServices, type PodTraffic } from './traffic.js'

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
}

/**
 * Computes the `http_pod_counts` table for one run, or undefined when the
 * script asked for no counts. Plain loops: the benchmark runs it over 10,000 pods.
 */
export function simulateHttpPodCounts(traffic: readonly PodTraffic[], params: HttpPodStatsParams, startedAtMs: number): HttpPodCountsRows | undefined {
  const { counts } = params
  if (counts === undefined) return undefined
  const startMs = offsetMs(counts.startNs, startedAtMs)
  const endMs = offsetMs(params.endNs, startedAtMs)
  const bucketsNs = counts.bucketsNs.map(Number)
  const include = new Set(params.include)
  const exclude = new Set(params.exclude)
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
  let length = 0
  let truncated = 0
  let recordsProcessed = 0
  for (let p = 0; p < traffic.length; p++) {
    const model = traffic[p]
    if (model === undefined) continue
    const { pod } = model
    if (include.size > 0 && !include.has(pod.namespace)) continue
    if (exclude.has(pod.namespace)) continue
    const byCode = model.codes.map(() => 0)
    model.cellCountsInto(startMs, endMs, bucketsNs, byCode, bucketCounts)
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
  }
  return { ...rows, length, truncated, recordsProcessed, startMs, endMs, bucketsNs }
}
