/**
 * The built-in HTTP collector's PxL script: ONE run aggregates the inbound HTTP
 * requests (`trace_role == 2`) of every pod over an absolute window.
 *
 * Everything interpolated into the PxL text is either a number we produced or
 * a namespace that passed the Kubernetes DNS-1123 label rule, so no input can
 * change the script. {@link parseHttpPodStatsScript} reads the parameters back;
 * the simulator uses it to recognise and answer this script, which keeps the
 * two from drifting apart.
 */

/** First line of the script; identifies it (and its version) to the simulator. */
export const HTTP_POD_STATS_MARKER = '# pixie-exporter: http_pod_stats v1'
/** The `px.display` name of the output table. */
export const HTTP_POD_STATS_TABLE = 'http_pod_stats'

/**
 * Output columns, in order. `pod` is `<namespace>/<pod>`; `service` is Pixie's
 * `ctx['service']` (`ns/svc`, a JSON array of those, or empty). Latencies are
 * nanoseconds.
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

/** Kubernetes namespace names: DNS-1123 labels. */
export const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

/** Parameters of one run of the script. */
export interface HttpPodStatsParams {
  /** Window start, absolute nanoseconds since the epoch (inclusive). */
  readonly startNs: bigint
  /** Window end, absolute nanoseconds since the epoch (exclusive). */
  readonly endNs: bigint
  /** A response with `resp_status >= errorStatusMin` is an error. */
  readonly errorStatusMin: number
  /** Only these namespaces (empty: all). */
  readonly include: readonly string[]
  /** Never these namespaces. */
  readonly exclude: readonly string[]
  /** Value of `#px:set max_output_rows_per_table` (Pixie's default of 10,000 would cut large clusters). */
  readonly maxRows: number
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
}

function namespaceFilter(p: HttpPodStatsParams): string[] {
  const lines: string[] = []
  if (p.include.length > 0) {
    lines.push(`df = df[${p.include.map((ns) => `df.namespace == '${ns}'`).join(' or ')}]`)
  }
  if (p.exclude.length > 0) {
    lines.push(`df = df[${p.exclude.map((ns) => `df.namespace != '${ns}'`).join(' and ')}]`)
  }
  return lines
}

/** Builds the PxL text for one run. Throws TypeError on parameters that could alter the script. */
export function buildHttpPodStatsScript(p: HttpPodStatsParams): string {
  checkParams(p)
  return [
    HTTP_POD_STATS_MARKER,
    `#px:set max_output_rows_per_table=${p.maxRows}`,
    'import px',
    '',
    `df = px.DataFrame(table='http_events', start_time=${p.startNs}, end_time=${p.endNs})`,
    'df = df[df.trace_role == 2]',
    "df.namespace = df.ctx['namespace']",
    ...namespaceFilter(p),
    "df.pod = df.ctx['pod']",
    "df.service = df.ctx['service']",
    `df.failure = df.resp_status >= ${p.errorStatusMin}`,
    "df = df.groupby(['namespace', 'pod', 'service']).agg(",
    "    requests=('latency', px.count),",
    "    errors=('failure', px.sum),",
    "    latency_quantiles=('latency', px.quantiles),",
    ')',
    "df.latency_p50_ns = px.pluck_float64(df.latency_quantiles, 'p50')",
    "df.latency_p90_ns = px.pluck_float64(df.latency_quantiles, 'p90')",
    "df.latency_p99_ns = px.pluck_float64(df.latency_quantiles, 'p99')",
    `df = df[[${HTTP_POD_STATS_COLUMNS.map((c) => `'${c.name}'`).join(', ')}]]`,
    `px.display(df, '${HTTP_POD_STATS_TABLE}')`,
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
  const window = /start_time=(\d+), end_time=(\d+)\)/.exec(script)
  const status = /^df\.failure = df\.resp_status >= (\d+)$/m.exec(script)
  if (!maxRows?.[1] || !window?.[1] || !window[2] || !status?.[1]) return undefined
  const include = /^df = df\[(df\.namespace == .*)\]$/m.exec(script)?.[1]
  const exclude = /^df = df\[(df\.namespace != .*)\]$/m.exec(script)?.[1]
  const names = (s: string | undefined): string[] => (s === undefined ? [] : [...s.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? ''))
  return {
    startNs: BigInt(window[1]),
    endNs: BigInt(window[2]),
    errorStatusMin: Number(status[1]),
    maxRows: Number(maxRows[1]),
    include: names(include),
    exclude: names(exclude),
  }
}
