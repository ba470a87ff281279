/**
 * The "Pixie canary analysis" dashboard: a workload's canary pods against its
 * stable pods, from the windowed gauges (what the analysis templates read) and
 * from the counters and the latency histogram, plus a per-pod table.
 */
import {
  DashboardBuilder,
  DashboardCursorSync,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard'
import { StackingConfigBuilder, StackingMode, TableSortByFieldStateBuilder } from '@grafana/grafana-foundation-sdk/common'
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table'
import {
  HTTP_ERRORS_PER_SECOND,
  HTTP_REQUESTS_PER_SECOND,
  HTTP_REQUESTS_TOTAL,
  HTTP_REQUEST_DURATION,
} from '../metrics/names.js'
import { DATASOURCE, datasourceVariable, expandRows, numberPanels, rangeQuery, tableQuery, timeseries, withThresholdLine } from './panels.js'
import { DEFAULT_MAX_ERROR_RATIO, DEFAULT_MAX_P99_SECONDS, SEGMENT, dedupReplicas } from './promql.js'

/** UID of the canary dashboard (stable across regenerations, used in links). */
export const CANARY_DASHBOARD_UID = 'pixie-canary-analysis'

/** All pods of the selected workload, any pod-template hash. */
const ALL_PODS = `namespace="$namespace", pod=~"$workload-${SEGMENT}-${SEGMENT}"`

/** The pods of one pod-template hash of the selected workload. */
function podsOf(hashVariable: string): string {
  return `namespace="$namespace", pod=~"$workload-$${hashVariable}-${SEGMENT}"`
}

/** The two sides compared on every panel. */
const SIDES = [
  { side: 'stable', variable: 'stable_hash' },
  { side: 'canary', variable: 'canary_hash' },
] as const

/**
 * Pod-template hashes of the workload with their pod counts, for `query_result`:
 * the stable ReplicaSet normally has the most pods, the canary the fewest.
 */
const HASH_COUNTS = `count by (pod_template_hash) (label_replace(${HTTP_REQUESTS_PER_SECOND}{${ALL_PODS}}, "pod_template_hash", "$1", "pod", "$workload-(${SEGMENT})-${SEGMENT}"))`

/** Grafana's `query_result` prints `{pod_template_hash="…"} <count> <ts>`; this keeps the hash. */
export const HASH_FROM_RESULT = '/pod_template_hash="([^"]+)"/'

function hashVariable(name: string, label: string, order: 'sort_desc' | 'sort', description: string): QueryVariableBuilder {
  const query = `query_result(${order}(${HASH_COUNTS}))`
  return new QueryVariableBuilder(name)
    .label(label)
    .description(description)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .regex(HASH_FROM_RESULT)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.Disabled)
}

/** Adds the `role` (stable/canary) and `pod_template_hash` columns to a per-pod series. */
function decoratePods(expr: string): string {
  const hash = `label_replace(${expr}, "pod_template_hash", "$1", "pod", "$workload-(${SEGMENT})-${SEGMENT}")`
  const stable = `label_replace(${hash}, "role", "stable", "pod", "$workload-$stable_hash-${SEGMENT}")`
  return `label_replace(${stable}, "role", "canary", "pod", "$workload-$canary_hash-${SEGMENT}")`
}

/** Each pod's latency quantile from its histogram buckets (one series per pod). */
function podQuantile(quantile: string, selector: string): string {
  return `histogram_quantile(${quantile}, sum by (namespace, pod, le) (${dedupReplicas(`rate(${HTTP_REQUEST_DURATION}_bucket{${selector}}[$__rate_interval])`)}))`
}

const GAUGE_ROW = 'Canary vs stable: window gauges (what the analysis templates read)'
const COUNTER_ROW = 'Canary vs stable: counters and histogram (rate over $__rate_interval)'

function gaugeRow(): RowBuilder {
  const rate = timeseries(
    'Request rate (window gauge)',
    `Sum of ${HTTP_REQUESTS_PER_SECOND} over the pods of each side: requests per second over the exporter's window.`,
    'reqps',
    SIDES.map(({ side, variable }, i) =>
      rangeQuery(String.fromCharCode(65 + i), `sum(${dedupReplicas(`${HTTP_REQUESTS_PER_SECOND}{${podsOf(variable)}}`)})`, `${side} $${variable}`),
    ),
  )
  const ratio = withThresholdLine(
    timeseries(
      'Error ratio (window gauge)',
      `Errors per second / requests per second of each side, from ${HTTP_ERRORS_PER_SECOND} and ${HTTP_REQUESTS_PER_SECOND}. The dashed line is the analysis templates' default max-error-ratio (${DEFAULT_MAX_ERROR_RATIO}). No line means no traffic, never 0 %.`,
      'percentunit',
      SIDES.map(({ side, variable }, i) =>
        rangeQuery(
          String.fromCharCode(65 + i),
          `sum(${dedupReplicas(`${HTTP_ERRORS_PER_SECOND}{${podsOf(variable)}}`)}) / sum(${dedupReplicas(`${HTTP_REQUESTS_PER_SECOND}{${podsOf(variable)}}`)})`,
          `${side} $${variable}`,
        ),
      ),
    ),
    DEFAULT_MAX_ERROR_RATIO,
  )
  // The window quantile gauges (pixie_http_latency_seconds) are not in the
  // default series set: each pod's quantile comes from its histogram buckets.
  const latency = (quantile: string, label: string, threshold: number | undefined) => {
    const panel = timeseries(
      `${label} latency (histogram, worst pod)`,
      `The highest per-pod histogram_quantile(${quantile}) of ${HTTP_REQUEST_DURATION}_bucket over the pods of each side (interpolated within a bucket): quantiles cannot be averaged, the worst pod is shown.${threshold === undefined ? '' : ` The dashed line is the analysis templates' default p99 threshold (${threshold}s).`}`,
      's',
      SIDES.map(({ side, variable }, i) =>
        rangeQuery(String.fromCharCode(65 + i), `max(${podQuantile(quantile, podsOf(variable))})`, `${side} $${variable}`),
      ),
    )
    return threshold === undefined ? panel : withThresholdLine(panel, threshold)
  }
  return new RowBuilder(GAUGE_ROW)
    .withPanel(rate)
    .withPanel(ratio)
    .withPanel(latency('0.99', 'p99', DEFAULT_MAX_P99_SECONDS))
    .withPanel(latency('0.5', 'p50', undefined))
}

function counterRow(): RowBuilder {
  const requests = (sel: string) => dedupReplicas(`rate(${HTTP_REQUESTS_TOTAL}{${sel}}[$__rate_interval])`)
  const rate = timeseries(
    'Request rate (counters)',
    `rate(${HTTP_REQUESTS_TOTAL}) summed over the pods of each side.`,
    'reqps',
    SIDES.map(({ side, variable }, i) => rangeQuery(String.fromCharCode(65 + i), `sum(${requests(podsOf(variable))})`, `${side} $${variable}`)),
  )
  const ratio = withThresholdLine(
    timeseries(
      'Error ratio, 5xx (counters)',
      `Share of 5xx responses from ${HTTP_REQUESTS_TOTAL}{status_class="5xx"}; with errorStatusMin 400 the window gauges also count 4xx, this panel does not.`,
      'percentunit',
      SIDES.map(({ side, variable }, i) =>
        rangeQuery(
          String.fromCharCode(65 + i),
          `sum(${requests(`${podsOf(variable)}, status_class="5xx"`)}) / sum(${requests(podsOf(variable))})`,
          `${side} $${variable}`,
        ),
      ),
    ),
    DEFAULT_MAX_ERROR_RATIO,
  )
  const quantile = (q: string, label: string, threshold: number | undefined) => {
    const panel = timeseries(
      `${label} latency (histogram)`,
      `histogram_quantile(${q}) of ${HTTP_REQUEST_DURATION}_bucket aggregated over the pods of each side (interpolated within a bucket).`,
      's',
      SIDES.map(({ side, variable }, i) =>
        rangeQuery(
          String.fromCharCode(65 + i),
          `histogram_quantile(${q}, sum by (le) (${dedupReplicas(`rate(${HTTP_REQUEST_DURATION}_bucket{${podsOf(variable)}}[$__rate_interval])`)}))`,
          `${side} $${variable}`,
        ),
      ),
    )
    return threshold === undefined ? panel : withThresholdLine(panel, threshold)
  }
  const classes = timeseries(
    'Canary responses by status class',
    `rate(${HTTP_REQUESTS_TOTAL}) of the canary pods by status_class.`,
    'reqps',
    [rangeQuery('A', `sum by (status_class) (${requests(podsOf('canary_hash'))})`, '{{status_class}}')],
  ).stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
  return new RowBuilder(COUNTER_ROW)
    .withPanel(rate)
    .withPanel(ratio)
    .withPanel(quantile('0.99', 'p99', DEFAULT_MAX_P99_SECONDS))
    .withPanel(quantile('0.5', 'p50', undefined))
    .withPanel(classes)
}

/** Column titles of the per-pod table, also used by its tests. */
export const POD_TABLE_COLUMNS = { A: 'Error ratio', B: 'Requests/s', C: 'p99 latency' } as const

function podTable(): TablePanelBuilder {
  const perPod = (expr: string) => decoratePods(`max by (namespace, pod) (${expr})`)
  return new TablePanelBuilder()
    .title('Pods by error ratio (window gauges)')
    .description('Every pod of the workload with traffic in the window, worst error ratio first (errors / requests per second of the window gauges); role says which side a pod belongs to; p99 from the pod\'s histogram over $__rate_interval.')
    .datasource(DATASOURCE)
    .height(9)
    .span(24)
    .withTarget(tableQuery('A', `sort_desc(${decoratePods(`max by (namespace, pod) (${HTTP_ERRORS_PER_SECOND}{${ALL_PODS}}) / max by (namespace, pod) (${HTTP_REQUESTS_PER_SECOND}{${ALL_PODS}})`)})`))
    .withTarget(tableQuery('B', perPod(`${HTTP_REQUESTS_PER_SECOND}{${ALL_PODS}}`)))
    .withTarget(tableQuery('C', decoratePods(podQuantile('0.99', ALL_PODS))))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        indexByName: { role: 0, pod: 1, pod_template_hash: 2, 'Value #A': 3, 'Value #B': 4, 'Value #C': 5, namespace: 6 },
        renameByName: { 'Value #A': POD_TABLE_COLUMNS.A, 'Value #B': POD_TABLE_COLUMNS.B, 'Value #C': POD_TABLE_COLUMNS.C },
      },
    })
    .sortBy([new TableSortByFieldStateBuilder().displayName(POD_TABLE_COLUMNS.A).desc(true)])
    .overrideByName(POD_TABLE_COLUMNS.A, [{ id: 'unit', value: 'percentunit' }])
    .overrideByName(POD_TABLE_COLUMNS.B, [{ id: 'unit', value: 'reqps' }])
    .overrideByName(POD_TABLE_COLUMNS.C, [{ id: 'unit', value: 's' }])
}

/** Builds the canary analysis dashboard. */
export function canaryAnalysisDashboard(): Dashboard {
  const dashboard = new DashboardBuilder('Pixie canary analysis')
    .uid(CANARY_DASHBOARD_UID)
    .description('Canary against stable pods of one workload, from pixie-exporter metrics (Pixie eBPF HTTP data).')
    .tags(['pixie-exporter', 'argo-rollouts', 'canary'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('browser')
    .withVariable(datasourceVariable())
    .withVariable(
      new QueryVariableBuilder('namespace')
        .label('Namespace')
        .datasource(DATASOURCE)
        .query(`label_values(${HTTP_REQUESTS_PER_SECOND}, namespace)`)
        .definition(`label_values(${HTTP_REQUESTS_PER_SECOND}, namespace)`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    )
    .withVariable(
      new QueryVariableBuilder('workload')
        .label('Workload')
        .description('Rollout or Deployment: pod names `<workload>-<pod-template-hash>-<suffix>` without the last two parts.')
        .datasource(DATASOURCE)
        .query(`label_values(${HTTP_REQUESTS_PER_SECOND}{namespace="$namespace"}, pod)`)
        .definition(`label_values(${HTTP_REQUESTS_PER_SECOND}{namespace="$namespace"}, pod)`)
        .regex(`/^(.+)-${SEGMENT}-${SEGMENT}$/`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    )
    .withVariable(
      hashVariable('stable_hash', 'Stable hash', 'sort_desc', 'Pod-template hash of the stable pods; defaults to the hash with the most pods (pick another if the canary has grown past it).'),
    )
    .withVariable(
      hashVariable('canary_hash', 'Canary hash', 'sort', 'Pod-template hash of the canary pods (`rollouts-pod-template-hash`); defaults to the hash with the fewest pods.'),
    )
    .withRow(gaugeRow())
    .withRow(counterRow())
    .withRow(new RowBuilder('Pods').withPanel(podTable()))
    .build()
  // The comparison rows are what one opens the dashboard for; the pod table stays folded.
  return numberPanels(expandRows(dashboard, [GAUGE_ROW, COUNTER_ROW]))
}
