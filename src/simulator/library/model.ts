/**
 * The simulator's model of what the library collectors read besides HTTP:
 * CPU, memory, network and the DNS / MySQL requests of every pod, DERIVED
 * from the pod's HTTP phases so that scenarios need no new fields. All of it
 * is deterministic: a quantity with rate `base + perRps × rps` (per second)
 * has the cumulative value Q(t) = floor(∫ rate dt) over the pod's lifetime,
 * and a range [a, b) holds Q(b) − Q(a), so counts over contiguous ranges add
 * up exactly, as with the HTTP counts (traffic.ts).
 *
 * The simulated tables report these exact increases. A real Pixie answer of
 * the `resources` and `network` scripts under-counts slightly (max − min of
 * one-second samples, see src/collectors/library/resources.ts); the
 * simulator does not reproduce that sampling error.
 */
import type { ScenarioPod } from '../scenario.js'

/** A linear rate: `base + perRps × rps` units per second while the pod exists. */
export interface LinearRate {
  readonly base: number
  readonly perRps: number
}

/** The derived rates (documented in docs/scenarios.md, "Library collectors"). */
export const LIBRARY_MODEL = {
  /** CPU: 0.02 cores plus 1 ms of CPU per request; ns of CPU per second. */
  cpuNsPerSecond: { base: 20_000_000, perRps: 1_000_000 },
  /** RSS bytes: 48 MiB plus 256 KiB per request per second of the phase (a gauge, not integrated). */
  rssBytes: { base: 48 * 1024 * 1024, perRps: 256 * 1024 },
  /** Bytes received per second. */
  rxBytesPerSecond: { base: 2_000, perRps: 1_500 },
  /** Bytes sent per second. */
  txBytesPerSecond: { base: 1_000, perRps: 4_000 },
  /** DNS queries the pod sends (role client) per second; 10 % of them fail (NXDOMAIN). */
  dnsQueriesPerSecond: { base: 0.2, perRps: 0.05 },
  dnsErrorShare: 0.1,
  /** Mean DNS latency, ns. */
  dnsLatencyNs: 1_500_000,
  /** MySQL queries the pod sends (role client) per second; 2 % of them fail (ERR packet). */
  mysqlQueriesPerSecond: { base: 0, perRps: 0.5 },
  mysqlErrorShare: 0.02,
  /** Mean MySQL latency, ns. */
  mysqlLatencyNs: 3_000_000,
} as const

// As in traffic.ts: a constant bias before flooring keeps "round" values round.
const FLOOR_BIAS = 1e-7

interface Stretch {
  readonly startMs: number
  readonly endMs: number
  readonly rps: number
}

/** The pod's lifetime cut into stretches of constant rps. */
function stretchesOf(pod: ScenarioPod): Stretch[] {
  const out: Stretch[] = []
  pod.phases.forEach((phase, i) => {
    const startMs = Math.max(phase.atMs, pod.fromMs)
    const endMs = Math.min(pod.phases[i + 1]?.atMs ?? Number.POSITIVE_INFINITY, pod.untilMs)
    if (startMs < endMs) out.push({ startMs, endMs, rps: phase.rps })
  })
  return out
}

/** Per-pod evaluator of the derived quantities. */
export class PodResources {
  readonly pod: ScenarioPod
  readonly #stretches: readonly Stretch[]

  constructor(pod: ScenarioPod) {
    this.pod = pod
    this.#stretches = stretchesOf(pod)
  }

  /** Whether the pod exists at some time in [startMs, endMs). */
  alive(startMs: number, endMs: number): boolean {
    return this.#stretches.some((s) => s.startMs < endMs && startMs < s.endMs)
  }

  /** floor(∫ rate dt) from the simulator's start to `offsetMs` (rate per second, scaled by `share`). */
  cumulative(rate: LinearRate, offsetMs: number, share = 1): number {
    let total = 0
    for (const s of this.#stretches) {
      const overlap = Math.min(s.endMs, offsetMs) - s.startMs
      if (overlap > 0) total += ((rate.base + rate.perRps * s.rps) * share * overlap) / 1_000
    }
    return Math.floor(total + FLOOR_BIAS)
  }

  /** The increase over [startMs, endMs): Q(end) − Q(start); 0 for an empty or reversed range. */
  increase(rate: LinearRate, startMs: number, endMs: number, share = 1): number {
    return endMs > startMs ? this.cumulative(rate, endMs, share) - this.cumulative(rate, startMs, share) : 0
  }

  /** The largest value of `base + perRps × rps` among the stretches overlapping [startMs, endMs), or undefined. */
  peak(rate: LinearRate, startMs: number, endMs: number): number | undefined {
    let best: number | undefined
    for (const s of this.#stretches) {
      if (s.startMs < endMs && startMs < s.endMs) {
        const v = Math.floor(rate.base + rate.perRps * s.rps)
        if (best === undefined || v > best) best = v
      }
    }
    return best
  }
}

/** What a protocol table reports for one pod over a range. */
export interface ProtocolCounts {
  readonly requests: number
  readonly errors: number
  readonly latencySumNs: number
}

/**
 * Requests, errors and latency sum of a protocol over [startMs, endMs).
 * Successes and errors are two cumulative counts (shares 1 − e and e), so
 * errors never exceed requests and both add up over contiguous ranges; the
 * latency sum is `floor(∫ rate × mean latency dt)`.
 */
export function protocolCounts(
  model: PodResources,
  rate: LinearRate,
  errorShare: number,
  meanLatencyNs: number,
  startMs: number,
  endMs: number,
): ProtocolCounts {
  const ok = model.increase(rate, startMs, endMs, 1 - errorShare)
  const errors = model.increase(rate, startMs, endMs, errorShare)
  const latencySumNs = model.increase(rate, startMs, endMs, meanLatencyNs)
  return { requests: ok + errors, errors, latencySumNs }
}
