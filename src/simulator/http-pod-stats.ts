/**
 * The simulated `http_pod_stats` table (function `http_pod_stats` of
 * pixie-exporter's HTTP script, see answerers/http-pod-stats.ts): one row per
 * pod that served requests in the window, like Pixie's groupby (which has no
 * row for a pod without events).
 */
import { renderServices, type PodTraffic } from './traffic.js'

/** The count part of a query: the range start (its end is the query's `endNs`) and the latency buckets. */
export interface HttpCountsQuery {
  /** Count range start, absolute ns (inclusive). */
  readonly startNs: bigint
  /** Upper bounds of the latency buckets in ns, strictly increasing. */
  readonly bucketsNs: readonly bigint[]
  /** When set, the `http_pod_native_buckets` table is computed too, for this schema. */
  readonly native?: { readonly schema: number }
}

/** What the HTTP tables are computed from: the functions' arguments, decoded. */
export interface HttpQuery {
  /** Range start, absolute nanoseconds since the epoch (inclusive). */
  readonly startNs: bigint
  /** Range end, absolute nanoseconds since the epoch (exclusive). */
  readonly endNs: bigint
  /** A response with `resp_status >= errorStatusMin` is an error. */
  readonly errorStatusMin: number
  /** The namespace filter (`include_namespaces` / `exclude_namespaces`). */
  readonly keepNamespace: (namespace: string) => boolean
  /** Rows per table at most (Pixie's `max_output_rows_per_table`). */
  readonly maxRows: number
  readonly counts?: HttpCountsQuery
}

/** The `http_pod_stats` table, columnar, in the order of HTTP_POD_STATS_COLUMNS. */
export interface HttpPodStatsRows {
  readonly namespace: string[]
  /** `<namespace>/<pod>`. */
  readonly pod: string[]
  /** Pixie's ctx['service'] form. */
  readonly service: string[]
  readonly requests: number[]
  readonly errors: number[]
  readonly latencyP50Ns: number[]
  readonly latencyP90Ns: number[]
  readonly latencyP99Ns: number[]
  /** Number of rows sent (after the `max_output_rows_per_table` cut). */
  readonly length: number
  /** Rows dropped by the `max_output_rows_per_table` cut. */
  readonly truncated: number
  /** Requests in the window over all pods that passed the namespace filter (Pixie's records processed). */
  readonly recordsProcessed: number
}

/** Milliseconds after `startedAtMs` of an absolute nanosecond timestamp. */
export function offsetMs(ns: bigint, startedAtMs: number): number {
  return Number(ns - BigInt(Math.trunc(startedAtMs)) * 1_000_000n) / 1_000_000
}

/**
 * Computes the table for one run of the script. Plain loops, no per-row
 * objects: the benchmark runs it over 10,000 pods.
 */
export function simulateHttpPodStats(traffic: readonly PodTraffic[], params: HttpQuery, startedAtMs: number): HttpPodStatsRows {
  const startMs = offsetMs(params.startNs, startedAtMs)
  const endMs = offsetMs(params.endNs, startedAtMs)
  const rows = {
    namespace: [] as string[],
    pod: [] as string[],
    service: [] as string[],
    requests: [] as number[],
    errors: [] as number[],
    latencyP50Ns: [] as number[],
    latencyP90Ns: [] as number[],
    latencyP99Ns: [] as number[],
  }
  let length = 0
  let truncated = 0
  let recordsProcessed = 0
  for (const model of traffic) {
    const { pod } = model
    if (!params.keepNamespace(pod.namespace)) continue
    const counts = model.countsByIndex(startMs, endMs)
    let requests = 0
    let errors = 0
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i] ?? 0
      requests += n
      if ((model.codes[i] ?? 0) >= params.errorStatusMin) errors += n
    }
    if (requests === 0) continue
    recordsProcessed += requests
    if (length >= params.maxRows) {
      truncated++
      continue
    }
    const latency = model.latencyFor(startMs, endMs)
    rows.namespace.push(pod.namespace)
    rows.pod.push(`${pod.namespace}/${pod.name}`)
    rows.service.push(renderServices(pod))
    rows.requests.push(requests)
    rows.errors.push(errors)
    rows.latencyP50Ns.push(Math.floor(latency?.p50 ?? 0))
    rows.latencyP90Ns.push(Math.floor(latency?.p90 ?? 0))
    rows.latencyP99Ns.push(Math.floor(latency?.p99 ?? 0))
    length++
  }
  return { ...rows, length, truncated, recordsProcessed }
}
