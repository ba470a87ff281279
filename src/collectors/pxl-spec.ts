/**
 * The description of a PxL collector: one script, one output table, and how
 * its columns become Prometheus labels and metrics. Custom collectors from the
 * YAML config and the built-in library collectors are both expressed as a
 * {@link PxlCollectorSpec} and run by the same engine (src/collectors/pxl.ts).
 */
import type { CollectorSchedule } from '../scheduler/schedule.js'
import type { FuncToExecute } from '../pixie/types.js'
import type { RouterOptions } from './routes.js'

/** How a metric's value is derived from its column. */
export interface MetricMapping {
  /** Source column (INT64, FLOAT64, TIME64NS or BOOLEAN). */
  readonly column: string
  /** Full Prometheus metric name (validated: `[a-zA-Z_:][a-zA-Z0-9_:]*`, counters end in `_total`). */
  readonly name: string
  readonly help: string
  /**
   * `gauge`: the value of the latest run.
   * `counter`: the column holds the count over the run's time range [start, end)
   * (the engine supplies contiguous ranges, see `window`); values are added up.
   */
  readonly type: 'gauge' | 'counter'
  /** Multiplies the column value (e.g. 1e-9 for ns → s, 1e9 for per-ns → per-s). Default 1. */
  readonly scale?: number
}

/** How a label is derived from a column. */
export interface LabelMapping {
  /** Source column (STRING, INT64, UINT128, BOOLEAN). */
  readonly column: string
  /** Label name (validated: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`). */
  readonly label: string
  /**
   * Optional transformation of the value:
   * `strip-namespace` turns `ns/name` into `name` (Pixie's ctx['pod'], ctx['service']);
   * `service-list` turns ctx['service'] (`ns/a`, `["ns/a","ns/b"]`, ``) into `a,b`;
   * `route` turns an HTTP request path into a low-cardinality route (see src/collectors/routes.ts).
   */
  readonly transform?: 'strip-namespace' | 'service-list' | 'route'
}

/** A PxL collector. */
export interface PxlCollectorSpec {
  /** Collector name (label `collector` of the self-metrics); `[a-z][a-z0-9_]*`. */
  readonly name: string
  /** The PxL script. It reads its time range from `px.plugin.start_time` / `px.plugin.end_time`. */
  readonly script: string
  /** `px.display` name of the table to read (with {@link execFuncs}: the `outputTablePrefix` of the function returning it). */
  readonly table: string
  /**
   * Sent as the request's `exec_funcs`: the script's functions Pixie calls,
   * with their parameters. Default: none (the script's `px.display` calls
   * name the tables).
   */
  readonly execFuncs?: readonly FuncToExecute[]
  readonly schedule: CollectorSchedule
  /** Deadline of one run, ms. */
  readonly timeoutMs: number
  /**
   * Length of the time range of a run for gauges, ms. When any metric is a
   * counter, ranges are contiguous ([end of the previous success, now − lag),
   * first one `windowMs` long), exactly as the HTTP collector's counts.
   */
  readonly windowMs: number
  readonly lagMs: number
  readonly maxCatchUpMs: number
  /** Series are dropped this long after the last success. */
  readonly staleAfterMs: number
  /** Counter series of a label set not seen for this long are removed. */
  readonly expireAfterMs: number
  readonly labels: readonly LabelMapping[]
  /** Labels added to every series of this collector. */
  readonly staticLabels: Readonly<Record<string, string>>
  readonly metrics: readonly MetricMapping[]
  /** At most this many series per metric; beyond it rows are dropped deterministically and counted. Default 50,000. */
  readonly maxSeries: number
  /**
   * Route templating for labels with the `route` transform (one router per
   * collector, so the cap on distinct routes is per collector). Default: no
   * patterns, `maxRoutes` 1000.
   */
  readonly routes?: RouterOptions
}

/** Collector names: lower-case letters, digits and `_`, starting with a letter. */
export const COLLECTOR_NAME_PATTERN = /^[a-z][a-z0-9_]*$/

/** Prometheus metric names. */
export const METRIC_NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

/** Prometheus label names (names starting with `__` are reserved, see {@link labelNameProblem}). */
export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Label names a PxL collector may not produce: they mean something to histograms and summaries. */
export const RESERVED_LABELS: readonly string[] = ['le', 'quantile']

/**
 * Label names Prometheus attaches to every scraped series. The exporter must
 * be scraped with `honor_labels: true`, so an exported `instance` or `job`
 * would replace the target's own: the templates' per-replica freshness gate
 * (`and on (instance)`) and every per-target query would then be wrong.
 */
export const TARGET_LABELS: readonly string[] = ['instance', 'job']

/** Metric name prefixes reserved for the exporter's own and the process metrics. */
export const RESERVED_METRIC_PREFIXES: readonly string[] = ['pixie_exporter_', 'process_', 'nodejs_']

/** Why a label name cannot be used, or undefined when it can. */
export function labelNameProblem(label: string): string | undefined {
  if (!LABEL_NAME_PATTERN.test(label)) return `${JSON.stringify(label)} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)`
  if (label.startsWith('__')) return `${JSON.stringify(label)} is reserved (names starting with "__" belong to Prometheus)`
  if (RESERVED_LABELS.includes(label)) return `${JSON.stringify(label)} is reserved (histograms and summaries use it)`
  if (TARGET_LABELS.includes(label)) return `${JSON.stringify(label)} is reserved (Prometheus' target label; with honor_labels it would replace the exporter's own)`
  return undefined
}

/** Why a metric name cannot be used for a metric of `type`, or undefined when it can (clashes are checked elsewhere). */
export function metricNameProblem(name: string, type: MetricMapping['type']): string | undefined {
  if (!METRIC_NAME_PATTERN.test(name)) return `${JSON.stringify(name)} is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`
  const prefix = RESERVED_METRIC_PREFIXES.find((p) => name.startsWith(p))
  if (prefix !== undefined) return `${JSON.stringify(name)} uses the reserved prefix ${prefix}`
  if (type === 'counter' && !name.endsWith('_total')) return `${JSON.stringify(name)} is a counter and must end in _total`
  if (type === 'gauge' && name.endsWith('_total')) return `${JSON.stringify(name)} is a gauge and must not end in _total (reserved for counters)`
  return undefined
}

/**
 * What the configuration resolves for an enabled library collector
 * (`collectors.library` and `collectors.libraryOptions.<name>`); a
 * {@link LibraryCollectorFactory} turns it into a full spec with its own
 * script, table, labels and metrics.
 */
export interface LibraryCollectorOptions {
  readonly name: string
  readonly schedule: CollectorSchedule
  readonly timeoutMs: number
  readonly windowMs: number
  readonly lagMs: number
  readonly maxCatchUpMs: number
  readonly staleAfterMs: number
  readonly expireAfterMs: number
  readonly staticLabels: Readonly<Record<string, string>>
  readonly maxSeries: number
  readonly routes: RouterOptions
}

/** Builds a library collector's spec from its resolved options. */
export type LibraryCollectorFactory = (options: LibraryCollectorOptions) => PxlCollectorSpec
