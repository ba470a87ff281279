import t from 'tap'
import { bucketIndexOfNs, upperBound, zeroIndex } from '../../src/metrics/native-histogram.js'
import { simulateHttpPodCounts } from '../../src/simulator/http-pod-counts.js'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { buildTraffic } from '../../src/simulator/traffic.js'
import { SIM_T0, TEST_BUCKETS_NS, windowParams } from '../fixtures/simulator-helpers.js'

const scenario = scenarioFromObject({
  name: 'native-test',
  pods: [
    {
      namespace: 'shop',
      name: 'cart-1',
      services: ['cart'],
      phases: [
        { at: '0s', rps: 50, statuses: { 200: 0.9, 500: 0.1 }, latency: { p50: '10ms', p99: '50ms' } },
        { at: '60s', rps: 20, statuses: { 200: 1 }, latency: { p50: '200ms', p99: '3s' } },
      ],
    },
    { namespace: 'shop', name: 'db-1', phases: [{ at: '0s', rps: 2, statuses: { 200: 1 }, latency: { p50: '1ms', p99: '1ms' } }] },
    { namespace: 'shop', name: 'fast-1', phases: [{ at: '0s', rps: 4, statuses: { 200: 1 }, latency: { p50: '0.0005ms', p99: '0.0005ms' } }] },
  ],
})

const params = (startMs: number, endMs: number, schema = 3) =>
  windowParams(startMs, endMs, { counts: { startNs: BigInt(SIM_T0 + startMs) * 1_000_000n, bucketsNs: TEST_BUCKETS_NS, native: { schema } } })

function byPod(rows: NonNullable<ReturnType<typeof simulateHttpPodCounts>>) {
  const out = new Map<string, Map<number, number>>()
  const native = rows.native
  if (native === undefined) throw new Error('no native table')
  for (let r = 0; r < native.length; r++) {
    const pod = native.pod[r] ?? ''
    const m = out.get(pod) ?? new Map<number, number>()
    m.set(native.bucket[r] ?? 0, native.count[r] ?? 0)
    out.set(pod, m)
  }
  return out
}

t.test('http_pod_native_buckets agrees with http_pod_counts', async (t) => {
  const traffic = buildTraffic(scenario)
  const rows = simulateHttpPodCounts(traffic, params(30_000, 90_000), SIM_T0)
  if (rows === undefined) throw new Error('no counts')
  const native = byPod(rows)
  for (let r = 0; r < rows.length; r++) {
    const pod = rows.pod[r] ?? ''
    const buckets = native.get(pod) ?? new Map()
    const sum = [...buckets.values()].reduce((a, b) => a + b, 0)
    t.equal(sum, rows.requests[r], `${pod}: the native buckets add up to the requests (${rows.requests[r]})`)
    t.ok([...buckets.values()].every((n) => Number.isInteger(n) && n > 0), `${pod}: only non-empty buckets, integer counts`)
    // Classic cumulative counts agree with the native buckets wherever a classic bound is a native boundary or near it.
    const below = (ns: number) => [...buckets].filter(([i]) => i !== zeroIndex(3) && upperBound(i, 3) * 1e9 <= ns).reduce((a, [, n]) => a + n, buckets.get(zeroIndex(3)) ?? 0)
    const bounds = TEST_BUCKETS_NS.map(Number)
    bounds.forEach((le, j) => {
      const classic = rows.buckets[j]?.[r] ?? 0
      const lower = below(le)
      const upper = below(le * 2 ** (1 / 8))
      if (!(lower <= classic && classic <= upper)) t.fail(`${pod}: classic le=${le} count ${classic} outside the native range [${lower}, ${upper}]`)
    })
  }
  t.same([...(native.get('shop/db-1') ?? [])], [[bucketIndexOfNs(1e6, 3), 120]], 'a pod whose every request takes 1 ms: all 120 in bucket index(1 ms)')
  t.same([...(native.get('shop/fast-1') ?? [])], [[zeroIndex(3), 240]], 'requests of 500 ns (below 2^-20 s): all in the zero bucket')
})

t.test('native counts of contiguous ranges add up exactly', async (t) => {
  const traffic = buildTraffic(scenario)
  const whole = byPod(simulateHttpPodCounts(traffic, params(30_000, 90_000), SIM_T0)!)
  const a = byPod(simulateHttpPodCounts(traffic, params(30_000, 61_234), SIM_T0)!)
  const b = byPod(simulateHttpPodCounts(traffic, params(61_234, 90_000), SIM_T0)!)
  for (const [pod, buckets] of whole) {
    const added = new Map<number, number>()
    for (const part of [a, b]) for (const [i, n] of part.get(pod) ?? []) added.set(i, (added.get(i) ?? 0) + n)
    t.same([...added].sort(([x], [y]) => x - y), [...buckets].sort(([x], [y]) => x - y), `${pod}: [30s, 61.234s) + [61.234s, 90s) = [30s, 90s)`)
  }
})

t.test('maxRows cuts the native table too', async (t) => {
  const rows = simulateHttpPodCounts(buildTraffic(scenario), { ...params(30_000, 90_000), maxRows: 5 }, SIM_T0)
  t.equal(rows?.native?.length, 5, 'five rows sent')
  t.ok((rows?.native?.truncated ?? 0) > 0, 'the rest counted as truncated')
})
