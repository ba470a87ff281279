import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client'
import {
  BUILD_INFO,
  COLLECTOR_DURATION,
  COLLECTOR_LAST_SUCCESS,
  COLLECTOR_ROWS,
  COLLECTOR_RUNS_TOTAL,
  COLLECTOR_SKIPPED_SECONDS,
  COLLECTOR_UP,
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
  /** Creates the series of a collector so that they exist (at zero) before its first run. */
  addCollector(name: string): void
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
  return {
    up,
    lastSuccess,
    runs,
    duration,
    rows,
    skippedSeconds,
    seriesDropped,
    addCollector(name) {
      up.set({ collector: name }, 0)
      skippedSeconds.inc({ collector: name }, 0)
      seriesDropped.inc({ collector: name }, 0)
      for (const result of RUN_OUTCOMES) runs.inc({ collector: name, result }, 0)
    },
  }
}
