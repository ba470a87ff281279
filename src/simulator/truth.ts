/**
 * Ground truth of a running simulator: the sums of everything it reported in
 * `http_pod_counts` answers, per pod, so that an end-to-end test can compare an
 * exporter's counters and histogram with what a correct exporter must show.
 */
import type { HttpPodCountsRows } from './http-pod-counts.js'
import { STATUS_CLASSES, type PodTraffic, type StatusClass } from './traffic.js'

/** The phase a pod serves at the moment the truth is read. */
export interface PhaseTruth {
  /** Requests per second. */
  readonly rps: number
  /** The phase's latency quantiles in ns, as in the scenario (p90 interpolated when not given). */
  readonly p50Ns: number
  readonly p90Ns: number
  readonly p99Ns: number
}

/** One latency bucket: requests with latency <= `leNs`, summed over the recorded ranges. */
export interface BucketTruth {
  readonly leNs: number
  readonly count: number
}

/** Everything reported for one pod, summed over every recorded count range. */
export interface PodTruth {
  /** Requests with a status from 100 to 599. */
  readonly requests: number
  /** Requests by status code (string keys, as in JSON). */
  readonly byStatus: Readonly<Record<string, number>>
  readonly byClass: Readonly<Record<StatusClass, number>>
  readonly latencySumNs: number
  /** Sorted by bound. A bound appears once it was part of a recorded answer. */
  readonly latencyBuckets: readonly BucketTruth[]
  /**
   * Requests per native-histogram bucket index (`http_pod_native_buckets`
   * answers, summed; the zero bucket under zeroIndex(schema)); empty when the
   * exporter never asked for them.
   */
  readonly nativeBuckets: Readonly<Record<string, number>>
  /** The phase serving now; null when the pod does not exist now. */
  readonly now: PhaseTruth | null
}

/** The JSON document served at `GET /truth` and returned by `RunningSimulator.truth()`. */
export interface SimulatorTruth {
  readonly scenario: string
  /** Scenario time zero, ms since the epoch. */
  readonly startedAt: number
  /** The simulator clock when the truth was read, ms after `startedAt`. */
  readonly offsetMs: number
  /** Number of complete `http_pod_counts` answers recorded. */
  readonly countRanges: number
  /** End of the last recorded count range, ms after `startedAt`; null before the first. */
  readonly countedUntilMs: number | null
  /** Start of the first recorded count range, ms after `startedAt`; null before the first. */
  readonly countedFromMs: number | null
  /** Total time between consecutive recorded ranges that no range covered, ms (a correct exporter: only skipped time). */
  readonly gapsMs: number
  /** Total time covered by more than one recorded range, ms (a correct exporter: 0, no double counting). */
  readonly overlapsMs: number
  /** Every pod of the scenario, keyed `<namespace>/<name>`. */
  readonly pods: Readonly<Record<string, PodTruth>>
}

interface PodSums {
  requests: number
  readonly byCode: number[]
  readonly byClass: number[]
  latencySumNs: number
  readonly buckets: Map<number, number>
  readonly native: Map<number, number>
}

/** Accumulates recorded `http_pod_counts` answers; see {@link SimulatorTruth}. */
export class GroundTruth {
  readonly #traffic: readonly PodTraffic[]
  readonly #scenario: string
  readonly #startedAt: number
  readonly #sums: (PodSums | undefined)[]
  #ranges = 0
  #countedUntilMs: number | null = null
  #countedFromMs: number | null = null
  #gapsMs = 0
  #overlapsMs = 0

  constructor(scenario: string, traffic: readonly PodTraffic[], startedAt: number) {
    this.#scenario = scenario
    this.#traffic = traffic
    this.#startedAt = startedAt
    this.#sums = traffic.map(() => undefined)
  }

  /** Adds one complete answer (only the rows actually sent). */
  record(rows: HttpPodCountsRows): void {
    for (let r = 0; r < rows.length; r++) {
      const p = rows.podIndex[r] ?? -1
      const model = this.#traffic[p]
      if (model === undefined) continue
      let sums = this.#sums[p]
      if (sums === undefined) {
        sums = { requests: 0, byCode: model.codes.map(() => 0), byClass: [0, 0, 0, 0, 0], latencySumNs: 0, buckets: new Map(), native: new Map() }
        this.#sums[p] = sums
      }
      sums.requests += rows.requests[r] ?? 0
      rows.byCode[r]?.forEach((n, i) => (sums.byCode[i] = (sums.byCode[i] ?? 0) + n))
      for (let c = 0; c < 5; c++) sums.byClass[c] = (sums.byClass[c] ?? 0) + (rows.byClass[c]?.[r] ?? 0)
      sums.latencySumNs += rows.latencySumNs[r] ?? 0
      rows.bucketsNs.forEach((le, j) => sums.buckets.set(le, (sums.buckets.get(le) ?? 0) + (rows.buckets[j]?.[r] ?? 0)))
    }
    const native = rows.native
    if (native !== undefined) {
      for (let r = 0; r < native.length; r++) {
        const sums = this.#sums[native.podIndex[r] ?? -1]
        const bucket = native.bucket[r] ?? 0
        if (sums !== undefined) sums.native.set(bucket, (sums.native.get(bucket) ?? 0) + (native.count[r] ?? 0))
      }
    }
    this.#ranges++
    if (this.#countedUntilMs === null) this.#countedFromMs = rows.startMs
    else if (rows.startMs > this.#countedUntilMs) this.#gapsMs += rows.startMs - this.#countedUntilMs
    else this.#overlapsMs += Math.min(this.#countedUntilMs, rows.endMs) - rows.startMs
    this.#countedUntilMs = rows.endMs
  }

  /** A plain JSON-able snapshot at `nowMs` (ms since the epoch). */
  snapshot(nowMs: number): SimulatorTruth {
    const offset = nowMs - this.#startedAt
    const pods: Record<string, PodTruth> = {}
    this.#traffic.forEach((model, p) => {
      const sums = this.#sums[p]
      const byStatus: Record<string, number> = {}
      model.codes.forEach((code, i) => {
        const n = sums?.byCode[i] ?? 0
        if (n > 0) byStatus[String(code)] = n
      })
      const phase = model.phaseAt(offset)
      pods[`${model.pod.namespace}/${model.pod.name}`] = {
        requests: sums?.requests ?? 0,
        byStatus,
        byClass: Object.fromEntries(STATUS_CLASSES.map((c, i) => [c, sums?.byClass[i] ?? 0])) as Record<StatusClass, number>,
        latencySumNs: sums?.latencySumNs ?? 0,
        latencyBuckets: [...(sums?.buckets ?? new Map<number, number>())].sort(([a], [b]) => a - b).map(([leNs, count]) => ({ leNs, count })),
        nativeBuckets: Object.fromEntries([...(sums?.native ?? new Map<number, number>())].sort(([a], [b]) => a - b).map(([i, n]) => [String(i), n])),
        now:
          phase === undefined
            ? null
            : { rps: phase.rps, p50Ns: phase.latencyNs.p50, p90Ns: phase.latencyNs.p90, p99Ns: phase.latencyNs.p99 },
      }
    })
    return { scenario: this.#scenario, startedAt: this.#startedAt, offsetMs: offset, countRanges: this.#ranges, countedUntilMs: this.#countedUntilMs, countedFromMs: this.#countedFromMs, gapsMs: this.#gapsMs, overlapsMs: this.#overlapsMs, pods }
  }
}
