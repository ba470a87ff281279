/**
 * The "pixie-exporter health" dashboard: is each collector up, how old is its
 * data, how long do Pixie runs take, how many rows and series, skipped runs and
 * skipped seconds, and the process (memory, event-loop lag, CPU).
 */
import {
  DashboardBuilder,
  DashboardCursorSync,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  MappingType,
} from '@grafana/grafana-foundation-sdk/dashboard'
import { BigValueGraphMode, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common'
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat'
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table'
import {
  BUILD_INFO,
  COLLECTOR_DURATION,
  COLLECTOR_LAST_SUCCESS,
  COLLECTOR_ROWS,
  COLLECTOR_RUNS_TOTAL,
  COLLECTOR_SKIPPED_SECONDS,
  COLLECTOR_UP,
} from '../metrics/names.js'
import { DATASOURCE, datasourceVariable, expandRows, numberPanels, rangeQuery, tableQuery, thresholdLine, timeseries, withThresholdLine } from './panels.js'
import { STALE_AFTER_SECONDS } from './rules.js'

/** UID of the health dashboard. */
export const HEALTH_DASHBOARD_UID = 'pixie-exporter-health'

/** Selects the exporter's own series (target labels job and instance). */
const TARGET = 'job="$job", instance=~"$instance"'
/** Selects one collector's series. */
const COLLECTOR = `${TARGET}, collector=~"$collector"`

function stat(title: string, description: string, unit: string, expr: string, legend: string): StatPanelBuilder {
  return new StatPanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .height(5)
    .span(6)
    .graphMode(BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .withTarget(rangeQuery('A', expr, legend))
}

function collectorRow(): RowBuilder {
  const up = stat('Collector up', `${COLLECTOR_UP}: 1 when the last run succeeded.`, 'none', `${COLLECTOR_UP}{${COLLECTOR}}`, '{{instance}} {{collector}}')
    .mappings([
      {
        type: MappingType.ValueToText,
        options: { '0': { text: 'DOWN', color: 'red', index: 0 }, '1': { text: 'UP', color: 'green', index: 1 } },
      },
    ])
    .thresholds(thresholdLine(1).steps([{ value: null, color: 'red' }, { value: 1, color: 'green' }]))
  const age = stat(
    'Age of the last success',
    `time() - ${COLLECTOR_LAST_SUCCESS}. Red from ${STALE_AFTER_SECONDS}s, where the PixieExporterDataStale alert fires (maxCatchUp: older traffic is never counted).`,
    's',
    `time() - ${COLLECTOR_LAST_SUCCESS}{${COLLECTOR}}`,
    '{{instance}} {{collector}}',
  ).thresholds(thresholdLine(STALE_AFTER_SECONDS))
  const skippedRuns = stat(
    'Skipped runs in range',
    `Runs skipped because the previous run was still going (${COLLECTOR_RUNS_TOTAL}{result="skipped"}), over the dashboard range.`,
    'none',
    `sum by (instance, collector) (increase(${COLLECTOR_RUNS_TOTAL}{${COLLECTOR}, result="skipped"}[$__range]))`,
    '{{instance}} {{collector}}',
  ).thresholds(thresholdLine(1))
  const skippedSeconds = stat(
    'Skipped seconds in range',
    `Seconds of traffic never counted because an outage outlasted maxCatchUp (${COLLECTOR_SKIPPED_SECONDS}), over the dashboard range.`,
    's',
    `sum by (instance, collector) (increase(${COLLECTOR_SKIPPED_SECONDS}{${COLLECTOR}}[$__range]))`,
    '{{instance}} {{collector}}',
  ).thresholds(thresholdLine(1))
  const duration = timeseries('Run duration', `${COLLECTOR_DURATION}: duration of the last completed run (one PxL script on Pixie).`, 's', [
    rangeQuery('A', `${COLLECTOR_DURATION}{${COLLECTOR}}`, '{{instance}} {{collector}}'),
  ])
  const rows = timeseries('Rows returned by Pixie', `${COLLECTOR_ROWS}: rows of the last successful run (both tables). 0 for long means Pixie sees no HTTP traffic.`, 'none', [
    rangeQuery('A', `${COLLECTOR_ROWS}{${COLLECTOR}}`, '{{instance}} {{collector}}'),
  ])
  const runs = timeseries('Runs by result', `rate(${COLLECTOR_RUNS_TOTAL}) by result: success, error, timeout, skipped.`, 'ops', [
    rangeQuery('A', `sum by (instance, collector, result) (rate(${COLLECTOR_RUNS_TOTAL}{${COLLECTOR}}[$__rate_interval]))`, '{{instance}} {{collector}} {{result}}'),
  ])
  const ageSeries = withThresholdLine(
    timeseries('Age of the last success over time', `time() - ${COLLECTOR_LAST_SUCCESS}; the dashed line is the data-stale alert threshold.`, 's', [
      rangeQuery('A', `time() - ${COLLECTOR_LAST_SUCCESS}{${COLLECTOR}}`, '{{instance}} {{collector}}'),
    ]),
    STALE_AFTER_SECONDS,
  )
  return new RowBuilder('Collectors')
    .withPanel(up)
    .withPanel(age)
    .withPanel(skippedRuns)
    .withPanel(skippedSeconds)
    .withPanel(duration)
    .withPanel(rows)
    .withPanel(runs)
    .withPanel(ageSeries)
}

function seriesRow(): RowBuilder {
  const series = timeseries(
    'Series',
    'Per-pod series the exporter serves (count of pixie_http_* series in Prometheus) and samples per scrape (scrape_samples_scraped, added by Prometheus).',
    'short',
    [
      rangeQuery('A', `count by (instance) ({__name__=~"pixie_http_.+", ${TARGET}})`, '{{instance}} pixie_http_* series'),
      rangeQuery('B', `scrape_samples_scraped{${TARGET}}`, '{{instance}} samples per scrape'),
    ],
  )
  const scrape = timeseries('Scrape duration', 'scrape_duration_seconds (added by Prometheus): how long /metrics takes to serve.', 's', [
    rangeQuery('A', `scrape_duration_seconds{${TARGET}}`, '{{instance}}'),
  ])
  return new RowBuilder('Series and scrapes').withPanel(series).withPanel(scrape)
}

function processRow(): RowBuilder {
  const memory = timeseries('Memory', 'Resident memory and used V8 heap of the exporter process.', 'bytes', [
    rangeQuery('A', `process_resident_memory_bytes{${TARGET}}`, '{{instance}} resident'),
    rangeQuery('B', `nodejs_heap_size_used_bytes{${TARGET}}`, '{{instance}} heap used'),
  ])
  const lag = timeseries('Event-loop lag', 'p99 event-loop lag (prom-client histogram over its sampling interval) and the last measured lag.', 's', [
    rangeQuery('A', `nodejs_eventloop_lag_p99_seconds{${TARGET}}`, '{{instance}} p99'),
    rangeQuery('B', `nodejs_eventloop_lag_seconds{${TARGET}}`, '{{instance}} last'),
  ])
  const cpu = timeseries('CPU', 'CPU seconds per second used by the exporter process.', 'percentunit', [
    rangeQuery('A', `rate(process_cpu_seconds_total{${TARGET}}[$__rate_interval])`, '{{instance}}'),
  ])
  const build = new TablePanelBuilder()
    .title('Build')
    .description(`${BUILD_INFO}: version of each exporter instance and of Node.js.`)
    .datasource(DATASOURCE)
    .height(8)
    .span(12)
    .withTarget(tableQuery('A', `${BUILD_INFO}{${TARGET}}`))
    .withTransformation({
      id: 'organize',
      options: { excludeByName: { Time: true, Value: true, __name__: true, branch: true }, indexByName: { instance: 0, version: 1, revision: 2, nodeversion: 3 } },
    })
  return new RowBuilder('Process').withPanel(memory).withPanel(lag).withPanel(cpu).withPanel(build)
}

/** Builds the exporter health dashboard. */
export function exporterHealthDashboard(): Dashboard {
  const variable = (name: string, label: string, query: string) =>
    new QueryVariableBuilder(name)
      .label(label)
      .datasource(DATASOURCE)
      .query(query)
      .definition(query)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
  const dashboard = new DashboardBuilder('pixie-exporter health')
    .uid(HEALTH_DASHBOARD_UID)
    .description('Health of pixie-exporter: collectors, data age, Pixie runs, series, process.')
    .tags(['pixie-exporter'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(datasourceVariable())
    .withVariable(variable('job', 'Job', `label_values(${BUILD_INFO}, job)`))
    .withVariable(variable('instance', 'Instance', `label_values(${BUILD_INFO}{job="$job"}, instance)`).multi(true).includeAll(true).allValue('.+'))
    .withVariable(variable('collector', 'Collector', `label_values(${COLLECTOR_UP}{job="$job"}, collector)`).multi(true).includeAll(true).allValue('.+'))
    .withRow(collectorRow())
    .withRow(seriesRow())
    .withRow(processRow())
    .build()
  // Collectors and series answer "is it working?"; the process row stays folded.
  return numberPanels(expandRows(dashboard, ['Collectors', 'Series and scrapes']))
}
