/**
 * Deterministic request counting for simulated pods.
 *
 * For every status code of a pod, the cumulative count from the simulator's
 * start to offset t is C(t) = floor(∫ rps·share dt) over the pod's lifetime.
 * A window [a, b) holds C(b) − C(a) requests of that code. Because every
 * window count is a difference of the same function, counts over contiguous
 * windows always add up exactly: [a,b) + [b,c) = [a,c). The exporter's tests
 * rely on that to check counters built from successive polls.
 *
 * The `http_pod_counts` model adds, per pod:
 *
 * - latency buckets: every (status code, latency interval) cell has its own
 *   floored cumulative count, floor(∫ rate_code(t)·P_phase(interval) dt), with
 *   each phase's log-normal distribution (see latency.ts); codes, classes,
 *   requests and buckets of a range are sums of the same cells, so they agree
 *   and add up exactly (see {@link PodTraffic.podCounts});
 * - the latency sum: L(t) = floor(∫ rps(t)·mean_phase dt) in ns; a window holds
 *   L(end) − L(start), exactly additive and within 1 ns of the integral.
 */
import { logNormalCdf, logNormalMean, logNormalOf, mixtureQuantile, type LogNormal, type MixturePart } from './latency.js'
import type { LatencyNs, Scenario, ScenarioPod } from './scenario.js'

// Shares such as 0.18 are not exact in binary, so 10 rps × 0.18 × 10 s comes
// out as 17.999999999999996. A small bias before flooring keeps such windows at
// the count a human expects; it is the same for every t, so additivity holds.
const FLOOR_BIAS = 1e-7

interface Segment {
  /** Offset (ms) where this segment starts; it runs until the next one starts. */
  readonly startMs: number
  /** Requests per millisecond, by code index. */
  readonly ratePerMs: readonly number[]
  /** Cumulative (unfloored) requests at `startMs`, by code index. */
  readonly cumulative: readonly number[]
  /** Latency of the phase; undefined for the segment after the pod is gone. */
  readonly latencyNs: LatencyNs | undefined
  /** The phase's latency distribution; undefined after the pod is gone. */
  readonly dist: LogNormal | undefined
  /** All requests per millisecond (the phase's rps / 1000). */
  readonly totalRatePerMs: number
  /** Latency-sum rate: ns of latency per ms of time (total rate × mean latency). */
  readonly sumRatePerMs: number
  /** Cumulative (unfloored) latency sum in ns at `startMs`. */
  readonly cumulativeSumNs: number
}

/** Latency-bucket model of a pod for one list of bucket bounds, per segment. */
interface BucketModel {
  /** Per segment, requests per ms of each (code, latency interval) cell. */
  readonly ratePerMs: readonly (readonly number[])[]
  /** Per segment, cumulative (unfloored) cell counts at its start. */
  readonly cumulative: readonly (readonly number[])[]
}

/** One of the five status classes, `1xx` ... `5xx`. */
/** The five HTTP status classes, in the order of the `s1xx` ... `s5xx` count columns. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

export type StatusClass = (typeof STATUS_CLASSES)[number]

/** What the `http_pod_counts` table reports for one pod over one count range. */
export interface PodCounts {
  /** Requests with a status from 100 to 599 (the sum of `byClass`). */
  readonly requests: number
  /** Requests by HTTP status code (codes with a count of 0 are omitted). */
  readonly byStatus: Readonly<Record<number, number>>
  /** Requests by status class. */
  readonly byClass: Readonly<Record<StatusClass, number>>
  /** Cumulative: requests with latency <= each bound, non-decreasing, each <= requests. */
  readonly bucketCounts: readonly number[]
  /** Sum of the latencies in ns. */
  readonly latencySumNs: number
}

// Reused by PodTraffic.cellCountsInto (synchronous, so never shared by two calls).
let scratch: number[] = []

/** Requests of one pod in one window. */
export interface WindowCounts {
  /** Sum of `byStatus`. */
  readonly requests: number
  /** Requests by HTTP status code (codes with a count of 0 are omitted). */
  readonly byStatus: Readonly<Record<number, number>>
}

/**
 * The traffic model of one pod, precomputed once so that a query over
 * thousands of pods costs a few multiplications per pod.
 */
export class PodTraffic {
  /** The pod this model describes. */
  readonly pod: ScenarioPod
  /** Every status code the pod ever answers with, ascending. */
  readonly codes: readonly number[]
  /** Status class index (0 for 1xx ... 4 for 5xx) of each code in {@link codes}; -1 outside 100..599. */
  readonly classes: readonly number[]
  readonly #segments: readonly Segment[]
  readonly #buckets = new Map<string, BucketModel>()
  #lastBounds: readonly number[] | undefined
  #lastModel: BucketModel | undefined

  constructor(pod: ScenarioPod) {
    this.pod = pod
    const codes = [...new Set(pod.phases.flatMap((p) => p.statuses.map((s) => s.code)))].sort((a, b) => a - b)
    this.codes = codes
    this.classes = codes.map((c) => (c >= 100 && c < 600 ? Math.floor(c / 100) - 1 : -1))
    const segments: Segment[] = []
    let running: number[] = codes.map(() => 0)
    let runningSum = 0
    pod.phases.forEach((phase, i) => {
      const startMs = Math.max(phase.atMs, pod.fromMs)
      const endMs = Math.min(pod.phases[i + 1]?.atMs ?? Number.POSITIVE_INFINITY, pod.untilMs)
      if (startMs >= endMs) return
      const ratePerMs: number[] = codes.map(() => 0)
      for (const s of phase.statuses) ratePerMs[codes.indexOf(s.code)] = (phase.rps * s.share) / 1_000
      const dist = logNormalOf(phase.latencyNs)
      const totalRatePerMs = phase.rps / 1_000
      const segment: Segment = {
        startMs,
        ratePerMs,
        cumulative: running,
        latencyNs: phase.latencyNs,
        dist,
        totalRatePerMs,
        sumRatePerMs: totalRatePerMs * logNormalMean(dist),
        cumulativeSumNs: runningSum,
      }
      segments.push(segment)
      running = this.#advance(segment, endMs)
      runningSum = segment.cumulativeSumNs + segment.sumRatePerMs * (endMs - segment.startMs)
    })
    if (Number.isFinite(pod.untilMs)) {
      segments.push({
        startMs: pod.untilMs,
        ratePerMs: codes.map(() => 0),
        cumulative: running,
        latencyNs: undefined,
        dist: undefined,
        totalRatePerMs: 0,
        sumRatePerMs: 0,
        cumulativeSumNs: runningSum,
      })
    }
    this.#segments = segments
  }

  // Uses exactly the arithmetic of #cumulativeAt, so that the value at a
  // segment boundary is the same whichever side computes it (monotonic C).
  #advance(segment: Segment, toMs: number): number[] {
    return segment.cumulative.map((c, i) => c + (segment.ratePerMs[i] ?? 0) * (toMs - segment.startMs))
  }

  /** Index of the segment holding `offsetMs`, or -1 before the first one. */
  #segmentIndexAt(offsetMs: number): number {
    let found = -1
    for (let k = 0; k < this.#segments.length; k++) {
      if ((this.#segments[k]?.startMs ?? Number.POSITIVE_INFINITY) > offsetMs) break
      found = k
    }
    return found
  }

  #segmentAt(offsetMs: number): Segment | undefined {
    return this.#segments[this.#segmentIndexAt(offsetMs)]
  }

  /**
   * The cell model for a set of bucket bounds: per segment, the rate and the
   * cumulative count of every (status code, latency interval) cell, flattened
   * as `code * (bounds + 1) + interval`; interval `bounds` is (last bound, +Inf).
   */
  #bucketModel(bucketsNs: readonly number[]): BucketModel {
    // The same array is passed for every pod of a query: skip building the key.
    if (bucketsNs === this.#lastBounds && this.#lastModel !== undefined) return this.#lastModel
    const key = bucketsNs.join(',')
    let model = this.#buckets.get(key)
    if (model === undefined) {
      const intervals = bucketsNs.length + 1
      const ratePerMs: number[][] = []
      const cumulative: number[][] = []
      let running: number[] = new Array<number>(this.codes.length * intervals).fill(0)
      this.#segments.forEach((segment, k) => {
        const { dist } = segment
        const shares: number[] = []
        let below = 0
        for (let j = 0; j < intervals; j++) {
          const cdf = j < bucketsNs.length ? (dist === undefined ? 0 : logNormalCdf(dist, bucketsNs[j] ?? 0)) : 1
          shares.push(Math.max(0, cdf - below))
          below = Math.max(below, cdf)
        }
        const rates: number[] = []
        for (let c = 0; c < this.codes.length; c++) {
          for (let j = 0; j < intervals; j++) rates.push((segment.ratePerMs[c] ?? 0) * (shares[j] ?? 0))
        }
        ratePerMs.push(rates)
        cumulative.push(running)
        const next = this.#segments[k + 1]
        // Same arithmetic as #bucketsAt, so the value at a boundary does not depend on the side.
        if (next !== undefined) running = running.map((c, j) => c + (rates[j] ?? 0) * (next.startMs - segment.startMs))
      })
      model = { ratePerMs, cumulative }
      this.#buckets.set(key, model)
    }
    this.#lastBounds = bucketsNs
    this.#lastModel = model
    return model
  }

  /** Floored cumulative bucket counts at `offsetMs`, written into `out[0..n)`. */
  #bucketsAt(model: BucketModel, offsetMs: number, out: number[], n: number): void {
    const k = this.#segmentIndexAt(offsetMs)
    const segment = this.#segments[k]
    const rates = model.ratePerMs[k]
    const cumulative = model.cumulative[k]
    for (let j = 0; j < n; j++) {
      out[j] =
        segment === undefined || rates === undefined || cumulative === undefined
          ? 0
          : Math.floor((cumulative[j] ?? 0) + (rates[j] ?? 0) * (offsetMs - segment.startMs) + FLOOR_BIAS)
    }
  }

  /** Floored cumulative latency sum (ns) at `offsetMs`. */
  #latencySumAt(offsetMs: number): number {
    const segment = this.#segmentAt(offsetMs)
    if (segment === undefined) return 0
    return Math.floor(segment.cumulativeSumNs + segment.sumRatePerMs * (offsetMs - segment.startMs))
  }

  /** Cumulative count of code index `i` at `offsetMs` (ms after the simulator's start). */
  cumulativeCount(i: number, offsetMs: number): number {
    const segment = this.#segmentAt(offsetMs)
    if (segment === undefined) return 0
    const value = (segment.cumulative[i] ?? 0) + (segment.ratePerMs[i] ?? 0) * (offsetMs - segment.startMs)
    return Math.floor(value + FLOOR_BIAS)
  }

  /** Counts by code index over [startMs, endMs); all zero when the window is empty or reversed. */
  countsByIndex(startMs: number, endMs: number): number[] {
    return this.codes.map((_, i) => (endMs > startMs ? this.cumulativeCount(i, endMs) - this.cumulativeCount(i, startMs) : 0))
  }

  /** Requests over [startMs, endMs), by status code. */
  counts(startMs: number, endMs: number): WindowCounts {
    const byStatus: Record<number, number> = {}
    let requests = 0
    this.countsByIndex(startMs, endMs).forEach((n, i) => {
      const code = this.codes[i]
      if (n > 0 && code !== undefined) {
        byStatus[code] = n
        requests += n
      }
    })
    return { requests, byStatus }
  }

  /**
   * What `http_pod_counts` reports over [startMs, endMs) for latency-bucket
   * bounds `bucketsNs` (ascending, ns).
   *
   * Every (status code, latency interval) cell has its own floored cumulative
   * count, and a range holds the difference. Counts by code, by class, the
   * requests and the cumulative bucket counts are all sums of the same cells,
   * so they agree exactly in every range (buckets never decrease, the top one
   * never exceeds the requests) and add up exactly over contiguous ranges.
   * The latency sum is a difference of one cumulative function too.
   */
  podCounts(startMs: number, endMs: number, bucketsNs: readonly number[]): PodCounts {
    const byCode = this.codes.map(() => 0)
    const bucketCounts = bucketsNs.map(() => 0)
    this.cellCountsInto(startMs, endMs, bucketsNs, byCode, bucketCounts)
    const byStatus: Record<number, number> = {}
    const classCounts = [0, 0, 0, 0, 0]
    let requests = 0
    byCode.forEach((n, i) => {
      const code = this.codes[i]
      const cls = this.classes[i] ?? -1
      if (n > 0 && code !== undefined) byStatus[code] = n
      if (cls >= 0) {
        classCounts[cls] = (classCounts[cls] ?? 0) + n
        requests += n
      }
    })
    const byClass = Object.fromEntries(STATUS_CLASSES.map((c, i) => [c, classCounts[i] ?? 0])) as Record<StatusClass, number>
    const latencySumNs = endMs > startMs ? this.latencySumNs(startMs, endMs) : 0
    return { requests, byStatus, byClass, bucketCounts, latencySumNs }
  }

  /**
   * Cell counts over [startMs, endMs) (see {@link podCounts}): requests by
   * code index into `byCode`, and cumulative bucket counts of the codes of
   * classes 1xx..5xx into `buckets` (one per bound). All zero for an empty range.
   */
  cellCountsInto(startMs: number, endMs: number, bucketsNs: readonly number[], byCode: number[], buckets: number[]): void {
    byCode.fill(0)
    buckets.fill(0)
    if (!(endMs > startMs)) return
    const model = this.#bucketModel(bucketsNs)
    const intervals = bucketsNs.length + 1
    const size = this.codes.length * intervals
    if (scratch.length < 2 * size) scratch = new Array<number>(2 * size).fill(0)
    const before = scratch
    const after = new Array<number>(size)
    this.#bucketsAt(model, startMs, before, size)
    this.#bucketsAt(model, endMs, after, size)
    for (let c = 0; c < this.codes.length; c++) {
      const counted = (this.classes[c] ?? -1) >= 0
      let running = 0
      for (let j = 0; j < intervals; j++) {
        const n = (after[c * intervals + j] ?? 0) - (before[c * intervals + j] ?? 0)
        byCode[c] = (byCode[c] ?? 0) + n
        running += n
        if (counted && j < bucketsNs.length) buckets[j] = (buckets[j] ?? 0) + running
      }
    }
  }

  /** The latency distributions of the pod's phases (for choosing histogram buckets that cover them). */
  latencyDistributions(): LogNormal[] {
    return this.#segments.flatMap((s) => (s.dist === undefined ? [] : [s.dist]))
  }

  /** Latency sum in ns over [startMs, endMs): L(end) − L(start), 0 for an empty or reversed range. */
  latencySumNs(startMs: number, endMs: number): number {
    return endMs > startMs ? this.#latencySumAt(endMs) - this.#latencySumAt(startMs) : 0
  }

  /**
   * The true q-quantile of the latency of the requests served over [startMs,
   * endMs): the mixture of the phases' log-normals weighted by their requests.
   * Undefined when the pod served nothing.
   */
  trueLatencyQuantile(q: number, startMs: number, endMs: number): number | undefined {
    const parts: MixturePart[] = []
    this.#segments.forEach((segment, k) => {
      const segEnd = this.#segments[k + 1]?.startMs ?? Number.POSITIVE_INFINITY
      const overlap = Math.min(segEnd, endMs) - Math.max(segment.startMs, startMs)
      if (overlap > 0 && segment.dist !== undefined) parts.push({ weight: segment.totalRatePerMs * overlap, dist: segment.dist })
    })
    return mixtureQuantile(parts, q)
  }

  /** The phase serving at `offsetMs`, or undefined when the pod does not exist then. */
  phaseAt(offsetMs: number): ScenarioPod['phases'][number] | undefined {
    if (offsetMs < this.pod.fromMs || offsetMs >= this.pod.untilMs) return undefined
    let found: ScenarioPod['phases'][number] | undefined
    for (const phase of this.pod.phases) {
      if (phase.atMs > offsetMs) break
      found = phase
    }
    return found
  }

  /**
   * Latency quantiles reported for a window: those of the phase that served
   * the most requests in it (the later one on a tie). Undefined when the pod
   * served nothing in the window.
   */
  latencyFor(startMs: number, endMs: number): LatencyNs | undefined {
    let best: LatencyNs | undefined
    let bestWeight = 0
    this.#segments.forEach((segment, k) => {
      const segEnd = this.#segments[k + 1]?.startMs ?? Number.POSITIVE_INFINITY
      const overlap = Math.min(segEnd, endMs) - Math.max(segment.startMs, startMs)
      if (overlap <= 0 || segment.latencyNs === undefined) return
      let rate = 0
      for (const r of segment.ratePerMs) rate += r
      const weight = rate * overlap
      if (weight > 0 && weight >= bestWeight) {
        best = segment.latencyNs
        bestWeight = weight
      }
    })
    return best
  }
}

/** Builds the traffic model of every pod of a scenario, in scenario order. */
export function buildTraffic(scenario: Scenario): PodTraffic[] {
  return scenario.pods.map((pod) => new PodTraffic(pod))
}

/**
 * Ground truth for tests: the requests a pod serves over [startMs, endMs),
 * both offsets in milliseconds after the simulator's start.
 *
 * @param pod the pod itself, or `"<namespace>/<name>"`.
 * @throws TypeError when the scenario has no such pod.
 */
export function expectedCounts(scenario: Scenario, pod: ScenarioPod | string, startMs: number, endMs: number): WindowCounts {
  return new PodTraffic(findPod(scenario, pod)).counts(startMs, endMs)
}

function findPod(scenario: Scenario, pod: ScenarioPod | string): ScenarioPod {
  const found = typeof pod === 'string' ? scenario.pods.find((p) => `${p.namespace}/${p.name}` === pod) : pod
  if (found === undefined) throw new TypeError(`scenario ${scenario.name} has no pod ${String(pod)}`)
  return found
}

/**
 * Ground truth for tests: what `http_pod_counts` reports for a pod over
 * [startMs, endMs) (ms after the simulator's start) with latency-bucket bounds
 * `bucketsNs` (ascending, ns).
 *
 * @param pod the pod itself, or `"<namespace>/<name>"`.
 * @throws TypeError when the scenario has no such pod.
 */
export function expectedPodCounts(
  scenario: Scenario,
  pod: ScenarioPod | string,
  startMs: number,
  endMs: number,
  bucketsNs: readonly (number | bigint)[],
): PodCounts {
  return new PodTraffic(findPod(scenario, pod)).podCounts(startMs, endMs, bucketsNs.map(Number))
}

/**
 * Ground truth for tests: the true q-quantile (0 < q < 1) in ns of the
 * latencies a pod served over [startMs, endMs), from the mixture of its
 * phases' log-normal distributions weighted by requests. Undefined when the
 * pod served nothing in the range.
 *
 * @throws TypeError when the scenario has no such pod or q is not in (0, 1).
 */
export function trueLatencyQuantile(scenario: Scenario, pod: ScenarioPod | string, q: number, startMs: number, endMs: number): number | undefined {
  return new PodTraffic(findPod(scenario, pod)).trueLatencyQuantile(q, startMs, endMs)
}

/** Pixie's `ctx['service']` rendering: `ns/svc`, a JSON array of those when several, `""` when none. */
export function renderServices(pod: ScenarioPod): string {
  const names = pod.services.map((s) => `${pod.namespace}/${s}`)
  if (names.length === 0) return ''
  if (names.length === 1) return names[0] ?? ''
  return JSON.stringify(names)
}
