/**
 * Prometheus recording and alerting rules for pixie-exporter, written once and
 * rendered both as a plain rule file and as a prometheus-operator
 * `PrometheusRule` (deploy/rules/).
 */
import { stringify } from 'yaml'
import {
  COLLECTOR_LAST_SUCCESS,
  COLLECTOR_ROWS,
  COLLECTOR_UP,
  HTTP_REQUESTS_TOTAL,
} from '../metrics/names.js'
import { DEFAULT_MAX_ERROR_RATIO, EXPORTER_JOB_MATCHER, WORKLOAD_POD, dedupReplicas, withWorkload } from './promql.js'

/** A recording rule. */
export interface RecordingRule {
  readonly record: string
  readonly expr: string
}

/** An alerting rule; every one links its section of docs/alerts.md. */
export interface AlertingRule {
  readonly alert: string
  readonly expr: string
  readonly for: string
  readonly labels: { readonly severity: 'critical' | 'warning' }
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string }
}

/** A rule group as Prometheus and the prometheus-operator read it. */
export interface RuleGroup {
  readonly name: string
  readonly rules: readonly (RecordingRule | AlertingRule)[]
}

/**
 * Where docs/alerts.md is published; each alert's `runbook_url` is this plus
 * `#<alert name in lower case>`, the anchor of its runbook section.
 */
export const RUNBOOK_BASE_URL = 'https://github.com/pixie-io/pixie-exporter/blob/main/docs/alerts.md'

/** Per-workload request rate over 2m (all status classes). */
export const WORKLOAD_REQUESTS_RATE = 'namespace_workload:pixie_http_requests:rate2m'
/** Per-workload 5xx response rate over 2m. */
export const WORKLOAD_ERRORS_RATE = 'namespace_workload:pixie_http_errors:rate2m'
/** Per-workload 5xx ratio over 2m. */
export const WORKLOAD_ERROR_RATIO = 'namespace_workload:pixie_http_errors_per_requests:ratio_rate2m'

/**
 * Seconds without a successful run after which the data counts as stale: the
 * default `maxCatchUp` (5m), beyond which traffic is never counted.
 */
export const STALE_AFTER_SECONDS = 300
/** The error-ratio alert needs at least this many requests per second. */
export const MIN_REQUESTS_PER_SECOND = 1

/** `up` of the exporter's scrape targets. */
const UP = `up{${EXPORTER_JOB_MATCHER}}`

function workloadRate(matchers: string): string {
  return `sum by (namespace, workload) (${withWorkload(dedupReplicas(`rate(${HTTP_REQUESTS_TOTAL}{${matchers}}[2m])`))})`
}

function alert(a: Omit<AlertingRule, 'annotations'> & { summary: string; description: string }, runbookBaseUrl: string): AlertingRule {
  return {
    alert: a.alert,
    expr: a.expr,
    for: a.for,
    labels: a.labels,
    annotations: { summary: a.summary, description: a.description, runbook_url: `${runbookBaseUrl}#${a.alert.toLowerCase()}` },
  }
}

/** The rule groups; `runbookBaseUrl` defaults to {@link RUNBOOK_BASE_URL}. */
export function ruleGroups(runbookBaseUrl = RUNBOOK_BASE_URL): RuleGroup[] {
  const recording: RecordingRule[] = [
    { record: WORKLOAD_REQUESTS_RATE, expr: workloadRate(`pod=~"${WORKLOAD_POD}"`) },
    { record: WORKLOAD_ERRORS_RATE, expr: workloadRate(`pod=~"${WORKLOAD_POD}", status_class="5xx"`) },
    { record: WORKLOAD_ERROR_RATIO, expr: `${WORKLOAD_ERRORS_RATE} / ${WORKLOAD_REQUESTS_RATE}` },
  ]
  const alerts: AlertingRule[] = [
    alert(
      {
        alert: 'PixieExporterDown',
        expr: `${UP} == 0 or absent(${UP})`,
        for: '5m',
        labels: { severity: 'critical' },
        summary: 'pixie-exporter cannot be scraped{{ with $labels.instance }} ({{ . }}){{ end }}',
        description:
          'Prometheus has not scraped pixie-exporter{{ with $labels.instance }} at {{ . }}{{ end }} for 5 minutes, or has no such target at all (job must match (.*/)?pixie-exporter). Canary analyses that read pixie_http_* get no data and pause or fail.',
      },
      runbookBaseUrl,
    ),
    alert(
      {
        alert: 'PixieExporterCollectorFailing',
        expr: `max by (job, collector) (${COLLECTOR_UP}) == 0`,
        for: '5m',
        labels: { severity: 'warning' },
        summary: 'pixie-exporter collector {{ $labels.collector }} has been failing for 5 minutes',
        description:
          'Every run of the {{ $labels.collector }} collector (job {{ $labels.job }}) has failed for 5 minutes on every replica: Pixie is unreachable, rejects the key, or the script times out. Its per-pod series disappear once stale.',
      },
      runbookBaseUrl,
    ),
    alert(
      {
        alert: 'PixieExporterDataStale',
        expr: `time() - max by (job, collector) (${COLLECTOR_LAST_SUCCESS}) > ${STALE_AFTER_SECONDS}`,
        for: '1m',
        labels: { severity: 'critical' },
        summary: 'pixie-exporter data from collector {{ $labels.collector }} is older than 5 minutes',
        description:
          'The last successful run of the {{ $labels.collector }} collector (job {{ $labels.job }}) was {{ $value | humanizeDuration }} ago. Rollouts are judged on no data, and traffic older than maxCatchUp (default 5m) will never be counted.',
      },
      runbookBaseUrl,
    ),
    alert(
      {
        alert: 'PixieExporterNoRows',
        expr: `max by (job, collector) (${COLLECTOR_ROWS}) == 0 and on (job, collector) max by (job, collector) (${COLLECTOR_UP}) == 1`,
        for: '15m',
        labels: { severity: 'warning' },
        summary: 'Pixie has returned no HTTP rows to collector {{ $labels.collector }} for 15 minutes',
        description:
          'The {{ $labels.collector }} collector (job {{ $labels.job }}) succeeds but Pixie reports no HTTP traffic at all: the namespace filters exclude everything, Pixie lost its data, or the cluster really serves no HTTP.',
      },
      runbookBaseUrl,
    ),
    alert(
      {
        alert: 'PixieHTTPErrorRatioHigh',
        expr: `${WORKLOAD_ERROR_RATIO} > ${DEFAULT_MAX_ERROR_RATIO} and on (namespace, workload) ${WORKLOAD_REQUESTS_RATE} >= ${MIN_REQUESTS_PER_SECOND}`,
        for: '5m',
        labels: { severity: 'warning' },
        summary: '{{ $labels.namespace }}/{{ $labels.workload }} answers {{ $value | humanizePercentage }} of its HTTP requests with 5xx',
        description: `Workload {{ $labels.namespace }}/{{ $labels.workload }} has had a 5xx ratio above ${DEFAULT_MAX_ERROR_RATIO * 100} % (the canary templates' default) with at least ${MIN_REQUESTS_PER_SECOND} request/s for 5 minutes, as Pixie observes it.`,
      },
      runbookBaseUrl,
    ),
  ]
  return [
    { name: 'pixie-exporter.recording', rules: recording },
    { name: 'pixie-exporter.alerts', rules: alerts },
  ]
}

const HEADER = '# Generated by `npm run dashboards` from src/dashboards/rules.ts; edit that file, not this one.\n'

/** The plain Prometheus rule file (deploy/rules/pixie-exporter.rules.yaml). */
export function rulesFileYaml(runbookBaseUrl = RUNBOOK_BASE_URL): string {
  return HEADER + stringify({ groups: ruleGroups(runbookBaseUrl) }, { lineWidth: 0 })
}

/** The same groups as a prometheus-operator `PrometheusRule` (deploy/rules/prometheusrule.yaml). */
export function prometheusRuleYaml(runbookBaseUrl = RUNBOOK_BASE_URL): string {
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'pixie-exporter', labels: { 'app.kubernetes.io/name': 'pixie-exporter' } },
    spec: { groups: ruleGroups(runbookBaseUrl) },
  }
  const note =
    '# Your Prometheus may select rules by label (kube-prometheus-stack: release=<helm release>):\n# add ../components/kube-prometheus-stack after this component, or use overlays/kube-prometheus-stack.\n'
  return HEADER + note + stringify(manifest, { lineWidth: 0 })
}
