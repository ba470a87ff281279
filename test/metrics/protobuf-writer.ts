import t from 'tap'
import { ProtoWriter, varintSize } from '../../src/metrics/protobuf-writer.js'
import { MetricType, encodeFamily, familyFromValues, type MetricFamilyMessage, type MetricMessage } from '../../src/metrics/protobuf.js'
import { encodeFamilyProtobuf, type FamilyMeta, type Sample } from '../../src/metrics/snapshot-metric.js'
import { MetricFamilyType } from '../fixtures/metric-family-type.js'
import { decodeFamilies } from '../fixtures/protobuf-wire.js'

/** protobufjs' bytes for the same family: the reference our writer must match byte for byte. */
const reference = (family: MetricFamilyMessage) => Buffer.from(MetricFamilyType.encodeDelimited(family as unknown as Record<string, unknown>).finish())

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const STRINGS = ['', 'a', 'pod-7c9d', 'ns/svc', 'ünïcødé', '日本語のラベル', 'emoji 🚀', 'quote " and \\ and \n', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(20_000)]
const DOUBLES = [0, -0, 1, -1, 0.1, 1e-300, 1e300, Number.MAX_VALUE, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]
const UINTS = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1]
const SINTS = [0, 1, -1, 63, -64, 64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]

function randomFamily(next: () => number): MetricFamilyMessage {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T
  const metrics: MetricMessage[] = []
  const n = Math.floor(next() * 6)
  for (let i = 0; i < n; i++) {
    const label = Array.from({ length: Math.floor(next() * 4) }, () => ({ name: pick(STRINGS), value: pick(STRINGS) }))
    const kind = Math.floor(next() * 5)
    if (kind === 0) metrics.push({ label, counter: { value: pick(DOUBLES) } })
    else if (kind === 1) metrics.push({ label, gauge: { value: pick(DOUBLES) }, ...(next() < 0.3 && { timestampMs: pick(UINTS) }) })
    else if (kind === 2) metrics.push({ label, untyped: { value: pick(DOUBLES) } })
    else if (kind === 3) {
      metrics.push({
        label,
        summary: { sampleCount: pick(UINTS), sampleSum: pick(DOUBLES), quantile: Array.from({ length: Math.floor(next() * 3) }, () => ({ quantile: pick(DOUBLES), value: pick(DOUBLES) })) },
      })
    } else {
      const native = next() < 0.5
      metrics.push({
        label,
        histogram: {
          sampleCount: pick(UINTS),
          sampleSum: pick(DOUBLES),
          bucket: Array.from({ length: Math.floor(next() * 4) }, () => ({ cumulativeCount: pick(UINTS), upperBound: pick(DOUBLES) })),
          ...(native && {
            schema: Math.floor(next() * 17) - 8,
            zeroThreshold: pick(DOUBLES),
            zeroCount: pick(UINTS),
            positiveSpan: Array.from({ length: Math.floor(next() * 3) }, () => ({ offset: pick(SINTS.filter((s) => Math.abs(s) < 2 ** 31)), length: pick(UINTS.filter((u) => u < 2 ** 32)) })),
            positiveDelta: Array.from({ length: Math.floor(next() * 300) }, () => pick(SINTS)),
          }),
        },
      })
    }
  }
  return { name: pick(STRINGS), help: pick(STRINGS), type: pick(Object.values(MetricType)), metric: metrics }
}

t.test('MetricFamily messages: the same bytes as protobufjs writes, for 500 random families', async (t) => {
  const next = random(20261130)
  let mismatches = 0
  let longest = 0
  for (let i = 0; i < 500; i++) {
    const family = randomFamily(next)
    const ours = encodeFamily(family)
    longest = Math.max(longest, ours.length)
    if (!ours.equals(reference(family))) {
      mismatches++
      if (mismatches === 1) t.fail(`family ${i} differs: ${JSON.stringify(family).slice(0, 300)}`)
    }
  }
  t.equal(mismatches, 0, 'no family differs')
  // Lengths of one, two and three varint bytes were all exercised (the 20,000-character string).
  t.ok(longest > 16_384, `the longest family took a 3-byte length (${longest} bytes)`)
})

t.test('a family above 2 MiB: the length in front of it is moved into place correctly', async (t) => {
  const metric = Array.from({ length: 40_000 }, (_, i) => ({ label: [{ name: 'pod', value: `pod-${i}` }, { name: 'namespace', value: 'default' }], counter: { value: i } }))
  const family = { name: 'big_total', help: 'h', type: MetricType.COUNTER, metric }
  const ours = encodeFamily(family)
  t.ok(ours.length > 2 * 1024 * 1024, `${ours.length} bytes`)
  t.ok(ours.equals(reference(family)))
  t.equal(ours.buffer.byteLength, ours.length, 'the buffer owns exactly its bytes (transferable without a copy)')
})

t.test('a lone surrogate is written as U+FFFD: the output is always valid UTF-8', async (t) => {
  const w = new ProtoWriter()
  w.string(1, 'a\ud800b')
  const bytes = w.finish()
  t.same([...bytes], [0x0a, 5, 0x61, 0xef, 0xbf, 0xbd, 0x62])
  t.equal(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(2)), 'a\ufffdb')
})

t.test('the writer refuses what it cannot encode exactly, and truncates', async (t) => {
  const w = new ProtoWriter(16)
  t.throws(() => w.varint(-1), RangeError)
  t.throws(() => w.varint(2 ** 53), RangeError)
  t.throws(() => w.varint(1.5), RangeError)
  t.throws(() => w.sint(1, 0.5), RangeError)
  t.throws(() => w.uint(1, -3), RangeError)
  t.equal(w.length, 0, 'a refused field writes nothing, not even its tag')
  w.string(1, 'kept')
  const kept = w.length
  w.string(2, 'dropped')
  w.truncate(kept)
  t.same([...w.finish()], [0x0a, 4, ...Buffer.from('kept')])
  t.throws(() => w.truncate(kept + 1), RangeError)
  t.same([1, 127, 128, 16_383, 16_384, 2 ** 53 - 1].map(varintSize), [1, 1, 2, 2, 3, 8])
})

const meta = (type: FamilyMeta['type'], name = 'm'): FamilyMeta => ({ name, help: `help of ${name}`, type })
/** What the general path (one object per series, then the encoder) makes of the samples. */
function generalPath(m: FamilyMeta, samples: readonly Sample[]): Buffer {
  const values = samples.map((s) => ({
    labels: s.extra === undefined ? s.labels : { ...s.labels, [s.extra[0]]: s.extra[1] },
    value: s.value,
    ...(s.metricName !== undefined && { metricName: s.metricName }),
  }))
  const family = familyFromValues(m.name, m.help, m.type, values)
  return family === undefined || family.metric.length === 0 ? Buffer.alloc(0) : encodeFamily(family)
}

t.test('streamed samples: the same bytes as the general path, on inputs that stream and on inputs that do not', async (t) => {
  const a = { namespace: 'prod', pod: 'api-1', service: 'prod/api' }
  const b = { namespace: 'prod', pod: 'api-2', service: 'prod/api' }
  const aCopy = { ...a }
  const histogram = (labels: typeof a, sum = true): Sample[] => [
    { labels, extra: ['le', '0.1'], value: 1, metricName: 'm_bucket' },
    { labels, extra: ['le', '+Inf'], value: 3, metricName: 'm_bucket' },
    ...(sum ? [{ labels, value: 0.7, metricName: 'm_sum' }, { labels, value: 3, metricName: 'm_count' }] : []),
  ]
  const cases: [string, FamilyMeta, Sample[]][] = [
    ['gauges', meta('gauge'), [{ labels: a, value: 1 }, { labels: b, value: Number.NaN }]],
    ['counters with an extra label', meta('counter'), [{ labels: a, extra: ['status_class', '2xx'], value: 5 }, { labels: a, extra: ['status_class', '5xx'], value: 0 }]],
    ['an extra label that replaces one of the same name in place', meta('counter'), [{ labels: a, extra: ['pod', 'other'], value: 5 }]],
    ['no samples', meta('gauge'), []],
    ['quantiles only (sent untyped)', meta('summary'), [{ labels: a, extra: ['quantile', '0.5'], value: 0.01 }, { labels: a, extra: ['quantile', '0.99'], value: 0.2 }]],
    ['a complete summary (general path)', meta('summary'), [{ labels: a, extra: ['quantile', '0.5'], value: 0.01 }, { labels: a, value: 1, metricName: 'm_sum' }, { labels: a, value: 4, metricName: 'm_count' }]],
    ['histograms, one series after the other', meta('histogram'), [...histogram(a), ...histogram(b)]],
    ['histograms without _sum and _count', meta('histogram'), [...histogram(a, false), ...histogram(b, false)]],
    ['a series split in two (general path)', meta('histogram'), [...histogram(a).slice(0, 1), ...histogram(b), ...histogram(a).slice(1)]],
    ['two label objects with the same labels (general path)', meta('histogram'), [...histogram(a), ...histogram(aCopy)]],
    ['le inside the labels (general path)', meta('histogram'), [{ labels: { ...a, le: '1' }, value: 2, metricName: 'm_bucket' }]],
    ['a bucket without le (general path)', meta('histogram'), [{ labels: a, value: 2, metricName: 'm_bucket' }]],
    ['histogram series told apart by an extra label', meta('histogram'), [{ labels: a, extra: ['code', '200'], value: 1, metricName: 'm_sum' }, { labels: a, extra: ['code', '500'], value: 2, metricName: 'm_sum' }]],
  ]
  for (const [name, m, samples] of cases) {
    let calls = 0
    const streamed = encodeFamilyProtobuf(m, () => {
      calls++
      return samples
    })
    t.ok(streamed.equals(generalPath(m, samples)), `${name}: same bytes`)
    if (samples.length > 0) t.ok(decodeFamilies(streamed).length === 1, `${name}: one family`)
    if (name.includes('general path')) t.equal(calls, 2, `${name}: took the general path`)
    else t.equal(calls, 1, `${name}: streamed in one pass`)
  }
})
