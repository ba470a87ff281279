/**
 * Deterministic request counting for simulated pods.
 *
 * For every status code of a pod, the cumulative count from the simulator's
 * start to offset t is C(t) = floor(∫ rps·share dt) over the pod's lifetime.
 * A window [a, b) holds C(b) − C(a) requests of that code. Because every
 * window count is a difference of the same function, counts over contiguous
 * windows always add up exactly: [a,b) + [b,c) = [a,c). The exporter's tests
 * rely on that to check counters built from successive polls.
 */
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
}

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
  readonly #segments: readonly Segment[]

  constructor(pod: ScenarioPod) {
    this.pod = pod
    const codes = [...new Set(pod.phases.flatMap((p) => p.statuses.map((s) => s.code)))].sort((a, b) => a - b)
    this.codes = codes
    const segments: Segment[] = []
    let running: number[] = codes.map(() => 0)
    pod.phases.forEach((phase, i) => {
      const startMs = Math.max(phase.atMs, pod.fromMs)
      const endMs = Math.min(pod.phases[i + 1]?.atMs ?? Number.POSITIVE_INFINITY, pod.untilMs)
      if (startMs >= endMs) return
      const ratePerMs: number[] = codes.map(() => 0)
      for (const s of phase.statuses) ratePerMs[codes.indexOf(s.code)] = (phase.rps * s.share) / 1_000
      const segment: Segment = { startMs, ratePerMs, cumulative: running, latencyNs: phase.latencyNs }
      segments.push(segment)
      running = this.#advance(segment, endMs)
    })
    if (Number.isFinite(pod.untilMs)) {
      segments.push({ startMs: pod.untilMs, ratePerMs: codes.map(() => 0), cumulative: running, latencyNs: undefined })
    }
    this.#segments = segments
  }

  // Uses exactly the arithmetic of #cumulativeAt, so that the value at a
  // segment boundary is the same whichever side computes it (monotonic C).
  #advance(segment: Segment, toMs: number): number[] {
    return segment.cumulative.map((c, i) => c + (segment.ratePerMs[i] ?? 0) * (toMs - segment.startMs))
  }

  #segmentAt(offsetMs: number): Segment | undefined {
    let found: Segment | undefined
    for (const segment of this.#segments) {
      if (segment.startMs > offsetMs) break
      found = segment
    }
    return found
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
  const found = typeof pod === 'string' ? scenario.pods.find((p) => `${p.namespace}/${p.name}` === pod) : pod
  if (found === undefined) throw new TypeError(`scenario ${scenario.name} has no pod ${String(pod)}`)
  return new PodTraffic(found).counts(startMs, endMs)
}

/** Pixie's `ctx['service']` rendering: `ns/svc`, a JSON array of those when several, `""` when none. */
export function renderServices(pod: ScenarioPod): string {
  const names = pod.services.map((s) => `${pod.namespace}/${s}`)
  if (names.length === 0) return ''
  if (names.length === 1) return names[0] ?? ''
  return JSON.stringify(names)
}
