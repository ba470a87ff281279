import t from 'tap'
import protobuf from 'protobufjs'
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client'
import { Exposition } from '../../src/metrics/exposition.js'
import { MetricType, PROTOBUF_CONTENT_TYPE, prefersProtobuf } from '../../src/metrics/protobuf.js'
import { MetricFamilyType } from '../fixtures/metric-family-type.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { SnapshotMetric } from '../../src/metrics/snapshot-metric.js'
import { decodeFamilies, type WireFamily } from '../fixtures/protobuf-wire.js'

/** Series of a text exposition: `name{k="v",...}` (labels sorted) → value; TYPE and HELP by family. */
function parseText(text: string) {
  const series = new Map<string, number>()
  const types = new Map<string, string>()
  const helps = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta) {
      ;(meta[1] === 'HELP' ? helps : types).set(meta[2] ?? '', meta[3] ?? '')
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`unparsed line: ${line}`)
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k ?? '', (v ?? '').replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')] as const)
    series.set(key(m[1] ?? '', labels), value(m[3] ?? ''))
  }
  return { series, types, helps }
}
const value = (s: string) => (s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : s === 'Nan' || s === 'NaN' ? NaN : Number(s))
const bound = (n: number) => (n === Infinity ? '+Inf' : String(n))
function key(name: string, labels: readonly (readonly [string, string])[]): string {
  return `${name}{${[...labels].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`
}

/** The series Prometheus makes of protobuf families (classic histograms and summaries expanded as in the text format). */
function seriesOf(families: readonly WireFamily[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const f of families) {
    for (const m of f.metrics) {
      const labels = Object.entries(m.labels)
      if (m.counter !== undefined) out.set(key(f.name, labels), m.counter)
      if (m.gauge !== undefined) out.set(key(f.name, labels), m.gauge)
      if (m.untyped !== undefined) out.set(key(f.name, labels), m.untyped)
      if (m.summary !== undefined) {
        for (const q of m.summary.quantiles) out.set(key(f.name, [...labels, ['quantile', String(q.quantile)]]), q.value)
        out.set(key(`${f.name}_sum`, labels), m.summary.sampleSum)
        out.set(key(`${f.name}_count`, labels), m.summary.sampleCount)
      }
      if (m.histogram !== undefined) {
        for (const b of m.histogram.buckets) out.set(key(`${f.name}_bucket`, [...labels, ['le', bound(b.upperBound)]]), b.cumulativeCount)
        out.set(key(`${f.name}_sum`, labels), m.histogram.sampleSum)
        out.set(key(`${f.name}_count`, labels), m.histogram.sampleCount)
      }
    }
  }
  return out
}

const TYPE_NAMES: Record<number, string> = { [MetricType.COUNTER]: 'counter', [MetricType.GAUGE]: 'gauge', [MetricType.SUMMARY]: 'summary', [MetricType.UNTYPED]: 'untyped', [MetricType.HISTOGRAM]: 'histogram' }

function fixtureRegistry(): Registry {
  const registry = new Registry()
  const counter = new Counter({ name: 'test_requests_total', help: 'Requests.\nSecond "line" \\ slash.', labelNames: ['code'], registers: [registry] })
  counter.inc({ code: '200' }, 5)
  counter.inc({ code: '500' }, 2)
  new Gauge({ name: 'test_temperature', help: 'Temperature.', registers: [registry] }).set(-3.5)
  new Gauge({ name: 'test_never_set', help: 'No samples.', labelNames: ['x'], registers: [registry] })
  const histogram = new Histogram({ name: 'test_duration_seconds', help: 'Durations.', labelNames: ['route'], buckets: [0.1, 1], registers: [registry] })
  histogram.observe({ route: '/a' }, 0.05)
  histogram.observe({ route: '/a' }, 0.5)
  histogram.observe({ route: '/b' }, 3)
  const summary = new Summary({ name: 'test_size_bytes', help: 'Sizes.', percentiles: [0.5, 0.9], registers: [registry] })
  for (const v of [1, 2, 3, 4]) summary.observe(v)
  const labels = { namespace: 'shop', pod: 'cart-7d9-x', service: 'cart' }
  new SnapshotMetric({ name: 'snap_ratio', help: 'A snapshot gauge.', type: 'gauge', samples: () => [{ labels, value: 0.25 }] }, registry)
  new SnapshotMetric(
    {
      name: 'snap_latency_seconds',
      help: 'Quantiles only.',
      type: 'summary',
      samples: () => [
        { labels, extra: ['quantile', '0.5'], value: 0.02 },
        { labels, extra: ['quantile', '0.99'], value: 0.08 },
      ],
    },
    registry,
  )
  new SnapshotMetric(
    {
      name: 'snap_duration_seconds',
      help: 'A snapshot histogram.',
      type: 'histogram',
      samples: () => [
        { labels, extra: ['le', '0.05'], value: 3, metricName: 'snap_duration_seconds_bucket' },
        { labels, extra: ['le', '+Inf'], value: 4, metricName: 'snap_duration_seconds_bucket' },
        { labels, value: 0.5, metricName: 'snap_duration_seconds_sum' },
        { labels, value: 4, metricName: 'snap_duration_seconds_count' },
      ],
    },
    registry,
  )
  new SnapshotMetric({ name: 'snap_empty', help: 'Stale: no samples.', type: 'counter', samples: () => [] }, registry)
  return registry
}

t.test('a protobuf scrape carries every series of a text scrape, with the same values, help and types', async (t) => {
  const registry = fixtureRegistry()
  const exposition = new Exposition(registry)
  const text = parseText((await exposition.render()).text())
  const body = await exposition.renderProtobuf()
  const families = decodeFamilies(body)
  const proto = seriesOf(families)

  t.same([...proto.keys()].sort(), [...text.series.keys()].sort(), 'the same series (independent wire decoder)')
  const differing = [...text.series].filter(([k, v]) => !Object.is(proto.get(k), v))
  t.same(differing, [], 'every value equal')
  for (const f of families) {
    const wantType = text.types.get(f.name)
    const type = TYPE_NAMES[f.type]
    if (f.name === 'snap_latency_seconds') t.equal(type, 'untyped', 'a summary of quantiles only goes out UNTYPED (no invented _sum/_count)')
    else t.equal(type, wantType, `${f.name}: type ${wantType}`)
    t.equal(f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n'), text.helps.get(f.name), `${f.name}: same help`)
    t.equal(f.metrics.every((m) => m.timestampMs === undefined), true, `${f.name}: no timestamps, like the text format`)
  }
  t.same(families.map((f) => f.name), [...text.types.keys()].filter((n) => n !== 'test_never_set' && n !== 'snap_empty'), 'the same families in the same order; families without samples are left out')

  // protobufjs with our definitions reads the same stream the same way.
  const reader = protobuf.Reader.create(body)
  const names: string[] = []
  while (reader.pos < reader.len) names.push(String((MetricFamilyType.decodeDelimited(reader) as unknown as { name: string }).name))
  t.same(names, families.map((f) => f.name), 'protobufjs decodes the same families')
})

t.test('with the process metrics, a protobuf scrape has the same families and series names', async (t) => {
  const registry = new Registry()
  createSelfMetrics(registry, { version: '1.2.3' })
  const exposition = new Exposition(registry)
  const text = parseText((await exposition.render()).text())
  const proto = seriesOf(decodeFamilies(await exposition.renderProtobuf()))
  t.same([...proto.keys()].sort(), [...text.series.keys()].sort(), 'same series (values of process metrics move between two renders)')
  t.equal(proto.get(key('pixie_exporter_build_info', [['version', '1.2.3'], ['revision', 'unknown'], ['branch', 'unknown'], ['nodeversion', process.version]])), 1, 'build info is 1')
})

t.test('content negotiation: protobuf only when asked for with a q-value not below text', async (t) => {
  const prometheus = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2'
  t.equal(prefersProtobuf(prometheus), true, "Prometheus 2.42's Accept with native histograms enabled")
  t.equal(prefersProtobuf('text/plain;version=0.0.4;q=1,*/*;q=0.1'), false, 'Prometheus without native histograms')
  t.equal(prefersProtobuf(undefined), false, 'no Accept header: text')
  t.equal(prefersProtobuf('*/*'), false, 'a wildcard alone: text')
  t.equal(prefersProtobuf('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text;q=0.9'), false, 'the text protobuf encoding is not served')
  t.equal(prefersProtobuf('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0'), false, 'q=0 refuses it')
  t.equal(prefersProtobuf('text/plain;q=0.9, application/vnd.google.protobuf; proto="io.prometheus.client.MetricFamily"; encoding=delimited; q=0.5'), false, 'text preferred')
  t.equal(PROTOBUF_CONTENT_TYPE, 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', 'the media type answered')
})
