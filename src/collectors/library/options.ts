/**
 * What every built-in library collector shares: its options, their defaults,
 * the header of its PxL script and the namespace filter. Each collector of the
 * library (one file each, listed in ./index.ts) turns {@link LibraryOptions}
 * into a {@link PxlCollectorSpec} that the generic PxL engine runs.
 *
 * Every library script defines one PxL function named after the collector,
 * taking its parameters (`include_namespaces` / `exclude_namespaces` regexes,
 * and `error_status_min` for the HTTP ones); the request calls it through
 * Pixie's `exec_funcs` with `output_table_prefix` = the collector's table, so
 * the returned DataFrame arrives under that name. The function reads its time
 * range from `px.plugin.start_time` / `px.plugin.end_time` (the exporter
 * sends the range as the request's plugin config). The only value written
 * into the PxL text is the row limit, an integer we validated, so no option
 * can change what the script does beyond its documented parameters.
 */
import type { CollectorSchedule } from '../../scheduler/schedule.js'
import { NAMESPACE_PATTERN, indent, namespaceArgs, namespaceFilterLines } from '../../pixie/scripts/http-pod-stats.js'
import type { FuncToExecute } from '../../pixie/types.js'
import { defaultStaleAfterMs } from '../../scheduler/schedule.js'
import { parseDuration } from '../../duration.js'
import { HTTP_DEFAULTS } from '../http-options.js'
import { PXL_DEFAULTS } from '../options-schema.js'

/** Options of a library collector. Durations are milliseconds. */
export interface LibraryOptions {
  readonly schedule: CollectorSchedule
  /** Deadline of one run. */
  readonly timeoutMs: number
  /** Length of the first counting range (later ones are contiguous). Default 30 s. */
  readonly windowMs?: number
  /** Ranges end this long before now, so Pixie's data has settled. Default 5 s. */
  readonly lagMs?: number
  /** After failed runs, the next success counts at most this far back. Default 5 min. */
  readonly maxCatchUpMs?: number
  /** Series are dropped this long after the last success. Default: three nominal intervals of the schedule. */
  readonly staleAfterMs?: number
  /** Counter series not seen for this long are removed. Default 5 min. */
  readonly expireAfterMs?: number
  /** At most this many series per metric. Default 50,000. */
  readonly maxSeries?: number
  /** `#px:set max_output_rows_per_table`. Default 100,000. */
  readonly maxRows?: number
  /** Only these namespaces (empty: all) and never those. DNS-1123 labels. */
  readonly namespaces?: { readonly include?: readonly string[]; readonly exclude?: readonly string[] }
  /** Labels added to every series. */
  readonly staticLabels?: Readonly<Record<string, string>>
  /** HTTP collectors only: a response with a status >= this is an error. Default 500. */
  readonly errorStatusMin?: number
  /**
   * Collectors with a `route` label only (`http_endpoint`): route templating,
   * applied by the exporter (src/collectors/routes.ts): `patterns` such as
   * `/orders/*` tried first, `maxRoutes` distinct routes per collector at most.
   */
  readonly routes?: { readonly patterns?: readonly string[]; readonly maxRoutes?: number }
}

/** Defaults of the optional {@link LibraryOptions}. */
export const LIBRARY_DEFAULTS = {
  windowMs: parseDuration(PXL_DEFAULTS.window),
  lagMs: parseDuration(PXL_DEFAULTS.lag),
  maxCatchUpMs: parseDuration(PXL_DEFAULTS.maxCatchUp),
  expireAfterMs: parseDuration(PXL_DEFAULTS.expireAfter),
  maxSeries: PXL_DEFAULTS.maxSeries,
  maxRows: HTTP_DEFAULTS.maxRows,
  errorStatusMin: HTTP_DEFAULTS.errorStatusMin,
} as const

/** Options after defaults and validation. */
export interface ResolvedLibraryOptions {
  readonly include: readonly string[]
  readonly exclude: readonly string[]
  readonly maxRows: number
  readonly errorStatusMin: number
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${what} must be a positive integer`)
  return value
}

/**
 * Validates the options that reach the PxL text.
 *
 * @throws TypeError on a namespace that is not a DNS-1123 label, a non-positive
 *   `maxRows` or an `errorStatusMin` outside 100..599.
 */
export function resolveLibraryOptions(options: LibraryOptions): ResolvedLibraryOptions {
  const include = [...(options.namespaces?.include ?? [])]
  const exclude = [...(options.namespaces?.exclude ?? [])]
  for (const ns of [...include, ...exclude]) {
    if (!NAMESPACE_PATTERN.test(ns)) throw new TypeError(`not a Kubernetes namespace name: ${JSON.stringify(ns)}`)
  }
  const errorStatusMin = options.errorStatusMin ?? LIBRARY_DEFAULTS.errorStatusMin
  if (!Number.isInteger(errorStatusMin) || errorStatusMin < 100 || errorStatusMin > 599) {
    throw new TypeError('errorStatusMin must be an integer from 100 to 599')
  }
  return { include, exclude, maxRows: positiveInteger(options.maxRows ?? LIBRARY_DEFAULTS.maxRows, 'maxRows'), errorStatusMin }
}

/** What a library script's function takes besides the namespace regexes. */
export interface LibraryFunctionShape {
  /** HTTP collectors: the function takes `error_status_min: int`. */
  readonly errorStatus?: boolean
}

/**
 * The PxL of library collector `name`: the row limit, then one function
 * `name(include_namespaces: str, exclude_namespaces: str[, error_status_min: int])`
 * whose body is `body` followed by `return <result>`.
 */
export function libraryScript(name: string, resolved: ResolvedLibraryOptions, body: readonly string[], result: string, shape: LibraryFunctionShape = {}): string {
  const params = ['include_namespaces: str', 'exclude_namespaces: str', ...(shape.errorStatus === true ? ['error_status_min: int'] : [])]
  return [`#px:set max_output_rows_per_table=${resolved.maxRows}`, 'import px', '', `def ${name}(${params.join(', ')}):`, ...indent([...body, `return ${result}`]), ''].join('\n')
}

/** The `exec_funcs` of library collector `name`: its function, called with the resolved options, returning table `table`. */
export function libraryExecFuncs(name: string, table: string, resolved: ResolvedLibraryOptions, shape: LibraryFunctionShape = {}): FuncToExecute[] {
  return [
    {
      funcName: name,
      argValues: [
        ...namespaceArgs(resolved.include, resolved.exclude),
        ...(shape.errorStatus === true ? [{ name: 'error_status_min', value: String(resolved.errorStatusMin) }] : []),
      ],
      outputTablePrefix: table,
    },
  ]
}

/** `v = px.DataFrame(table=..., start_time=px.plugin.start_time, end_time=px.plugin.end_time)`. */
export function sourceLine(v: string, table: string): string {
  return `${v} = px.DataFrame(table='${table}', start_time=px.plugin.start_time, end_time=px.plugin.end_time)`
}

/** Lines keeping only the rows of `v` whose `namespace` column passes the function's namespace regexes. */
export function namespaceFilter(v: string): string[] {
  return namespaceFilterLines(v)
}

/** `v = v[['a', 'b']]`: keeps the columns in this order. */
export function projectLine(v: string, columns: readonly { readonly name: string }[]): string {
  return `${v} = ${v}[[${columns.map((c) => `'${c.name}'`).join(', ')}]]`
}

/** The spec fields that come from the options alone (timing, caps, static labels). */
export function commonSpecFields(options: LibraryOptions): {
  schedule: CollectorSchedule
  timeoutMs: number
  windowMs: number
  lagMs: number
  maxCatchUpMs: number
  staleAfterMs: number
  expireAfterMs: number
  maxSeries: number
  staticLabels: Readonly<Record<string, string>>
} {
  return {
    schedule: options.schedule,
    timeoutMs: options.timeoutMs,
    windowMs: options.windowMs ?? LIBRARY_DEFAULTS.windowMs,
    lagMs: options.lagMs ?? LIBRARY_DEFAULTS.lagMs,
    maxCatchUpMs: options.maxCatchUpMs ?? LIBRARY_DEFAULTS.maxCatchUpMs,
    staleAfterMs: options.staleAfterMs ?? defaultStaleAfterMs(options.schedule),
    expireAfterMs: options.expireAfterMs ?? LIBRARY_DEFAULTS.expireAfterMs,
    maxSeries: positiveInteger(options.maxSeries ?? LIBRARY_DEFAULTS.maxSeries, 'maxSeries'),
    staticLabels: { ...(options.staticLabels ?? {}) },
  }
}

/** A column of a library table: its `px.display` name and Pixie data type. */
export interface LibraryColumn {
  readonly name: string
  readonly type: 'STRING' | 'INT64' | 'FLOAT64'
}
