/**
 * The built-in HTTP collector's PxL script. ONE run answers for every pod:
 *
 * - table `http_pod_stats`: inbound requests (`trace_role == 2`) over the
 *   gauge window [windowStart, end): requests, errors, latency quantiles;
 * - table `http_pod_counts` (when a count range is given): inbound requests
 *   over the contiguous count range [countStart, end), by status class, with
 *   the latency sum and cumulative latency-bucket counts, from which the
 *   exporter adds up counters and a histogram.
 *
 * Two DataFrames in one script keep Pixie's cost at one run per interval.
 * Everything interpolated into the PxL text is either a number we produced or
 * a namespace that passed the Kubernetes DNS-1123 label rule, so no input can
 * change the script. {@link parseHttpPodStatsScript} reads the parameters back;
 * the simulator uses it to recognise and answer this script, which keeps the
 * two from drifting apart.
 */

import { MAX_NATIVE_SCHEMA, MIN_NATIVE_SCHEMA, ZERO_THRESHOLD_NS } from '../../metrics/native-histogram.js'

/** First line of the script; identifies it (and its version) to the simulator. */
export const HTTP_POD_STATS_MARKER = '# pixie-exporter: http_pod_stats v2'
/** The `px.display` name of the windowed table. */
export const HTTP_POD_STATS_TABLE = 'http_pod_stats'
/** The `px.display` name of the count table. */
export const HTTP_POD_COUNTS_TABLE = 'http_pod_counts'
/** The `px.display` name of the native-histogram bucket table. */
export const HTTP_POD_NATIVE_BUCKETS_TABLE = 'http_pod_native_buckets'

/**
 * Columns of `http_pod_native_buckets`, in order: per pod and exponential
 * bucket index (see src/metrics/native-histogram.ts), the requests with a
 * status from 100 to 599 over the count range whose latency falls in that
 * bucket. The index equal to `zeroIndex(schema)` is the zero bucket.
 */
export const HTTP_POD_NATIVE_BUCKETS_COLUMNS = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'service', type: 'STRING' },
  { name: 'bucket', type: 'INT64' },
  { name: 'count', type: 'INT64' },
] as const

/**
 * Columns of `http_pod_stats`, in order. `pod` is `<namespace>/<pod>`; `service`
 * is Pixie's `ctx['service']` (`ns/svc`, a JSON array of those, or empty).
 * Latencies are nanoseconds.
 */
export const HTTP_POD_STATS_COLUMNS = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'service', type: 'STRING' },
  { name: 'requests', type: 'INT64' },
  { name: 'errors', type: 'INT64' },
  { name: 'latency_p50_ns', type: 'FLOAT64' },
  { name: 'latency_p90_ns', type: 'FLOAT64' },
  { name: 'latency_p99_ns', type: 'FLOAT64' },
] as const

/** The five status classes counted, in column order (`s1xx` ... `s5xx`). */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

/**
 * Columns of `http_pod_counts`, in order, for `buckets` latency buckets:
 * namespace, pod, service, requests (only statuses 100..599), s1xx..s5xx,
 * latency_sum_ns, then le_0..le_{n-1}: requests with latency <= bucket i.
 */
export function httpPodCountsColumns(buckets: number): { name: string; type: 'STRING' | 'INT64' }[] {
  return [
    { name: 'namespace', type: 'STRING' },
    { name: 'pod', type: 'STRING' },
    { name: 'service', type: 'STRING' },
    { name: 'requests', type: 'INT64' },
    ...STATUS_CLASSES.map((c) => ({ name: `s${c}`, type: 'INT64' as const })),
    { name: 'latency_sum_ns', type: 'INT64' },
    ...Array.from({ length: buckets }, (_, i) => ({ name: `le_${i}`, type: 'INT64' as const })),
  ]
}

/** Kubernetes namespace names: DNS-1123 labels. */
export const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

/** The count part of a run: [startNs, endNs) of the run, latency buckets. */
export interface HttpPodCountsParams {
  /** Count range start, absolute ns (inclusive); the end is the run's `endNs`. */
  readonly startNs: bigint
  /** Upper bounds of the latency buckets in ns, strictly increasing, without +Inf. */
  readonly bucketsNs: readonly bigint[]
  /** When set, the script also returns `http_pod_native_buckets` for this schema. */
  readonly native?: { readonly schema: number }
}

/** Parameters of one run of the script. */
export interface HttpPodStatsParams {
  /** Gauge window start, absolute nanoseconds since the epoch (inclusive). */
  readonly startNs: bigint
  /** End of both ranges, absolute nanoseconds since the epoch (exclusive). */
  readonly endNs: bigint
  /** A response with `resp_status >= errorStatusMin` is an error. */
  readonly errorStatusMin: number
  /** Only these namespaces (empty: all). */
  readonly include: readonly string[]
  /** Never these namespaces. */
  readonly exclude: readonly string[]
  /** Value of `#px:set max_output_rows_per_table` (Pixie's default of 10,000 would cut large clusters). */
  readonly maxRows: number
  /** When set, the script also returns the `http_pod_counts` table. */
  readonly counts?: HttpPodCountsParams
}

function checkParams(p: HttpPodStatsParams): void {
  if (p.endNs <= p.startNs) throw new TypeError('endNs must be after startNs')
  if (!Number.isInteger(p.errorStatusMin) || p.errorStatusMin < 100 || p.errorStatusMin > 599) {
    throw new TypeError('errorStatusMin must be an integer from 100 to 599')
  }
  if (!Number.isInteger(p.maxRows) || p.maxRows < 1) throw new TypeError('maxRows must be a positive integer')
  for (const ns of [...p.include, ...p.exclude]) {
    if (!NAMESPACE_PATTERN.test(ns)) throw new TypeError(`not a Kubernetes namespace name: ${JSON.stringify(ns)}`)
  }
  if (p.counts !== undefined) {
    if (p.endNs <= p.counts.startNs) throw new TypeError('endNs must be after counts.startNs')
    p.counts.bucketsNs.forEach((b, i) => {
      if (b <= 0n || (i > 0 && b <= (p.counts?.bucketsNs[i - 1] ?? 0n))) {
        throw new TypeError('bucketsNs must be positive and strictly increasing')
      }
    })
    const schema = p.counts.native?.schema
    if (schema !== undefined && (!Number.isInteger(schema) || schema < MIN_NATIVE_SCHEMA || schema > MAX_NATIVE_SCHEMA)) {
      throw new TypeError(`native schema must be an integer from ${MIN_NATIVE_SCHEMA} to ${MAX_NATIVE_SCHEMA}`)
    }
  }
}

/** Lines that load inbound HTTP events of the kept namespaces into `v`, with namespace/pod/service columns. */
function source(v: string, p: HttpPodStatsParams, startNs: bigint): string[] {
  const lines = [
    `${v} = px.DataFrame(table='http_events', start_time=${startNs}, end_time=${p.endNs})`,
    `${v} = ${v}[${v}.trace_role == 2]`,
    `${v}.namespace = ${v}.ctx['namespace']`,
  ]
  if (p.include.length > 0) {
    lines.push(`${v} = ${v}[${p.include.map((ns) => `${v}.namespace == '${ns}'`).join(' or ')}]`)
  }
  if (p.exclude.length > 0) {
    lines.push(`${v} = ${v}[${p.exclude.map((ns) => `${v}.namespace != '${ns}'`).join(' and ')}]`)
  }
  lines.push(`${v}.pod = ${v}.ctx['pod']`, `${v}.service = ${v}.ctx['service']`)
  return lines
}

const GROUP = "groupby(['namespace', 'pod', 'service'])"
const project = (v: string, columns: readonly { name: string }[]) => `${v} = ${v}[[${columns.map((c) => `'${c.name}'`).join(', ')}]]`

function countLines(p: HttpPodStatsParams, counts: HttpPodCountsParams): string[] {
  const classBounds = STATUS_CLASSES.map((c, i) => [c, 100 * (i + 1), 100 * (i + 2)] as const)
  return [
    '',
    '# Counts over the contiguous range, for counters and the latency histogram.',
    ...source('c', p, counts.startNs),
    'c = c[c.resp_status >= 100 and c.resp_status < 600]',
    ...classBounds.map(([c, lo, hi]) => `c.s${c} = c.resp_status >= ${lo} and c.resp_status < ${hi}`),
    ...counts.bucketsNs.map((b, i) => `c.le_${i} = c.latency <= ${b}`),
    `c = c.${GROUP}.agg(`,
    "    requests=('latency', px.count),",
    ...STATUS_CLASSES.map((c) => `    s${c}=('s${c}', px.sum),`),
    "    latency_sum_ns=('latency', px.sum),",
    ...counts.bucketsNs.map((_, i) => `    le_${i}=('le_${i}', px.sum),`),
    ')',
    project('c', httpPodCountsColumns(counts.bucketsNs.length)),
    `px.display(c, '${HTTP_POD_COUNTS_TABLE}')`,
    ...(counts.native === undefined ? [] : nativeLines(p, counts, counts.native.schema)),
  ]
}

/**
 * Requests per exponential bucket over the count range. A latency at or below
 * the zero threshold (2^-20 s, a boundary of every schema) is clamped to it,
 * so its index is exactly zeroIndex(schema): the zero bucket. 2^-20 is written
 * out in full, an exact decimal. px.log2 and px.ceil are Carnot builtins
 * (math_ops); `/` always gives FLOAT64.
 */
function nativeLines(p: HttpPodStatsParams, counts: HttpPodCountsParams, schema: number): string[] {
  return [
    '',
    '# Requests per exponential latency bucket, for the native histogram.',
    ...source('n', p, counts.startNs),
    'n = n[n.resp_status >= 100 and n.resp_status < 600]',
    `n.seconds = px.select(n.latency > ${ZERO_THRESHOLD_NS}, n.latency / 1000000000.0, ${ZERO_THRESHOLD_DECIMAL})`,
    `n.bucket = px.ceil(px.log2(n.seconds) * ${2 ** schema})`,
    "n = n.groupby(['namespace', 'pod', 'service', 'bucket']).agg(",
    "    count=('latency', px.count),",
    ')',
    project('n', HTTP_POD_NATIVE_BUCKETS_COLUMNS),
    `px.display(n, '${HTTP_POD_NATIVE_BUCKETS_TABLE}')`,
  ]
}

/** 2^-20 written as an exact decimal. */
const ZERO_THRESHOLD_DECIMAL = '0.00000095367431640625'

/** Builds the PxL text for one run. Throws TypeError on parameters that could alter the script. */
export function buildHttpPodStatsScript(p: HttpPodStatsParams): string {
  checkParams(p)
  return [
    HTTP_POD_STATS_MARKER,
    `#px:set max_output_rows_per_table=${p.maxRows}`,
    'import px',
    '',
    '# Window statistics, for the gauges.',
    ...source('w', p, p.startNs),
    `w.failure = w.resp_status >= ${p.errorStatusMin}`,
    `w = w.${GROUP}.agg(`,
    "    requests=('latency', px.count),",
    "    errors=('failure', px.sum),",
    "    latency_quantiles=('latency', px.quantiles),",
    ')',
    "w.latency_p50_ns = px.pluck_float64(w.latency_quantiles, 'p50')",
    "w.latency_p90_ns = px.pluck_float64(w.latency_quantiles, 'p90')",
    "w.latency_p99_ns = px.pluck_float64(w.latency_quantiles, 'p99')",
    project('w', HTTP_POD_STATS_COLUMNS),
    `px.display(w, '${HTTP_POD_STATS_TABLE}')`,
    ...(p.counts === undefined ? [] : countLines(p, p.counts)),
    '',
  ].join('\n')
}

/**
 * Reads the parameters back from a script built by {@link buildHttpPodStatsScript}.
 * Returns undefined when the text is not that script.
 */
export function parseHttpPodStatsScript(script: string): HttpPodStatsParams | undefined {
  if (!script.startsWith(`${HTTP_POD_STATS_MARKER}\n`)) return undefined
  const maxRows = /^#px:set max_output_rows_per_table=(\d+)$/m.exec(script)
  const window = /^w = px\.DataFrame\(table='http_events', start_time=(\d+), end_time=(\d+)\)$/m.exec(script)
  const status = /^w\.failure = w\.resp_status >= (\d+)$/m.exec(script)
  if (!maxRows?.[1] || !window?.[1] || !window[2] || !status?.[1]) return undefined
  const include = /^w = w\[(w\.namespace == .*)\]$/m.exec(script)?.[1]
  const exclude = /^w = w\[(w\.namespace != .*)\]$/m.exec(script)?.[1]
  const names = (s: string | undefined): string[] => (s === undefined ? [] : [...s.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? ''))
  const countStart = /^c = px\.DataFrame\(table='http_events', start_time=(\d+), end_time=\d+\)$/m.exec(script)?.[1]
  const bucketsNs = [...script.matchAll(/^c\.le_\d+ = c\.latency <= (\d+)$/gm)].map((m) => BigInt(m[1] ?? '0'))
  const perPowerOfTwo = /^n\.bucket = px\.ceil\(px\.log2\(n\.seconds\) \* (\d+)\)$/m.exec(script)?.[1]
  const native = perPowerOfTwo === undefined ? undefined : { schema: Math.log2(Number(perPowerOfTwo)) }
  return {
    startNs: BigInt(window[1]),
    endNs: BigInt(window[2]),
    errorStatusMin: Number(status[1]),
    maxRows: Number(maxRows[1]),
    include: names(include),
    exclude: names(exclude),
    ...(countStart === undefined ? {} : { counts: { startNs: BigInt(countStart), bucketsNs, ...(native !== undefined && { native }) } }),
  }
}
