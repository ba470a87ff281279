/**
 * Scenario types shared by the scenario parser and its generators (latency,
 * large-cluster pods), in a module of their own so that they do not import
 * each other.
 */

/** Latency quantiles of a phase, in nanoseconds. */
export interface LatencyNs {
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

/** A phase as written in a scenario file. */
export interface PhaseInput {
  at: string
  rps: number
  /** Shares by status code (keys are codes); exclusive with `errorRatio`. */
  statuses?: Record<string, number>
  /** Share of 500 responses, the rest being 200; exclusive with `statuses`. */
  errorRatio?: number
  latency: { p50: string; p90?: string; p99: string }
}

/** A pod as written in a scenario file. */
export interface PodInput {
  namespace: string
  name: string
  services?: string[]
  node?: string
  from?: string
  until?: string
  phases: PhaseInput[]
}
