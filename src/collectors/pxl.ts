/**
 * The generic PxL collector engine: runs one script per run over an exact
 * time range (sent as Pixie's plugin time, read in PxL as
 * `px.plugin.start_time` / `px.plugin.end_time`), reads one table, and turns
 * its rows into labelled gauges and counters as a {@link PxlCollectorSpec}
 * describes. Custom collectors (YAML) and the built-in library both run here.
 *
 * Decisions (documented in docs/custom-collectors.md):
 * - Gauges: each run replaces the whole set at once. Two rows with the same
 *   label set fail the run (a gauge cannot hold two values); NaN and ±Inf are
 *   not exported (the sample is left out for that run).
 * - Counters: rows count what happened in the run's range; ranges are
 *   contiguous, values are added up per label set. Rows with the same label
 *   set are summed. A negative or non-finite count fails the run.
 * - Cardinality: at most `maxSeries` label sets, chosen by sorting the label
 *   values; the rest are dropped, counted, and logged once per run.
 */
import type { Counter, Registry } from 'prom-client'
import type { Logger } from 'pino'
import { formatDuration } from '../duration.js'
import { CollectorResultError } from '../errors.js'
import { SnapshotMetric, type Labels, type Sample } from '../metrics/snapshot-metric.js'
import { tableOf } from '../pixie/table.js'
import type { ColumnValues, PixieApi, PixieTable } from '../pixie/types.js'
import type { Collector, RunContext, RunSummary } from './collector.js'
import { CountRangePlanner, type RangePlan } from './count-range.js'
import { podLabel, serviceLabel } from './pixie-labels.js'
import {
  COLLECTOR_NAME_PATTERN,
  labelNameProblem,
  metricNameProblem,
  type LabelMapping,
  type MetricMapping,
  type PxlCollectorSpec,
} from './pxl-spec.js'
import { DEFAULT_MAX_ROUTES, makeRouter, type Router } from './routes.js'
import { checkRowCap, scriptRowCap } from './row-cap.js'
import { nextTurn } from '../turns.js'

/** Rows decoded between two turns of the event loop (a few ms of work, when a collector runs on the serving thread). */
export const DECODE_SLICE_ROWS = 1024

/** Dependencies of a {@link PxlCollector}. */
export interface PxlCollectorDeps {
  readonly spec: PxlCollectorSpec
  readonly pixie: PixieApi
  readonly registry: Registry
  readonly logger: Logger
  /** Wall clock, ms since the epoch: Pixie's time ranges and published timestamps only. */
  readonly now: () => number
  /**
   * Monotonic clock, ms: staleness, expiry and the length of count ranges.
   * Default: `now` (tests that drive a single fake clock); the exporter
   * passes `performance.now`.
   */
  readonly monotonic?: () => number
  /** `pixie_exporter_series_dropped_total` (from createSelfMetrics). */
  readonly seriesDropped: Counter<'collector'>
}

/** The series of one label set in one run, before publication. */
interface RowGroup {
  /** Sort and identity key: the label values, JSON-encoded. */
  readonly key: string
  readonly labels: Labels
  /** One value per metric of the spec, in order; undefined: no sample (non-finite gauge). */
  readonly values: (number | undefined)[]
}

/** A counter label set's running totals. */
interface CounterTotals {
  readonly labels: Labels
  /** Per metric of the spec; only the counters' entries are used. */
  readonly totals: number[]
  lastSeenMs: number
}

/**
 * Checks a spec for mistakes the configuration already rejects for custom
 * collectors, so that a library spec with the same mistake fails at start.
 *
 * @throws TypeError naming the first problem.
 */
export function checkPxlSpec(spec: PxlCollectorSpec): void {
  const fail = (reason: string): never => {
    throw new TypeError(`PxL collector ${JSON.stringify(spec.name)}: ${reason}`)
  }
  if (!COLLECTOR_NAME_PATTERN.test(spec.name)) fail('name must match [a-z][a-z0-9_]*')
  if (spec.metrics.length === 0) fail('has no metrics')
  if (!Number.isSafeInteger(spec.maxSeries) || spec.maxSeries < 1) fail('maxSeries must be a positive integer')
  const metricNames = new Set<string>()
  for (const m of spec.metrics) {
    const problem = metricNameProblem(m.name, m.type)
    if (problem !== undefined) fail(problem)
    if (metricNames.has(m.name)) fail(`metric ${m.name} is defined twice`)
    metricNames.add(m.name)
    if (m.scale !== undefined && !(Number.isFinite(m.scale) && m.scale > 0)) fail(`metric ${m.name}: scale must be a finite number > 0`)
  }
  const labelNames = new Set<string>()
  for (const label of [...spec.labels.map((l) => l.label), ...Object.keys(spec.staticLabels)]) {
    const problem = labelNameProblem(label)
    if (problem !== undefined) fail(problem)
    if (labelNames.has(label)) fail(`label ${label} is defined twice`)
    labelNames.add(label)
  }
  // Routes merge many paths into one label set; only counts can be merged.
  if (spec.labels.some((l) => l.transform === 'route') && spec.metrics.some((m) => m.type === 'gauge')) {
    fail('the route transform needs every metric to be a counter (a gauge of merged paths has no single value)')
  }
}

/** The column `name` of any type, or CollectorResultError (same wording as columnOf). */
function anyColumn(table: PixieTable, name: string): ColumnValues {
  const index = table.columns.findIndex((c) => c.name === name)
  const column = table.data[index]
  if (index < 0 || column === undefined) throw new CollectorResultError(`table "${table.name}" has no column "${name}"`)
  return column
}

/** Reads a label column as text (any column type). */
function labelReader(table: PixieTable, mapping: LabelMapping, router: Router | undefined): (row: number) => string {
  const column = anyColumn(table, mapping.column)
  const text = (row: number): string => {
    const v = column.values[row]
    return v === undefined ? '' : String(v)
  }
  switch (mapping.transform) {
    case 'strip-namespace':
      return (row) => podLabel(text(row))
    case 'service-list':
      return (row) => serviceLabel(text(row))
    case 'route': {
      if (router === undefined) throw new TypeError(`label ${mapping.label}: the route transform needs a router`)
      return (row) => router(text(row))
    }
    default:
      return text
  }
}

/**
 * Multiplies by `scale`, dividing instead when scale is the inverse of an
 * integer: 15250000000 × 1e-9 is 15.250000000000002, 15250000000 / 1e9 is 15.25.
 */
export function scaler(scale: number): (value: number) => number {
  const inverse = Math.round(1 / scale)
  if (scale < 1 && Math.abs(1 / scale - inverse) <= 1e-9 * inverse) return (value) => value / inverse
  return (value) => value * scale
}

/** Reads a metric column as numbers (INT64, FLOAT64, TIME64NS, BOOLEAN), scaled. */
function valueReader(table: PixieTable, mapping: MetricMapping): (row: number) => number {
  const column = anyColumn(table, mapping.column)
  const scale = scaler(mapping.scale ?? 1)
  switch (column.type) {
    case 'INT64':
    case 'TIME64NS':
      return (row) => scale(Number(column.values[row] ?? 0n))
    case 'FLOAT64':
      return (row) => scale(column.values[row] ?? Number.NaN)
    case 'BOOLEAN':
      return (row) => scale(column.values[row] === true ? 1 : 0)
    default:
      throw new CollectorResultError(
        `column "${mapping.column}" of table "${table.name}" is ${column.type}, expected a number (INT64, FLOAT64, TIME64NS or BOOLEAN)`,
      )
  }
}

/** A PxL collector's metric families, in the order of its spec: what it registers, wherever its runs happen. */
export function pxlFamilies(spec: PxlCollectorSpec): { readonly name: string; readonly help: string; readonly type: 'gauge' | 'counter' }[] {
  const range = spec.metrics.some((m) => m.type === 'counter') ? 'contiguous time ranges, added up' : `the last ${formatDuration(spec.windowMs)}`
  return spec.metrics.map((metric) => ({
    name: metric.name,
    help: `${metric.help} (PxL collector ${spec.name}, polled in the background over ${range}; absent once stale.)`,
    type: metric.type,
  }))
}

function labelSetText(labels: Labels): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n
}

/**
 * A collector driven by a {@link PxlCollectorSpec}; see the module comment
 * for how rows become series.
 */
export class PxlCollector implements Collector {
  readonly name: string
  readonly schedule: PxlCollectorSpec['schedule']
  readonly timeoutMs: number
  readonly staleAfterMs: number
  readonly #deps: PxlCollectorDeps
  readonly #spec: PxlCollectorSpec
  readonly #counting: boolean
  readonly #planner: CountRangePlanner
  readonly #router: Router | undefined
  #lastSuccessAt: number | undefined
  #lastSuccessMonotonic: number | undefined
  readonly #monotonic: () => number
  /** Rows per table the script asks Pixie for at most; more fails the run. */
  readonly #maxRows: number
  #publications = 0
  /** This run's gauge values per label set, replaced in one assignment. */
  #gauges: readonly RowGroup[] = []
  /** Counter totals per label set key. */
  readonly #counters = new Map<string, CounterTotals>()

  /** @throws TypeError when the spec is invalid (see {@link checkPxlSpec}). */
  constructor(deps: PxlCollectorDeps) {
    const { spec } = deps
    checkPxlSpec(spec)
    this.#deps = deps
    this.#monotonic = deps.monotonic ?? deps.now
    this.#maxRows = scriptRowCap(spec.script)
    this.#spec = spec
    this.name = spec.name
    this.schedule = spec.schedule
    this.timeoutMs = spec.timeoutMs
    this.staleAfterMs = spec.staleAfterMs
    this.#counting = spec.metrics.some((m) => m.type === 'counter')
    this.#planner = new CountRangePlanner(spec)
    this.#router = spec.labels.some((l) => l.transform === 'route')
      ? makeRouter(spec.routes ?? { patterns: [], maxRoutes: DEFAULT_MAX_ROUTES })
      : undefined
    this.#register()
  }

  get lastSuccessAt(): number | undefined {
    return this.#lastSuccessAt
  }

  get lastSuccessMonotonic(): number | undefined {
    return this.#lastSuccessMonotonic
  }

  /** Label sets with counter series (including hidden stale ones). */
  get counterSeries(): number {
    return this.#counters.size
  }

  #fresh(): boolean {
    return this.#lastSuccessMonotonic !== undefined && this.#monotonic() - this.#lastSuccessMonotonic <= this.staleAfterMs
  }

  #register(): void {
    const version = () => `${this.#publications}:${this.#fresh()}`
    pxlFamilies(this.#spec).forEach((family, index) => {
      const samples = family.type === 'gauge' ? () => this.#gaugeSamples(index) : () => this.#counterSamples(index)
      new SnapshotMetric({ ...family, samples, version }, this.#deps.registry)
    })
  }

  *#gaugeSamples(index: number): Generator<Sample> {
    if (!this.#fresh()) return
    for (const group of this.#gauges) {
      const value = group.values[index]
      if (value !== undefined) yield { labels: group.labels, value }
    }
  }

  *#counterSamples(index: number): Generator<Sample> {
    if (!this.#fresh()) return
    for (const counter of this.#counters.values()) yield { labels: counter.labels, value: counter.totals[index] ?? 0 }
  }

  /** The time range of a run: contiguous when counting, else the window. Undefined: nothing new to count. */
  #range(plan: RangePlan): { startMs: number; endMs: number } | undefined {
    if (!this.#counting) return { startMs: plan.windowStartMs, endMs: plan.endMs }
    return plan.countStartMs === undefined ? undefined : { startMs: plan.countStartMs, endMs: plan.endMs }
  }

  async run(context: RunContext): Promise<RunSummary> {
    const { pixie, now, logger, seriesDropped } = this.#deps
    const spec = this.#spec
    const plan = this.#planner.plan(now(), this.#monotonic())
    if (plan.clockStepMs !== 0 && this.#counting) {
      logger.warn(
        { collector: spec.name, clockStepSeconds: plan.clockStepMs / 1000 },
        'the wall clock was stepped since the last counted range; the count range now covers the monotonic time elapsed, ending at the new time',
      )
    }
    const range = this.#range(plan)
    // The clock went back: every earlier range is counted already.
    if (range === undefined) return { rows: 0 }
    const result = await pixie.executeScript({
      script: spec.script,
      queryName: `pixie-exporter/${spec.name}`,
      ...(spec.execFuncs !== undefined && { execFuncs: spec.execFuncs }),
      timeoutMs: context.timeoutMs,
      signal: context.signal,
      pluginTime: { startNs: msToNs(range.startMs), endNs: msToNs(range.endMs) },
      maxRowsPerTable: this.#maxRows,
    })
    checkRowCap(result, this.#maxRows)
    // Decode and check everything before publishing anything.
    const table = tableOf(result, spec.table)
    const { groups, nonFinite } = await this.#decode(table)
    const publishedAt = now()
    const publishedMonotonic = this.#monotonic()
    const { admitted, dropped } = this.#cap(groups, publishedMonotonic)
    // Nothing is published yet: a turn between the cap and the publication below.
    await nextTurn()
    const droppedSeries = dropped.reduce((n, g) => n + g.values.filter((v) => v !== undefined).length, 0)
    if (droppedSeries > 0) {
      seriesDropped.inc({ collector: spec.name }, droppedSeries)
      logger.warn(
        { collector: spec.name, maxSeries: spec.maxSeries, droppedSeries, labelSets: groups.length },
        'collector reached maxSeries; series beyond it were dropped',
      )
    }
    if (nonFinite > 0) logger.debug({ collector: spec.name, samples: nonFinite }, 'NaN or infinite gauge values were not exported')

    // Publish synchronously: scrapes see the previous run or this one, never a mix.
    this.#gauges = admitted
    if (this.#counting) this.#addCounts(admitted, groups, publishedMonotonic)
    this.#planner.commit(plan)
    this.#lastSuccessAt = publishedAt
    this.#lastSuccessMonotonic = publishedMonotonic
    this.#publications++
    return { rows: table.numRows, ...(this.#counting && { skippedSeconds: plan.skippedMs / 1000 }) }
  }

  /** Rows → one group per label set, sorted by label values. Throws CollectorResultError on a bad table. */
  async #decode(table: PixieTable): Promise<{ groups: RowGroup[]; nonFinite: number }> {
    const spec = this.#spec
    const labelReaders = spec.labels.map((l) => labelReader(table, l, this.#router))
    const valueReaders = spec.metrics.map((m) => valueReader(table, m))
    const byKey = new Map<string, RowGroup>()
    let nonFinite = 0
    for (let row = 0; row < table.numRows; row++) {
      // The serving thread may run this (in-process): give the event loop a turn every slice of rows.
      if (row > 0 && row % DECODE_SLICE_ROWS === 0) await nextTurn()
      const labelValues = labelReaders.map((read) => read(row))
      const key = JSON.stringify(labelValues)
      let group = byKey.get(key)
      if (group === undefined) {
        const labels: Record<string, string> = {}
        spec.labels.forEach((l, i) => (labels[l.label] = labelValues[i] ?? ''))
        Object.assign(labels, spec.staticLabels)
        group = { key, labels, values: spec.metrics.map((m) => (m.type === 'counter' ? 0 : undefined)) }
        byKey.set(key, group)
      } else if (spec.metrics.some((m) => m.type === 'gauge')) {
        throw new CollectorResultError(
          `table "${table.name}" has more than one row for the label set ${labelSetText(group.labels)}; a gauge holds one value per label set (aggregate in the script, or map more columns to labels)`,
        )
      }
      spec.metrics.forEach((metric, i) => {
        const value = valueReaders[i]?.(row) ?? Number.NaN
        if (metric.type === 'gauge') {
          if (Number.isFinite(value)) group.values[i] = value
          else nonFinite++
          return
        }
        if (!Number.isFinite(value) || value < 0) {
          throw new CollectorResultError(
            `table "${table.name}" row ${row}: counter column "${metric.column}" must be a finite number >= 0, got ${value}`,
          )
        }
        group.values[i] = (group.values[i] ?? 0) + value
      })
    }
    // The sort is one piece of work (tens of ms at 10,000 label sets): a turn of its own.
    await nextTurn()
    const groups = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    await nextTurn()
    return { groups, nonFinite }
  }

  /**
   * Applies maxSeries to label sets: without counters, the first maxSeries
   * in sort order; with counters, label sets that already have series keep
   * them and new ones take the free places in sort order.
   */
  #cap(groups: readonly RowGroup[], nowMs: number): { admitted: RowGroup[]; dropped: RowGroup[] } {
    const max = this.#spec.maxSeries
    if (!this.#counting) return { admitted: groups.slice(0, max), dropped: groups.slice(max) }
    const inRun = new Set(groups.map((g) => g.key))
    let kept = 0
    for (const [key, counter] of this.#counters) {
      if (inRun.has(key) || !this.#expired(counter, nowMs)) kept++
    }
    let room = max - kept
    const admitted: RowGroup[] = []
    const dropped: RowGroup[] = []
    for (const group of groups) {
      if (this.#counters.has(group.key)) admitted.push(group)
      else if (room > 0) {
        admitted.push(group)
        room--
      } else dropped.push(group)
    }
    return { admitted, dropped }
  }

  #expired(counter: CounterTotals, nowMs: number): boolean {
    return nowMs - counter.lastSeenMs > this.#spec.expireAfterMs
  }

  /** Adds the admitted groups' counts; removes label sets not seen for expireAfter. */
  #addCounts(admitted: readonly RowGroup[], all: readonly RowGroup[], nowMs: number): void {
    const inRun = new Set(all.map((g) => g.key))
    for (const [key, counter] of this.#counters) {
      if (!inRun.has(key) && this.#expired(counter, nowMs)) this.#counters.delete(key)
    }
    for (const group of admitted) {
      let counter = this.#counters.get(group.key)
      if (counter === undefined) {
        counter = { labels: group.labels, totals: this.#spec.metrics.map(() => 0), lastSeenMs: nowMs }
        this.#counters.set(group.key, counter)
      }
      group.values.forEach((v, i) => {
        if (this.#spec.metrics[i]?.type === 'counter') counter.totals[i] = (counter.totals[i] ?? 0) + (v ?? 0)
      })
      counter.lastSeenMs = nowMs
    }
  }
}
