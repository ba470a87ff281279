import t from 'tap'
import { erfc, logNormalCdf, logNormalMean, logNormalOf, mixtureQuantile, normalCdf, Z90, Z99 } from '../../src/simulator/latency.js'

const close = (got: number, want: number, tolerance: number): boolean => Math.abs(got - want) <= tolerance

t.test('erfc matches reference values in both of its algorithms', async (t) => {
  // Reference values of erfc (series below 3, continued fraction from 3 on).
  const table: [number, number][] = [
    [0, 1],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028513],
    [2, 0.004677734981047266],
    [3, 2.209049699858544e-5],
    [4, 1.541725790028002e-8],
    [6, 2.1519736712498913e-17],
    [-1, 1.8427007929497148],
  ]
  for (const [x, want] of table) {
    const got = erfc(x)
    t.ok(close(got, want, Math.max(1e-15, want * 1e-12)), `erfc(${x}): want ${want}, got ${got}`)
  }
  t.ok(Number.isNaN(erfc(Number.NaN)), 'NaN in, NaN out')
})

t.test('the normal CDF gives the standard quantiles back', async (t) => {
  t.ok(close(normalCdf(0), 0.5, 1e-15), `Φ(0) = 0.5 (got ${normalCdf(0)})`)
  t.ok(close(normalCdf(Z90), 0.9, 1e-12), `Φ(z90) = 0.9 (got ${normalCdf(Z90)})`)
  t.ok(close(normalCdf(Z99), 0.99, 1e-12), `Φ(z99) = 0.99 (got ${normalCdf(Z99)})`)
  t.ok(close(normalCdf(-Z99), 0.01, 1e-12), `Φ(−z99) = 0.01 (got ${normalCdf(-Z99)})`)
  t.same([normalCdf(Number.NEGATIVE_INFINITY), normalCdf(Number.POSITIVE_INFINITY)], [0, 1], 'the infinities')
})

t.test('a phase log-normal has its p50 and p99 where the scenario says', async (t) => {
  const d = logNormalOf({ p50: 20e6, p90: 0, p99: 80e6 })
  t.ok(close(logNormalCdf(d, 20e6), 0.5, 1e-12), 'CDF(p50) = 0.5')
  t.ok(close(logNormalCdf(d, 80e6), 0.99, 1e-12), 'CDF(p99) = 0.99')
  t.equal(logNormalCdf(d, 0), 0, 'nothing takes 0 ns or less')
  const sigma = Math.log(4) / Z99
  t.ok(close(logNormalMean(d), 20e6 * Math.exp((sigma * sigma) / 2), 1e-3), `mean = exp(mu + sigma²/2) (got ${logNormalMean(d)})`)
})

t.test('p50 = p99 means every request takes exactly p50', async (t) => {
  const d = logNormalOf({ p50: 5e6, p90: 5e6, p99: 5e6 })
  t.equal(d.sigma, 0, 'sigma is 0')
  t.same([logNormalCdf(d, 4.999e6), logNormalCdf(d, 5e6)], [0, 1], 'a step at p50 (latency <= le is inclusive)')
  t.ok(close(logNormalMean(d), 5e6, 1e-6), 'the mean is p50')
})

t.test('mixtureQuantile finds the quantiles of one phase and of a mixture', async (t) => {
  const fast = logNormalOf({ p50: 20e6, p90: 0, p99: 80e6 })
  const slow = logNormalOf({ p50: 400e6, p90: 0, p99: 2.5e9 })
  const p99 = mixtureQuantile([{ weight: 3, dist: fast }], 0.99) ?? 0
  t.ok(close(p99, 80e6, 80e6 * 1e-9), `one phase: its own p99 (got ${p99})`)
  const mixed = mixtureQuantile([{ weight: 1, dist: fast }, { weight: 1, dist: slow }], 0.5) ?? 0
  const cdf = (logNormalCdf(fast, mixed) + logNormalCdf(slow, mixed)) / 2
  t.ok(close(cdf, 0.5, 1e-9), `two equal phases: the mixture CDF at the answer is 0.5 (got ${cdf})`)
  t.ok(mixed > 20e6 && mixed < 400e6, 'and the answer lies between the two medians')
  t.equal(mixtureQuantile([{ weight: 0, dist: fast }], 0.5), undefined, 'no weight, no quantile')
  t.throws(() => mixtureQuantile([{ weight: 1, dist: fast }], 1), TypeError, 'q must be inside (0, 1)')
})
