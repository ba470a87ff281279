/**
 * Resolves `collectors.custom`, `collectors.library` and
 * `collectors.libraryOptions` into typed collector configurations. Every
 * problem is reported as a `<field>: <reason>` line, with fields written the
 * way the user wrote them (`collectors.custom[0].metrics[1].name`).
 *
 * The schema (schema.ts) has already checked types, enums and unknown keys;
 * this module checks what needs several keys or the other collectors:
 * required keys, `pxl` vs `pxlFile`, `interval` vs `schedule`, names and
 * their clashes, label and metric rules.
 */
import {
  labelNameProblem,
  metricNameProblem,
  type LabelMapping,
  type MetricMapping,
  type PxlCollectorSpec,
} from '../collectors/pxl-spec.js'
import { LIBRARY } from '../collectors/library/index.js'
import { patternProblem, type RouterOptions } from '../collectors/routes.js'
import * as metricNames from '../metrics/names.js'
import { defaultStaleAfterMs, longestGapMs } from '../scheduler/schedule.js'
import { formatDuration } from '../duration.js'
import { LIBRARY_COLLECTORS, PXL_DEFAULTS, ROUTE_LIBRARY_COLLECTORS } from './schema.js'
import type { CollectorSchedule } from '../scheduler/schedule.js'
import type { CustomCollectorConfig, LibraryCollectorConfig } from './types.js'

/** A raw value and the field it came from. */
export interface FieldSource {
  readonly label: string
  readonly value: string
}

/**
 * The value parsers of load.ts, injected so both files report the same
 * messages. Each pushes its own error lines and returns undefined on failure.
 */
export interface FieldParsers {
  /** A duration in ms; its grammar and range are rules of the schema (COLLECTOR_DURATION_RANGES). */
  duration(source: FieldSource | undefined): number | undefined
  /**
   * `interval` or `schedule` (not both); `defaultInterval` when neither is set.
   * `scheduleKey` is named in the message of an interval no cron expression can express.
   */
  schedule(interval: FieldSource | undefined, schedule: FieldSource | undefined, defaultInterval: FieldSource, scheduleKey: string): CollectorSchedule | undefined
  /** The text of a file, or undefined after reporting `<label>: cannot read <path>: <why>`. */
  readFile(source: FieldSource): string | undefined
}

/** What {@link buildPxlCollectors} reads from the validated file. */
export interface PxlCollectorsInput {
  /** `collectors.custom` after the schema (undefined when it was rejected). */
  readonly custom: unknown
  /** `collectors.library` after the schema. */
  readonly library: unknown
  /** `collectors.libraryOptions` after the schema. */
  readonly libraryOptions: unknown
  /** Whether the schema rejected the value at a path (already reported). */
  rejected(path: string): boolean
  /** pixie.timeout, the default timeout of every collector. */
  readonly pixieTimeoutMs: number | undefined
}

const BUILT_IN_COLLECTORS = ['http']

/**
 * Metric names the exporter itself exports (src/metrics/names.ts), with the
 * `_bucket`, `_sum` and `_count` series of histograms and summaries.
 */
export function builtInMetricNames(): ReadonlySet<string> {
  const names = new Set<string>()
  for (const value of Object.values(metricNames)) {
    if (typeof value !== 'string') continue
    for (const suffix of ['', '_bucket', '_sum', '_count']) names.add(`${value}${suffix}`)
  }
  return names
}

type Item = Record<string, unknown>

const isItem = (value: unknown): value is Item => typeof value === 'object' && value !== null && !Array.isArray(value)
const textAt = (item: Item, key: string): string | undefined => (typeof item[key] === 'string' ? item[key] : undefined)

/** Resolves the custom and library collectors; pushes one line per problem onto `errors`. */
export function buildPxlCollectors(
  input: PxlCollectorsInput,
  parse: FieldParsers,
  errors: string[],
): { custom: CustomCollectorConfig[]; library: LibraryCollectorConfig[] } {
  const library = buildLibrary(input, parse, errors)
  const custom: CustomCollectorConfig[] = []
  const names = new Map<string, string>()
  const metrics = new Map<string, string>()
  const builtIns = builtInMetricNames()
  // The library's metric names come from its specs, so a custom metric cannot take one.
  for (const options of library) {
    const factory = (LIBRARY as Readonly<Record<string, (o: LibraryCollectorConfig) => PxlCollectorSpec>>)[options.name]
    try {
      for (const metric of factory?.(options).metrics ?? []) metrics.set(metric.name, `library collector ${options.name}`)
    } catch (err) {
      if (!(err instanceof TypeError)) throw err
      errors.push(`collectors.libraryOptions.${options.name}: ${err.message}`)
    }
  }
  const items = Array.isArray(input.custom) ? input.custom : []
  items.forEach((item: unknown, index) => {
    const at = `collectors.custom[${index}]`
    // A rejected item (not a mapping, or holding an unknown key) is reported already.
    if (input.rejected(at) || !isItem(item)) return
    const built = buildCustom(at, item, input, parse, errors)
    const name = textAt(item, 'name')
    if (name !== undefined && !input.rejected(`${at}.name`)) {
      if (BUILT_IN_COLLECTORS.includes(name)) errors.push(`${at}.name: "${name}" is the name of a built-in collector`)
      else if (LIBRARY_COLLECTORS.includes(name)) errors.push(`${at}.name: "${name}" is the name of a library collector`)
      else if (names.has(name)) errors.push(`${at}.name: "${name}" is already used by ${names.get(name) ?? ''}`)
      else names.set(name, at)
    }
    // Metric names must be unique across all collectors and clear of the built-ins.
    const list = Array.isArray(item.metrics) ? item.metrics : []
    list.forEach((metric: unknown, m) => {
      const field = `${at}.metrics[${m}].name`
      const metricName = isItem(metric) ? textAt(metric, 'name') : undefined
      if (metricName === undefined || input.rejected(field)) return
      if (builtIns.has(metricName)) errors.push(`${field}: "${metricName}" is a built-in metric of the exporter`)
      else if (metrics.has(metricName)) errors.push(`${field}: "${metricName}" is already used by ${metrics.get(metricName) ?? ''}`)
      else metrics.set(metricName, `${at}.metrics[${m}]`)
    })
    if (built !== undefined) custom.push(built)
  })
  return { custom, library }
}

/** The settings shared by custom and library collectors. */
interface CommonSettings {
  readonly schedule: CollectorSchedule
  readonly timeoutMs: number
  readonly windowMs: number
  readonly lagMs: number
  readonly maxCatchUpMs: number
  readonly staleAfterMs: number
  readonly expireAfterMs: number
  readonly staticLabels: Readonly<Record<string, string>>
  readonly maxSeries: number
  readonly routes: RouterOptions | undefined
}

function buildCommon(at: string, item: Item, input: PxlCollectorsInput, parse: FieldParsers, errors: string[]): CommonSettings | undefined {
  const given = (key: string): FieldSource | undefined => {
    const value = textAt(item, key)
    return value === undefined || input.rejected(`${at}.${key}`) ? undefined : { label: `${at}.${key}`, value }
  }
  // A default is parsed like a value (so it cannot drift from the rules), unless the value was rejected.
  const source = (key: keyof typeof PXL_DEFAULTS): FieldSource | undefined => {
    if (input.rejected(`${at}.${key}`)) return undefined
    return given(key) ?? { label: `${at}.${key}`, value: String(PXL_DEFAULTS[key]) }
  }
  const before = errors.length
  const schedule =
    input.rejected(`${at}.interval`) || input.rejected(`${at}.schedule`)
      ? undefined
      : parse.schedule(given('interval'), given('schedule'), { label: `${at}.interval`, value: PXL_DEFAULTS.interval }, `${at}.schedule`)
  const timeoutMs = parse.duration(given('timeout')) ?? input.pixieTimeoutMs
  const windowMs = parse.duration(source('window'))
  const lagMs = parse.duration(source('lag'))
  const maxCatchUpMs = parse.duration(source('maxCatchUp'))
  const staleAfter = parse.duration(given('staleAfter'))
  const expireAfterMs = parse.duration(source('expireAfter'))
  if (schedule !== undefined) {
    const least = atLeastTheGap(schedule)
    if (staleAfter !== undefined && staleAfter < least.ms) errors.push(`${at}.staleAfter: ${least.reason}`)
    if (expireAfterMs !== undefined && expireAfterMs < least.ms) errors.push(`${at}.expireAfter: ${least.reason}`)
  }

  const staticLabels: Record<string, string> = {}
  if (isItem(item.staticLabels) && !input.rejected(`${at}.staticLabels`)) {
    for (const [label, value] of Object.entries(item.staticLabels)) {
      if (typeof value !== 'string') continue
      const problem = labelNameProblem(label)
      if (problem !== undefined) errors.push(`${at}.staticLabels: ${problem}`)
      else staticLabels[label] = value
    }
  }

  let routes: RouterOptions | undefined
  if (isItem(item.routes) && !input.rejected(`${at}.routes`)) {
    const patterns = Array.isArray(item.routes.patterns) ? item.routes.patterns.filter((p): p is string => typeof p === 'string') : []
    patterns.forEach((pattern, i) => {
      const problem = patternProblem(pattern)
      if (problem !== undefined) errors.push(`${at}.routes.patterns[${i}]: ${problem}`)
    })
    const maxRoutes = typeof item.routes.maxRoutes === 'number' ? item.routes.maxRoutes : PXL_DEFAULTS.maxRoutes
    routes = { patterns, maxRoutes }
  }

  const maxSeries = typeof item.maxSeries === 'number' ? item.maxSeries : PXL_DEFAULTS.maxSeries
  if (
    errors.length > before ||
    schedule === undefined ||
    timeoutMs === undefined ||
    windowMs === undefined ||
    lagMs === undefined ||
    maxCatchUpMs === undefined ||
    expireAfterMs === undefined
  ) {
    return undefined
  }
  return {
    schedule,
    timeoutMs,
    windowMs,
    lagMs,
    maxCatchUpMs,
    staleAfterMs: staleAfter ?? defaultStaleAfterMs(schedule),
    expireAfterMs,
    staticLabels,
    maxSeries,
    routes,
  }
}

function buildCustom(at: string, item: Item, input: PxlCollectorsInput, parse: FieldParsers, errors: string[]): CustomCollectorConfig | undefined {
  const before = errors.length
  const name = textAt(item, 'name')
  if (name === undefined && !input.rejected(`${at}.name`)) errors.push(`${at}.name: required`)
  const table = textAt(item, 'table')
  if (table === undefined && !input.rejected(`${at}.table`)) errors.push(`${at}.table: required`)
  const script = readScript(at, item, input, parse, errors)
  const common = buildCommon(at, item, input, parse, errors)
  const labels = buildLabels(at, item, common?.staticLabels ?? {}, errors)
  const metrics = buildMetrics(at, item, input, errors)
  if (metrics !== undefined) {
    const routed = labels?.findIndex((l) => l.transform === 'route') ?? -1
    const gauge = metrics.findIndex((m) => m.type === 'gauge')
    if (routed >= 0 && gauge >= 0) {
      errors.push(`${at}.metrics[${gauge}].type: a gauge cannot be used with the route transform (labels[${routed}]); routes merge rows, so use a counter`)
    }
    if (isItem(item.routes) && routed < 0) errors.push(`${at}.routes: only used by a label with transform route`)
  }
  if (errors.length > before || name === undefined || table === undefined || script === undefined) return undefined
  if (common === undefined || labels === undefined || metrics === undefined) return undefined
  const { routes, ...settings } = common
  return {
    name,
    script: script.text,
    pxlFile: script.file,
    table,
    ...settings,
    labels,
    metrics,
    ...(routes !== undefined && { routes }),
  }
}

function readScript(
  at: string,
  item: Item,
  input: PxlCollectorsInput,
  parse: FieldParsers,
  errors: string[],
): { text: string; file: string | undefined } | undefined {
  const inline = textAt(item, 'pxl')
  const file = textAt(item, 'pxlFile')
  if (inline !== undefined && file !== undefined) {
    errors.push(`${at}.pxl: conflicts with ${at}.pxlFile (set only one)`)
    return undefined
  }
  if (inline !== undefined) return { text: inline, file: undefined }
  if (file === undefined) {
    if (!input.rejected(`${at}.pxl`) && !input.rejected(`${at}.pxlFile`)) errors.push(`${at}.pxl: required (set pxl or pxlFile)`)
    return undefined
  }
  const text = parse.readFile({ label: `${at}.pxlFile`, value: file })
  if (text === undefined) return undefined
  if (text.trim() === '') {
    errors.push(`${at}.pxlFile: ${file} is empty`)
    return undefined
  }
  return { text, file }
}

function buildLabels(at: string, item: Item, staticLabels: Readonly<Record<string, string>>, errors: string[]): LabelMapping[] | undefined {
  const before = errors.length
  const list = Array.isArray(item.labels) ? item.labels : []
  const seen = new Map<string, number>()
  const labels: LabelMapping[] = []
  list.forEach((entry: unknown, i) => {
    if (!isItem(entry)) return
    const field = `${at}.labels[${i}]`
    const column = textAt(entry, 'column')
    if (column === undefined) {
      errors.push(`${field}.column: required`)
      return
    }
    const explicit = textAt(entry, 'label')
    const label = explicit ?? column
    const problem = labelNameProblem(label)
    if (problem !== undefined) {
      errors.push(explicit === undefined ? `${field}.column: ${problem}; set label to name it` : `${field}.label: ${problem}`)
      return
    }
    const labelField = explicit === undefined ? `${field}.column` : `${field}.label`
    const previous = seen.get(label)
    if (previous !== undefined) errors.push(`${labelField}: "${label}" is already mapped by labels[${previous}]`)
    else if (Object.hasOwn(staticLabels, label)) errors.push(`${labelField}: "${label}" is also a static label`)
    seen.set(label, i)
    const transform = entry.transform as LabelMapping['transform']
    labels.push({ column, label, ...(transform !== undefined && { transform }) })
  })
  return errors.length > before ? undefined : labels
}

function buildMetrics(at: string, item: Item, input: PxlCollectorsInput, errors: string[]): MetricMapping[] | undefined {
  if (input.rejected(`${at}.metrics`)) return undefined
  if (!Array.isArray(item.metrics)) {
    errors.push(`${at}.metrics: required (at least one metric)`)
    return undefined
  }
  const before = errors.length
  const metrics: MetricMapping[] = []
  item.metrics.forEach((entry: unknown, i) => {
    if (!isItem(entry)) return
    const field = `${at}.metrics[${i}]`
    const missing = ['column', 'name', 'help', 'type'].filter((key) => entry[key] === undefined && !input.rejected(`${field}.${key}`))
    for (const key of missing) errors.push(`${field}.${key}: required`)
    const column = textAt(entry, 'column')
    const name = textAt(entry, 'name')
    const help = textAt(entry, 'help')
    const type = entry.type as MetricMapping['type'] | undefined
    if (column === undefined || name === undefined || help === undefined || type === undefined) return
    const problem = metricNameProblem(name, type)
    if (problem !== undefined) {
      errors.push(`${field}.name: ${problem}`)
      return
    }
    metrics.push({ column, name, help, type, scale: typeof entry.scale === 'number' ? entry.scale : 1 })
  })
  return errors.length > before ? undefined : metrics
}

function buildLibrary(input: PxlCollectorsInput, parse: FieldParsers, errors: string[]): LibraryCollectorConfig[] {
  const enabled: string[] = []
  const list = Array.isArray(input.library) ? input.library : []
  list.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || input.rejected(`collectors.library[${i}]`)) return
    if (enabled.includes(name)) errors.push(`collectors.library[${i}]: "${name}" is listed twice`)
    else enabled.push(name)
  })
  const options = isItem(input.libraryOptions) && !input.rejected('collectors.libraryOptions') ? input.libraryOptions : {}
  for (const name of Object.keys(options)) {
    const at = `collectors.libraryOptions.${name}`
    if (!LIBRARY_COLLECTORS.includes(name)) {
      errors.push(`${at}: unknown library collector (known: ${LIBRARY_COLLECTORS.join(', ')})`)
    } else if (!enabled.includes(name)) {
      errors.push(`${at}: ${name} is not enabled (add it to collectors.library)`)
    }
  }
  const result: LibraryCollectorConfig[] = []
  for (const name of enabled) {
    const at = `collectors.libraryOptions.${name}`
    const raw = options[name]
    if (input.rejected(at)) continue
    const item: Item = isItem(raw) ? raw : {}
    if (isItem(item.routes) && !ROUTE_LIBRARY_COLLECTORS.includes(name)) {
      errors.push(`${at}.routes: ${name} has no route label (routes apply to ${ROUTE_LIBRARY_COLLECTORS.join(', ')})`)
      continue
    }
    const common = buildCommon(at, item, input, parse, errors)
    if (common === undefined) continue
    const { routes, ...settings } = common
    result.push({ name, ...settings, routes: routes ?? { patterns: [], maxRoutes: PXL_DEFAULTS.maxRoutes } })
  }
  return result
}

/**
 * The shortest staleAfter and expireAfter a schedule allows, with the reason
 * to give: the interval, or for a cron expression the longest gap between two
 * of its runs (data that old is normal just before the next run; shorter
 * would leave a collector up but never serving, or forgetting its counters).
 */
export function atLeastTheGap(schedule: CollectorSchedule): { readonly ms: number; readonly reason: string } {
  const ms = longestGapMs(schedule)
  return schedule.kind === 'interval'
    ? { ms, reason: `must be at least the interval (${formatDuration(ms)})` }
    : { ms, reason: `must be at least the longest gap between runs of the schedule (${formatDuration(ms)})` }
}
