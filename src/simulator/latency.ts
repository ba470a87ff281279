/**
 * The simulator's latency model: within one phase, request latencies follow a
 * log-normal distribution fixed by the phase's p50 and p99,
 *
 *   mu = ln p50,  sigma = (ln p99 − ln p50) / z99,
 *
 * so that its median is p50 and its 99th percentile is p99. A phase with
 * p50 = p99 has sigma = 0: every request takes exactly p50.
 *
 * Written from the textbook definitions (no numerical library): the normal CDF
 * comes from erf's power series near zero and erfc's continued fraction in
 * the tails, both accurate to about 1e-15 absolute.
 */
import type { LatencyNs } from './scenario-input.js'

/** Standard normal 90th percentile. */
export const Z90 = 1.2815515655446004
/** Standard normal 99th percentile. */
export const Z99 = 2.3263478740408408

/** A log-normal latency distribution in nanoseconds: ln(latency) ~ N(mu, sigma²). */
export interface LogNormal {
  readonly mu: number
  /** 0 for a phase whose every request takes exactly e^mu. */
  readonly sigma: number
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI)
const ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI)
// Below this, erf's series (all terms positive) converges in < 60 terms; above
// it, erfc's continued fraction converges in fewer than CF_DEPTH levels.
const SERIES_LIMIT = 3
const CF_DEPTH = 80

/**
 * Complementary error function, erfc(x) = 1 − erf(x).
 *
 * |x| < 3: erf(x) = (2/√π)·e^(−x²)·Σ x·(2x²)ⁿ / (1·3·…·(2n+1)), whose terms are
 * all positive (no cancellation). x ≥ 3: erfc(x) = (e^(−x²)/√π) / (x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
 * evaluated bottom-up at a fixed depth.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN
  if (x < 0) return 2 - erfc(-x)
  if (x < SERIES_LIMIT) {
    const x2 = x * x
    let term = x
    let sum = x
    for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * x2) / (2 * n + 1)
      sum += term
    }
    return 1 - TWO_OVER_SQRT_PI * Math.exp(-x2) * sum
  }
  let f = x
  for (let n = CF_DEPTH; n >= 1; n--) f = x + n / 2 / f
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f
}

/** Standard normal cumulative distribution function Φ(z). */
export function normalCdf(z: number): number {
  if (z === Number.POSITIVE_INFINITY) return 1
  if (z === Number.NEGATIVE_INFINITY) return 0
  return 0.5 * erfc(-z / Math.SQRT2)
}

/** The log-normal distribution of a phase, from its p50 and p99 (p90 is not used). */
export function logNormalOf(latency: LatencyNs): LogNormal {
  const mu = Math.log(latency.p50)
  return { mu, sigma: Math.max(0, (Math.log(latency.p99) - mu) / Z99) }
}

/** P(latency <= xNs). */
export function logNormalCdf(d: LogNormal, xNs: number): number {
  if (!(xNs > 0)) return 0
  const lx = Math.log(xNs)
  if (d.sigma === 0) return lx >= d.mu ? 1 : 0
  return normalCdf((lx - d.mu) / d.sigma)
}

/** Mean latency in ns: exp(mu + sigma²/2). */
export function logNormalMean(d: LogNormal): number {
  return Math.exp(d.mu + (d.sigma * d.sigma) / 2)
}

/** One component of a mixture of log-normals, weighted by its number of requests. */
export interface MixturePart {
  readonly weight: number
  readonly dist: LogNormal
}

/**
 * The q-quantile (0 < q < 1) of a weighted mixture of log-normals, by
 * bisection on ln(latency) to a relative precision of about 1e-12. Returns
 * undefined when the total weight is 0.
 */
export function mixtureQuantile(parts: readonly MixturePart[], q: number): number | undefined {
  if (!(q > 0 && q < 1)) throw new TypeError('q must be between 0 and 1 (exclusive)')
  let total = 0
  let lo = Number.POSITIVE_INFINITY
  let hi = Number.NEGATIVE_INFINITY
  for (const p of parts) {
    if (!(p.weight > 0)) continue
    total += p.weight
    lo = Math.min(lo, p.dist.mu - 40 * p.dist.sigma - 1)
    hi = Math.max(hi, p.dist.mu + 40 * p.dist.sigma + 1)
  }
  if (total === 0) return undefined
  const cdf = (lx: number): number => {
    let sum = 0
    for (const p of parts) if (p.weight > 0) sum += p.weight * logNormalCdf(p.dist, Math.exp(lx))
    return sum / total
  }
  // Invariant: cdf(lo) < q <= cdf(hi). Stops when the interval no longer shrinks.
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (mid === lo || mid === hi || hi - lo < 1e-12) break
    if (cdf(mid) >= q) hi = mid
    else lo = mid
  }
  return Math.exp(hi)
}
