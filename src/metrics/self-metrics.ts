import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client'
import {
  BUILD_INFO,
  COLLECTOR_DURATION,
  COLLECTOR_LAST_SUCCESS,
  COLLECTOR_ROWS,
  COLLECTOR_RUNS_TOTAL,
  COLLECTOR_SKIPPED_SECONDS,
  COLLECTOR_UP,
  OVERSIZE_RESULTS_TOTAL,
  SERIES_DROPPED_TOTAL,
} from './names.js'

const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/** Outcome of one scheduled run of a collector. */
export type RunOutcome = 'success' | 'error' | 'timeout' | 'skipped'
export const RUN_OUTCOMES: readonly RunOutcome[] = ['success', 'error', 'timeout', 'skipped']

/** The exporter's metrics about itself, each labelled `collector`. */
export interface SelfMetrics {
  readonly up: Gauge<'collector'>
  readonly lastSuccess: Gauge<'collector'>
  readonly runs: Counter<'collector' | 'result'>
  readonly duration: Gauge<'collector'>
  readonly rows: Gauge<'collector'>
  readonly skippedSeconds: Counter<'collector'>
  /** Series dropped by a collector's `maxSeries` cap (each run counts the series it dropped). */
  readonly seriesDropped: Counter<'collector'>
  /** Runs cut off because Pixie sent more rows than the collector's row cap (each also counts as an `error` run). */
  readonly oversizeResults: Counter<'collector'>
  /**
   * Creates the series of a collector so that they exist (at zero) before its
   * first run. Idempotent: a collector that is already known (a reload that
   * replaces its job) keeps its values.
   */
  addCollector(name: string): void
  /** Removes every series of a collector (a reload removed it from the configuration). */
  removeCollector(name: string): void
}

/** Build facts exported as `pixie_exporter_build_info`. */
export interface BuildInfo {
  readonly version: string
  /** Git revision of the build (`--version` shows it too). Default `unknown`. */
  readonly revision?: string
  /** Git branch of the build. Default `unknown`. */
  readonly branch?: string
}

/**
 * Registers the self-metrics, `pixie_exporter_build_info` and the process
 * metrics (prom-client's defaults: memory, CPU, event-loop lag...) on `registry`.
 *
 * Call it once per exporter, never per configuration reload: prom-client's
 * default metrics install process-wide observers (GC, event-loop delay) that
 * are never released, so every call leaks (issue 13, defect 1).
 */
export function createSelfMetrics(registry: Registry, build: BuildInfo): SelfMetrics {
  const registers = [registry]
  const up = new Gauge({
    name: COLLECTOR_UP,
    help: 'Whether the last run of the collector succeeded (1) or not (0).',
    labelNames: ['collector'],
    registers,
  })
  const lastSuccess = new Gauge({
    name: COLLECTOR_LAST_SUCCESS,
    help: 'Unix time of the last successful run of the collector; absent before the first success.',
    labelNames: ['collector'],
    registers,
  })
  const runs = new Counter({
    name: COLLECTOR_RUNS_TOTAL,
    help: 'Runs of the collector by result: success, error, timeout, or skipped (the previous run was still going).',
    labelNames: ['collector', 'result'],
    registers,
  })
  const duration = new Gauge({
    name: COLLECTOR_DURATION,
    help: 'Duration of the last completed run of the collector, in seconds.',
    labelNames: ['collector'],
    registers,
  })
  const rows = new Gauge({
    name: COLLECTOR_ROWS,
    help: 'Rows returned by Pixie in the last successful run of the collector.',
    labelNames: ['collector'],
    registers,
  })
  const skippedSeconds = new Counter({
    name: COLLECTOR_SKIPPED_SECONDS,
    help: 'Seconds of traffic never counted because the gap after failed runs exceeded maxCatchUp.',
    labelNames: ['collector'],
    registers,
  })
  const seriesDropped = new Counter({
    name: SERIES_DROPPED_TOTAL,
    help: 'Series not exported because the collector reached its maxSeries cap; every run adds the series it dropped.',
    labelNames: ['collector'],
    registers,
  })
  const oversizeResults = new Counter({
    name: OVERSIZE_RESULTS_TOTAL,
    help: 'Runs of the collector cut off because Pixie sent more rows than its row cap (max_output_rows_per_table); such a run fails and publishes nothing.',
    labelNames: ['collector'],
    registers,
  })
  const info = new Gauge({
    name: BUILD_INFO,
    help: 'Build information of pixie-exporter; the value is always 1.',
    labelNames: ['version', 'revision', 'branch', 'nodeversion'],
    registers,
  })
  info.set({ version: build.version, revision: build.revision ?? 'unknown', branch: build.branch ?? 'unknown', nodeversion: process.version }, 1)
  collectDefaultMetrics({ register: registry })
  // These three prom-client gauges end in _total, which Prometheus reserves for
  // counters (promtool check metrics flags them); they add little, so drop them.
  for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name)
  const known = new Set<string>()
  return {
    up,
    lastSuccess,
    runs,
    duration,
    rows,
    skippedSeconds,
    seriesDropped,
    oversizeResults,
    addCollector(name) {
      if (known.has(name)) return
      known.add(name)
      up.set({ collector: name }, 0)
      skippedSeconds.inc({ collector: name }, 0)
      seriesDropped.inc({ collector: name }, 0)
      oversizeResults.inc({ collector: name }, 0)
      for (const result of RUN_OUTCOMES) runs.inc({ collector: name, result }, 0)
    },
    removeCollector(name) {
      known.delete(name)
      const labels = { collector: name }
      for (const metric of [up, lastSuccess, duration, rows, skippedSeconds, seriesDropped, oversizeResults]) metric.remove(labels)
      for (const result of RUN_OUTCOMES) runs.remove({ collector: name, result })
    },
  }
}
