/**
 * The Prometheus protobuf exposition format: a stream of length-delimited
 * `io.prometheus.client.MetricFamily` messages. prom-client has none, so the
 * messages are written here (our own encoder, from the field names and
 * numbers that Prometheus publishes in client_model's `metrics.proto`) with
 * the wire-format writer of ./protobuf-writer.ts.
 *
 * Prometheus asks for this format (before the text format) when it runs with
 * `--enable-feature=native-histograms`; it is the only format that carries
 * native histograms.
 */
import type { BucketSpan } from './native-histogram.js'
import { ProtoWriter } from './protobuf-writer.js'

/** The media type Prometheus sends in `Accept` (with q-values) and expects back. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'

/** `MetricType` values. */
export const MetricType = { COUNTER: 0, GAUGE: 1, SUMMARY: 2, UNTYPED: 3, HISTOGRAM: 4 } as const
export type MetricTypeValue = (typeof MetricType)[keyof typeof MetricType]

export interface LabelPair {
  readonly name: string
  readonly value: string
}
export interface ClassicBucket {
  readonly cumulativeCount: number
  readonly upperBound: number
}
/** `Histogram`: classic buckets, native buckets, or both. */
export interface HistogramMessage {
  readonly sampleCount: number
  readonly sampleSum: number
  readonly bucket?: readonly ClassicBucket[]
  readonly schema?: number
  readonly zeroThreshold?: number
  readonly zeroCount?: number
  readonly positiveSpan?: readonly BucketSpan[]
  readonly positiveDelta?: readonly number[]
}
export interface MetricMessage {
  readonly label: readonly LabelPair[]
  readonly gauge?: { readonly value: number }
  readonly counter?: { readonly value: number }
  readonly summary?: { readonly sampleCount: number; readonly sampleSum: number; readonly quantile: readonly { readonly quantile: number; readonly value: number }[] }
  readonly untyped?: { readonly value: number }
  readonly histogram?: HistogramMessage
  readonly timestampMs?: number
}
export interface MetricFamilyMessage {
  readonly name: string
  readonly help: string
  readonly type: MetricTypeValue
  readonly metric: readonly MetricMessage[]
}

// Field numbers of io.prometheus.client (metrics.proto). Fields we never send
// (exemplars, float counts, negative buckets, created timestamps) are left
// out, which protobuf allows.
const FAMILY = { name: 1, help: 2, type: 3, metric: 4 } as const
const METRIC = { label: 1, gauge: 2, counter: 3, summary: 4, untyped: 5, timestampMs: 6, histogram: 7 } as const
const LABEL_PAIR = { name: 1, value: 2 } as const
/** Gauge, Counter and Untyped: one double. */
const VALUE = 1
const SUMMARY = { sampleCount: 1, sampleSum: 2, quantile: 3 } as const
const QUANTILE = { quantile: 1, value: 2 } as const
const HISTOGRAM = { sampleCount: 1, sampleSum: 2, bucket: 3, schema: 5, zeroThreshold: 6, zeroCount: 7, positiveSpan: 12, positiveDelta: 13 } as const
const BUCKET = { cumulativeCount: 1, upperBound: 2 } as const
const BUCKET_SPAN = { offset: 1, length: 2 } as const

/** One `label` field (a LabelPair). */
export function writeLabelPair(w: ProtoWriter, name: string, value: string): void {
  const mark = w.begin(METRIC.label)
  w.string(LABEL_PAIR.name, name)
  w.string(LABEL_PAIR.value, value)
  w.end(mark)
}

/** Starts a length-delimited MetricFamily of the stream; end it with `w.end(mark)` after its metrics. */
export function beginFamily(w: ProtoWriter, name: string, help: string, type: MetricTypeValue): number {
  const mark = w.begin()
  w.string(FAMILY.name, name)
  w.string(FAMILY.help, help)
  w.uint(FAMILY.type, type)
  return mark
}

/** Starts one `metric` of a family (write its labels first, then one value); end it with `w.end(mark)`. */
export function beginMetric(w: ProtoWriter): number {
  return w.begin(FAMILY.metric)
}

/** The value of a counter, gauge or untyped metric. */
export function writeValue(w: ProtoWriter, type: 'counter' | 'gauge' | 'untyped', value: number): void {
  const mark = w.begin(type === 'counter' ? METRIC.counter : type === 'gauge' ? METRIC.gauge : METRIC.untyped)
  w.double(VALUE, value)
  w.end(mark)
}

/** A metric's `histogram` field. */
export function writeHistogram(w: ProtoWriter, h: HistogramMessage): void {
  const mark = w.begin(METRIC.histogram)
  w.uint(HISTOGRAM.sampleCount, h.sampleCount)
  w.double(HISTOGRAM.sampleSum, h.sampleSum)
  for (const b of h.bucket ?? []) {
    const bucket = w.begin(HISTOGRAM.bucket)
    w.uint(BUCKET.cumulativeCount, b.cumulativeCount)
    w.double(BUCKET.upperBound, b.upperBound)
    w.end(bucket)
  }
  if (h.schema !== undefined) w.sint(HISTOGRAM.schema, h.schema)
  if (h.zeroThreshold !== undefined) w.double(HISTOGRAM.zeroThreshold, h.zeroThreshold)
  if (h.zeroCount !== undefined) w.uint(HISTOGRAM.zeroCount, h.zeroCount)
  for (const s of h.positiveSpan ?? []) {
    const span = w.begin(HISTOGRAM.positiveSpan)
    w.sint(BUCKET_SPAN.offset, s.offset)
    w.uint(BUCKET_SPAN.length, s.length)
    w.end(span)
  }
  if (h.positiveDelta !== undefined) w.packedSint(HISTOGRAM.positiveDelta, h.positiveDelta)
  w.end(mark)
}

function writeMetric(w: ProtoWriter, m: MetricMessage): void {
  const mark = beginMetric(w)
  for (const l of m.label) writeLabelPair(w, l.name, l.value)
  if (m.gauge !== undefined) writeValue(w, 'gauge', m.gauge.value)
  if (m.counter !== undefined) writeValue(w, 'counter', m.counter.value)
  if (m.summary !== undefined) {
    const summary = w.begin(METRIC.summary)
    w.uint(SUMMARY.sampleCount, m.summary.sampleCount)
    w.double(SUMMARY.sampleSum, m.summary.sampleSum)
    for (const q of m.summary.quantile) {
      const quantile = w.begin(SUMMARY.quantile)
      w.double(QUANTILE.quantile, q.quantile)
      w.double(QUANTILE.value, q.value)
      w.end(quantile)
    }
    w.end(summary)
  }
  if (m.untyped !== undefined) writeValue(w, 'untyped', m.untyped.value)
  if (m.timestampMs !== undefined) w.uint(METRIC.timestampMs, m.timestampMs)
  if (m.histogram !== undefined) writeHistogram(w, m.histogram)
  w.end(mark)
}

/** One length-delimited MetricFamily, written to `w`. */
export function writeFamily(w: ProtoWriter, family: MetricFamilyMessage): void {
  const mark = beginFamily(w, family.name, family.help, family.type)
  for (const m of family.metric) writeMetric(w, m)
  w.end(mark)
}

/** One length-delimited MetricFamily. */
export function encodeFamily(family: MetricFamilyMessage): Buffer {
  const w = new ProtoWriter(1024)
  writeFamily(w, family)
  return w.finish()
}

/**
 * Whether an `Accept` header prefers the protobuf exposition to text: the
 * protobuf media type with `proto=io.prometheus.client.MetricFamily` and
 * `encoding=delimited` has a q-value above 0 and not below any text one
 * (`text/plain`, `application/openmetrics-text`, wildcards).
 */
export function prefersProtobuf(accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return false
  let protobufQ = 0
  let otherQ = 0
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim())
    const values = new Map(
      params.map((p) => {
        const eq = p.indexOf('=')
        return [p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')] as const
      }),
    )
    const q = values.has('q') ? Number(values.get('q')) : 1
    if (!(q >= 0 && q <= 1)) continue
    const mediaType = type.toLowerCase()
    if (mediaType === 'application/vnd.google.protobuf') {
      if (values.get('proto') === 'io.prometheus.client.MetricFamily' && values.get('encoding') === 'delimited') protobufQ = Math.max(protobufQ, q)
    } else if (mediaType === 'text/plain' || mediaType === 'application/openmetrics-text' || mediaType === '*/*' || mediaType === 'text/*') {
      otherQ = Math.max(otherQ, q)
    }
  }
  return protobufQ > 0 && protobufQ >= otherQ
}

/** A sample as prom-client's `metric.get()` returns it (also SnapshotMetric.get()). */
export interface ValueLike {
  readonly labels: Readonly<Record<string, string | number>>
  readonly value: number
  readonly metricName?: string
}

const labelPairs = (labels: Readonly<Record<string, string | number>>, without?: string): LabelPair[] =>
  Object.entries(labels)
    .filter(([k]) => k !== without)
    .map(([name, value]) => ({ name, value: String(value) }))

/** Groups samples by their labels without `without` (le, quantile), in order of first appearance. */
function groups(values: readonly ValueLike[], without: string): Map<string, { labels: LabelPair[]; values: ValueLike[] }> {
  const byKey = new Map<string, { labels: LabelPair[]; values: ValueLike[] }>()
  for (const v of values) {
    const labels = labelPairs(v.labels, without)
    const key = JSON.stringify(labels.map((l) => [l.name, l.value]))
    let group = byKey.get(key)
    if (group === undefined) {
      group = { labels, values: [] }
      byKey.set(key, group)
    }
    group.values.push(v)
  }
  return byKey
}

/** A bucket bound as the text format writes it (`+Inf`, `-Inf` or a number). */
export function parseBound(text: string | number | undefined): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  return Number(text)
}

/**
 * The MetricFamily of a metric from its prom-client-style samples (`get()`),
 * or undefined when it has no samples (the text format then shows only HELP and
 * TYPE; Prometheus gets nothing from either).
 *
 * A summary whose samples are only quantiles (no `_sum`, `_count`), like
 * `pixie_http_latency_seconds`, is sent UNTYPED with its `quantile` label:
 * as a SUMMARY, Prometheus would add `_sum` and `_count` series of 0 that the
 * text exposition does not have.
 */
export function familyFromValues(
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | string,
  values: readonly ValueLike[],
): MetricFamilyMessage | undefined {
  if (values.length === 0) return undefined
  if (type === 'histogram') {
    const metric = [...groups(values, 'le').values()].map(({ labels, values: vs }): MetricMessage => {
      const bucket: ClassicBucket[] = []
      let sampleSum = 0
      let sampleCount = 0
      for (const v of vs) {
        if (v.metricName === `${name}_sum`) sampleSum = v.value
        else if (v.metricName === `${name}_count`) sampleCount = v.value
        else bucket.push({ cumulativeCount: v.value, upperBound: parseBound(v.labels.le) })
      }
      return { label: labels, histogram: { sampleCount, sampleSum, bucket } }
    })
    return { name, help, type: MetricType.HISTOGRAM, metric }
  }
  if (type === 'summary') {
    const complete = values.some((v) => v.metricName === `${name}_count`)
    if (!complete) {
      return { name, help, type: MetricType.UNTYPED, metric: values.map((v) => ({ label: labelPairs(v.labels), untyped: { value: v.value } })) }
    }
    const metric = [...groups(values, 'quantile').values()].map(({ labels, values: vs }): MetricMessage => {
      const quantile: { quantile: number; value: number }[] = []
      let sampleSum = 0
      let sampleCount = 0
      for (const v of vs) {
        if (v.metricName === `${name}_sum`) sampleSum = v.value
        else if (v.metricName === `${name}_count`) sampleCount = v.value
        else quantile.push({ quantile: Number(v.labels.quantile), value: v.value })
      }
      return { label: labels, summary: { sampleCount, sampleSum, quantile } }
    })
    return { name, help, type: MetricType.SUMMARY, metric }
  }
  if (type === 'counter') return { name, help, type: MetricType.COUNTER, metric: values.map((v) => ({ label: labelPairs(v.labels), counter: { value: v.value } })) }
  if (type === 'gauge') return { name, help, type: MetricType.GAUGE, metric: values.map((v) => ({ label: labelPairs(v.labels), gauge: { value: v.value } })) }
  return { name, help, type: MetricType.UNTYPED, metric: values.map((v) => ({ label: labelPairs(v.labels), untyped: { value: v.value } })) }
}
