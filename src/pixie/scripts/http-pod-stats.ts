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
 * Several tables in one run keep Pixie's cost at one run per interval. The
 * script only defines PxL functions; the request calls them through Pixie's
 * `exec_funcs` with the run's parameters as arguments (time range, error
 * threshold, namespace regexes, bucket bounds, native scale), one function per
 * table. The only values in the PxL text are the row limit and the number of
 * latency buckets, numbers we produced, so no input can change the script.
 */

import { MAX_NATIVE_SCHEMA, MIN_NATIVE_SCHEMA, ZERO_THRESHOLD_NS } from '../../metrics/native-histogram.js'
import type { FuncToExecute } from '../types.js'
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

/** The argument values of the namespace filter every built-in script function takes. */
export function namespaceArgs(include: readonly string[], exclude: readonly string[]): { name: string; value: string }[] {
  return [
    { name: 'include_namespaces', value: include.length === 0 ? ALL_NAMESPACES : `^(?:${include.join('|')})$` },
    { name: 'exclude_namespaces', value: exclude.length === 0 ? NO_NAMESPACE : `^(?:${exclude.join('|')})$` },
  ]
}

/** Regex of `include_namespaces` when every namespace is kept. */
export const ALL_NAMESPACES = '^.*$'
/** Regex of `exclude_namespaces` when none is excluded (a namespace name is never empty). */
export const NO_NAMESPACE = '^$'

/**
 * The lines of the namespace filter over `v`, with the regexes passed as the
 * function's `include_namespaces` / `exclude_namespaces` parameters
 * (Carnot's `px.regex_match(pattern, value)`). A namespace name (DNS-1123)
 * holds no regex metacharacter, so `^(?:a|b)$` matches exactly those names.
 */
export function namespaceFilterLines(v: string): string[] {
  return [`${v} = ${v}[px.regex_match(include_namespaces, ${v}.namespace)]`, `${v} = ${v}[not px.regex_match(exclude_namespaces, ${v}.namespace)]`]
}

/** Indents the body lines of a PxL function. */
export function indent(lines: readonly string[]): string[] {
  return lines.map((l) => (l === '' ? '' : `    ${l}`))
}

const NAMESPACE_PARAMS = 'include_namespaces: str, exclude_namespaces: str'
const RANGE_PARAMS = 'start_time: int, end_time: int'

/** The helper every function calls: inbound HTTP events of the kept namespaces in [start_time, end_time), with namespace/pod/service columns. */
function inboundLines(): string[] {
  return [
    `def _inbound(${RANGE_PARAMS}, ${NAMESPACE_PARAMS}):`,
    ...indent([
      "df = px.DataFrame(table='http_events', start_time=start_time, end_time=end_time)",
      'df = df[df.trace_role == 2]',
      "df.namespace = df.ctx['namespace']",
      ...namespaceFilterLines('df'),
      "df.pod = df.ctx['pod']",
      "df.service = df.ctx['service']",
      'return df',
    ]),
  ]
}

const GROUP = "groupby(['namespace', 'pod', 'service'])"
const project = (v: string, columns: readonly { name: string }[]) => `${v} = ${v}[[${columns.map((c) => `'${c.name}'`).join(', ')}]]`
const CALL_INBOUND = '_inbound(start_time, end_time, include_namespaces, exclude_namespaces)'

function statsFunction(): string[] {
  return [
    '# Window statistics, for the gauges.',
    `def ${HTTP_POD_STATS_TABLE}(${RANGE_PARAMS}, ${NAMESPACE_PARAMS}, error_status_min: int):`,
    ...indent([
      `w = ${CALL_INBOUND}`,
      'w.failure = w.resp_status >= error_status_min',
      `w = w.${GROUP}.agg(`,
      "    requests=('latency', px.count),",
      "    errors=('failure', px.sum),",
      "    latency_quantiles=('latency', px.quantiles),",
      ')',
      "w.latency_p50_ns = px.pluck_float64(w.latency_quantiles, 'p50')",
      "w.latency_p90_ns = px.pluck_float64(w.latency_quantiles, 'p90')",
      "w.latency_p99_ns = px.pluck_float64(w.latency_quantiles, 'p99')",
      project('w', HTTP_POD_STATS_COLUMNS),
      'return w',
    ]),
  ]
}

function countsFunction(buckets: number): string[] {
  const classBounds = STATUS_CLASSES.map((c, i) => [c, 100 * (i + 1), 100 * (i + 2)] as const)
  const le = Array.from({ length: buckets }, (_, i) => `le_${i}`)
  return [
    '# Counts over the contiguous range, for counters and the latency histogram;',
    '# le_i is the upper bound of latency bucket i, in ns.',
    `def ${HTTP_POD_COUNTS_TABLE}(${[RANGE_PARAMS, NAMESPACE_PARAMS, ...le.map((b) => `${b}: int`)].join(', ')}):`,
    ...indent([
      `c = ${CALL_INBOUND}`,
      'c = c[c.resp_status >= 100 and c.resp_status < 600]',
      ...classBounds.map(([c, lo, hi]) => `c.s${c} = c.resp_status >= ${lo} and c.resp_status < ${hi}`),
      ...le.map((b) => `c.${b} = c.latency <= ${b}`),
      `c = c.${GROUP}.agg(`,
      "    requests=('latency', px.count),",
      ...STATUS_CLASSES.map((c) => `    s${c}=('s${c}', px.sum),`),
      "    latency_sum_ns=('latency', px.sum),",
      ...le.map((b) => `    ${b}=('${b}', px.sum),`),
      ')',
      project('c', httpPodCountsColumns(buckets)),
      'return c',
    ]),
  ]
}

/**
 * Requests per exponential bucket over the count range, for the native
 * histogram; `scale` is 2^schema. A latency at or below the zero threshold
 * (2^-20 s, a boundary of every schema) is clamped to it, so its index is
 * exactly zeroIndex(schema): the zero bucket. 2^-20 is written out in full,
 * an exact decimal. px.log2 and px.ceil are Carnot builtins (math_ops); `/`
 * always gives FLOAT64.
 */
function nativeFunction(): string[] {
  return [
    '# Requests per exponential latency bucket (scale = 2^schema), for the native histogram.',
    `def ${HTTP_POD_NATIVE_BUCKETS_TABLE}(${RANGE_PARAMS}, ${NAMESPACE_PARAMS}, scale: float):`,
    ...indent([
      `n = ${CALL_INBOUND}`,
      'n = n[n.resp_status >= 100 and n.resp_status < 600]',
      `n.seconds = px.select(n.latency > ${ZERO_THRESHOLD_NS}, n.latency / 1000000000.0, ${ZERO_THRESHOLD_DECIMAL})`,
      'n.bucket = px.ceil(px.log2(n.seconds) * scale)',
      "n = n.groupby(['namespace', 'pod', 'service', 'bucket']).agg(",
      "    count=('latency', px.count),",
      ')',
      project('n', HTTP_POD_NATIVE_BUCKETS_COLUMNS),
      'return n',
    ]),
  ]
}

/** 2^-20 written as an exact decimal. */
const ZERO_THRESHOLD_DECIMAL = '0.00000095367431640625'

/** `query_name` of the script's runs. */
export const HTTP_POD_STATS_QUERY_NAME = 'pixie-exporter/http_pod_stats'

/** What one run sends: the PxL (functions only) and the calls with their parameters. */
export interface HttpPodStatsRequest {
  readonly script: string
  readonly queryName: string
  readonly execFuncs: readonly FuncToExecute[]
}

/**
 * Builds the request of one run: a script that only defines PxL functions,
 * and `exec_funcs` calling one function per table with the run's parameters
 * as arguments (Pixie parses each string into the parameter's type). Each
 * function's `output_table_prefix` is its table name, which is the name
 * Pixie gives the table it returns. Throws TypeError on invalid parameters.
 */
export function buildHttpPodStatsRequest(p: HttpPodStatsParams): HttpPodStatsRequest {
  checkParams(p)
  const ns = namespaceArgs(p.include, p.exclude)
  const range = (startNs: bigint) => [
    { name: 'start_time', value: String(startNs) },
    { name: 'end_time', value: String(p.endNs) },
  ]
  const execFuncs: FuncToExecute[] = [
    {
      funcName: HTTP_POD_STATS_TABLE,
      argValues: [...range(p.startNs), ...ns, { name: 'error_status_min', value: String(p.errorStatusMin) }],
      outputTablePrefix: HTTP_POD_STATS_TABLE,
    },
  ]
  const counts = p.counts
  if (counts !== undefined) {
    execFuncs.push({
      funcName: HTTP_POD_COUNTS_TABLE,
      argValues: [...range(counts.startNs), ...ns, ...counts.bucketsNs.map((b, i) => ({ name: `le_${i}`, value: String(b) }))],
      outputTablePrefix: HTTP_POD_COUNTS_TABLE,
    })
    if (counts.native !== undefined) {
      execFuncs.push({
        funcName: HTTP_POD_NATIVE_BUCKETS_TABLE,
        argValues: [...range(counts.startNs), ...ns, { name: 'scale', value: String(2 ** counts.native.schema) }],
        outputTablePrefix: HTTP_POD_NATIVE_BUCKETS_TABLE,
      })
    }
  }
  const script = [
    `#px:set max_output_rows_per_table=${p.maxRows}`,
    'import px',
    '',
    ...inboundLines(),
    '',
    ...statsFunction(),
    ...(counts === undefined ? [] : ['', ...countsFunction(counts.bucketsNs.length)]),
    ...(counts?.native === undefined ? [] : ['', ...nativeFunction()]),
    '',
  ].join('\n')
  return { script, queryName: HTTP_POD_STATS_QUERY_NAME, execFuncs }
}
