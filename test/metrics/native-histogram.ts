import t from 'tap'
import {
  ZERO_THRESHOLD_NS,
  ZERO_THRESHOLD_SECONDS,
  bucketIndex,
  bucketIndexOfNs,
  relativeError,
  spansAndDeltas,
  upperBound,
  zeroIndex,
} from '../../src/metrics/native-histogram.js'
import { nativeCounts } from '../fixtures/protobuf-wire.js'

t.test('bucket indexes of schema 3: values exactly on boundaries go to the bucket they close', async (t) => {
  // Bucket i is (2^((i-1)/8), 2^(i/8)]; powers of two are the boundaries that exist exactly in binary and in whole ns.
  t.equal(bucketIndex(1, 3), 0, '1 s closes bucket 0')
  t.equal(bucketIndex(2, 3), 8, '2 s closes bucket 8')
  t.equal(bucketIndex(0.5, 3), -8, '0.5 s closes bucket -8')
  t.equal(bucketIndex(0.25, 3), -16, '0.25 s closes bucket -16')
  t.equal(bucketIndex(1 + Number.EPSILON, 3), 1, 'just above 1 s is in bucket 1')
  t.equal(bucketIndex(1 - Number.EPSILON / 2, 3), 0, 'just below 1 s is in bucket 0')
  t.equal(bucketIndexOfNs(1_000_000_000, 3), 0, '1e9 ns: bucket 0')
  t.equal(bucketIndexOfNs(1_000_000_001, 3), 1, '1e9 + 1 ns: bucket 1')
  t.equal(bucketIndexOfNs(999_999_999, 3), 0, '1e9 - 1 ns: bucket 0')
  t.equal(bucketIndexOfNs(500_000_000, 3), -8, '0.5 s in ns: bucket -8')
  t.equal(bucketIndexOfNs(1_953_125, 3), -72, '2^-9 s = 1953125 ns: bucket -72')
  t.equal(bucketIndexOfNs(1_953_126, 3), -71, 'one ns more: bucket -71')
  t.equal(bucketIndex(0.1, 3), -26, '100 ms: ceil(8 · log2 0.1) = ceil(-26.58) = -26')
  t.equal(bucketIndex(1, 0), 0, 'schema 0: 1 s closes bucket 0')
  t.equal(bucketIndex(3, 0), 2, 'schema 0: 3 s is in (2, 4], bucket 2')
  t.equal(bucketIndex(2 ** (1 / 256) * 1.0000001, 8), 2, 'schema 8: just above the first boundary above 1')
})

t.test('tiny values fall in the zero bucket, huge ones get large indexes', async (t) => {
  t.equal(ZERO_THRESHOLD_SECONDS, 2 ** -20, 'threshold 2^-20 s')
  t.equal(ZERO_THRESHOLD_NS, 953, 'latencies up to 953 ns are at or below it')
  for (const v of [0, -1, Number.NaN, 1e-9, 2 ** -20]) t.equal(bucketIndex(v, 3), undefined, `${v} s: zero bucket`)
  t.equal(bucketIndex(2 ** -20 * (1 + Number.EPSILON), 3), zeroIndex(3) + 1, 'just above the threshold: the first exponential bucket')
  for (const ns of [0, 1, 953]) t.equal(bucketIndexOfNs(ns, 3), undefined, `${ns} ns: zero bucket`)
  t.equal(bucketIndexOfNs(954, 3), -159, '954 ns: bucket -159, one above zeroIndex (-160)')
  t.equal(zeroIndex(3), -160, 'zeroIndex(3) = -20 · 8')
  t.equal(zeroIndex(0), -20, 'zeroIndex(0) = -20')
  t.equal(bucketIndexOfNs(3_600e9, 3), 95, 'one hour: ceil(8 · log2 3600) = 95')
  t.equal(bucketIndexOfNs(9e18, 3), 265, '9e18 ns (near the int64 limit): 265')
  t.throws(() => bucketIndex(Number.POSITIVE_INFINITY, 3), TypeError, 'an infinite observation is refused')
  t.throws(() => bucketIndex(1, 9), /schema must be an integer from 0 to 8/, 'schema 9 is refused')
  t.throws(() => bucketIndex(1, -1), /schema must be an integer from 0 to 8/, 'negative schemas are refused (the zero threshold is not their boundary)')
})

t.test('every value lies inside the bucket its index names (log-uniform sweep over 1 µs … 1000 s)', async (t) => {
  let bad = 0
  let seed = 42
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
  for (let i = 0; i < 20_000; i++) {
    const ns = Math.round(10 ** (3 + random() * 9))
    for (const schema of [0, 3, 8]) {
      const index = bucketIndexOfNs(ns, schema)
      const s = ns / 1e9
      if (index === undefined || !(upperBound(index - 1, schema) < s && s <= upperBound(index, schema))) bad++
    }
  }
  t.equal(bad, 0, 'upperBound(i - 1) < v <= upperBound(i) for 60,000 values')
})

t.test('relative error of one bucket', async (t) => {
  t.equal(relativeError(3).toFixed(6), '0.090508', 'schema 3: 2^(1/8) - 1 ≈ 9.05 %')
  t.equal(relativeError(0), 1, 'schema 0: 100 %')
})

t.test('spans and deltas: empty buckets left out, short gaps filled, round trip', async (t) => {
  const counts = new Map([
    [1, 2],
    [2, 3],
    [5, 1],
    [10, 4],
    [11, 0],
  ])
  const { spans, deltas } = spansAndDeltas(counts)
  t.same(spans, [
    { offset: 1, length: 5 },
    { offset: 4, length: 1 },
  ], 'a gap of 2 is filled inside the span; a gap of 4 starts a new one; the empty bucket 11 is left out')
  t.same(deltas, [2, 1, -3, 0, 1, 3], 'deltas against the previous bucket, the first against 0')
  const back = nativeCounts({ sampleCount: 0, sampleSum: 0, buckets: [], schema: 3, zeroThreshold: 0, zeroCount: 0, positiveSpans: spans, positiveDeltas: deltas })
  t.same([...back], [[1, 2], [2, 3], [5, 1], [10, 4]], 'expanding them gives the counts back')
  t.same(spansAndDeltas(new Map([[-160, 0]])), { spans: [], deltas: [] }, 'no buckets: no spans')
  t.same(spansAndDeltas(new Map([[-7, 5]])).spans, [{ offset: -7, length: 1 }], 'a negative first index is the first offset')
})
