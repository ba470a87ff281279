/**
 * The Prometheus protobuf exposition format: a stream of length-delimited
 * `io.prometheus.client.MetricFamily` messages. prom-client has none, so the
 * messages are declared here (our own protobufjs reflection definitions, from
 * the field names and numbers that Prometheus publishes in client_model's
 * `metrics.proto`) and encoded with protobufjs.
 *
 * Prometheus asks for this format (before the text format) when it runs with
 * `--enable-feature=native-histograms`; it is the only format that carries
 * native histograms.
 */
import protobuf from 'protobufjs'
import type { BucketSpan } from './native-histogram.js'

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

// Field names and numbers of io.prometheus.client (metrics.proto); fields we
// never send (exemplars, float counts, negative buckets, created timestamps)
// are left out, which protobuf allows.
const DEFINITIONS = {
  nested: {
    io: {
      nested: {
        prometheus: {
          nested: {
            client: {
              nested: {
                MetricType: { values: MetricType },
                LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
                Gauge: { fields: { value: { type: 'double', id: 1 } } },
                Counter: { fields: { value: { type: 'double', id: 1 } } },
                Quantile: { fields: { quantile: { type: 'double', id: 1 }, value: { type: 'double', id: 2 } } },
                Summary: {
                  fields: {
                    sampleCount: { type: 'uint64', id: 1 },
                    sampleSum: { type: 'double', id: 2 },
                    quantile: { rule: 'repeated', type: 'Quantile', id: 3 },
                  },
                },
                Untyped: { fields: { value: { type: 'double', id: 1 } } },
                Bucket: { fields: { cumulativeCount: { type: 'uint64', id: 1 }, upperBound: { type: 'double', id: 2 } } },
                BucketSpan: { fields: { offset: { type: 'sint32', id: 1 }, length: { type: 'uint32', id: 2 } } },
                Histogram: {
                  fields: {
                    sampleCount: { type: 'uint64', id: 1 },
                    sampleSum: { type: 'double', id: 2 },
                    bucket: { rule: 'repeated', type: 'Bucket', id: 3 },
                    schema: { type: 'sint32', id: 5 },
                    zeroThreshold: { type: 'double', id: 6 },
                    zeroCount: { type: 'uint64', id: 7 },
                    positiveSpan: { rule: 'repeated', type: 'BucketSpan', id: 12 },
                    positiveDelta: { rule: 'repeated', type: 'sint64', id: 13 },
                  },
                },
                Metric: {
                  fields: {
                    label: { rule: 'repeated', type: 'LabelPair', id: 1 },
                    gauge: { type: 'Gauge', id: 2 },
                    counter: { type: 'Counter', id: 3 },
                    summary: { type: 'Summary', id: 4 },
                    untyped: { type: 'Untyped', id: 5 },
                    timestampMs: { type: 'int64', id: 6 },
                    histogram: { type: 'Histogram', id: 7 },
                  },
                },
                MetricFamily: {
                  fields: {
                    name: { type: 'string', id: 1 },
                    help: { type: 'string', id: 2 },
                    type: { type: 'MetricType', id: 3 },
                    metric: { rule: 'repeated', type: 'Metric', id: 4 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
}

const root = protobuf.Root.fromJSON(DEFINITIONS)
/** The MetricFamily message type (exported for tests that decode with our definitions). */
export const MetricFamilyType = root.lookupType('io.prometheus.client.MetricFamily')

/** One length-delimited MetricFamily. */
export function encodeFamily(family: MetricFamilyMessage): Uint8Array {
  return MetricFamilyType.encodeDelimited(family as unknown as Record<string, unknown>).finish()
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

function parseBound(text: string | number | undefined): number {
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
