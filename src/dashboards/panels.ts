/**
 * Small wrappers around the Grafana foundation SDK builders, so that every
 * panel of our dashboards reads its data source from the `datasource`
 * variable and carries a description.
 */
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common'
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode } from '@grafana/grafana-foundation-sdk/common'
import {
  DatasourceVariableBuilder,
  type Dashboard,
  type RowPanel,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type Threshold,
} from '@grafana/grafana-foundation-sdk/dashboard'
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus'
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries'

/** Every panel and query uses the data source picked in the `datasource` variable. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' }

/** The `datasource` variable: any Prometheus data source. */
export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus')
}

/** A range query drawn as a time series. */
export function rangeQuery(refId: string, expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder().refId(refId).datasource(DATASOURCE).expr(expr).legendFormat(legend).range()
}

/** An instant query returned as a table (one row per series, labels as columns). */
export function tableQuery(refId: string, expr: string): DataqueryBuilder {
  return new DataqueryBuilder().refId(refId).datasource(DATASOURCE).expr(expr).instant().format(PromQueryFormat.Table)
}

/** A line at `value` in red; below it the series keep their colours. */
export function thresholdLine(value: number): ThresholdsConfigBuilder {
  const steps: Threshold[] = [
    { value: null, color: 'green' },
    { value, color: 'red' },
  ]
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps)
}

/** A time-series panel with its queries, unit and description. */
export function timeseries(title: string, description: string, unit: string, queries: DataqueryBuilder[]): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .height(8)
    .span(12)
  for (const q of queries) panel.withTarget(q)
  return panel
}

/** The same panel with a dashed threshold line at `value`. */
export function withThresholdLine(panel: TimeseriesPanelBuilder, value: number): TimeseriesPanelBuilder {
  return panel.thresholds(thresholdLine(value)).thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
}

/**
 * Opens the rows titled `titles`: Grafana shows an expanded row's panels as
 * the top-level panels that follow it (`collapsed: false`, `panels: []`),
 * while the SDK's `withRow` nests them in a collapsed row, so a dashboard
 * would open with nothing visible until a row is clicked. The panels keep
 * their grid positions, which already follow their row.
 *
 * @throws TypeError when a title names no row (a renamed row would silently stay collapsed).
 */
export function expandRows(dashboard: Dashboard, titles: readonly string[]): Dashboard {
  const out: NonNullable<Dashboard['panels']> = []
  const found = new Set<string>()
  for (const panel of dashboard.panels ?? []) {
    out.push(panel)
    if (panel.type !== 'row' || !titles.includes(panel.title ?? '')) continue
    const row = panel as RowPanel
    found.add(row.title ?? '')
    out.push(...row.panels)
    row.panels = []
    row.collapsed = false
  }
  const missing = titles.filter((title) => !found.has(title))
  if (missing.length > 0) throw new TypeError(`expandRows: no row titled ${missing.join(', ')}`)
  dashboard.panels = out
  return dashboard
}

/**
 * Gives every panel (rows and the panels inside them) a unique `id`, in
 * layout order: the SDK leaves ids unset, and Grafana links and
 * `viewPanel` URLs use them.
 */
export function numberPanels(dashboard: Dashboard): Dashboard {
  let id = 1
  for (const panel of dashboard.panels ?? []) {
    panel.id = id++
    if (panel.type === 'row') for (const inner of (panel as RowPanel).panels) inner.id = id++
  }
  return dashboard
}
