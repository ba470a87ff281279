/**
 * The metric-name contract: every name used by grafana/, deploy/rules/ and
 * analysis-templates/ is one the exporter exports (or a recording rule we
 * define, or a series Prometheus adds to every target).
 */
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import {
  PROMETHEUS_SERIES,
  analysisTemplates,
  dashboardExprs,
  exportedNames,
  metricNamesIn,
  ruleExprs,
  templateExprs,
  unknownNames,
  type UsedExpr,
} from '../fixtures/dashboards-contract.js'
import { DEFAULT_MAX_ERROR_RATIO, DEFAULT_MAX_P99_SECONDS } from '../../src/dashboards/promql.js'
import { panelsOf } from '../fixtures/dashboards-grafana.js'

const ROOT = join(import.meta.dirname, '..', '..')
const DASHBOARDS = join(ROOT, 'grafana', 'dashboards')
const RULES = join(ROOT, 'deploy', 'rules', 'pixie-exporter.rules.yaml')
const TEMPLATES = join(ROOT, 'analysis-templates')

function dashboardFiles(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Dashboard }))
}

const exported = await exportedNames()
const rules = ruleExprs(RULES)
const known = [...PROMETHEUS_SERIES, ...rules.recorded]

t.test('the exported set is the default series set, from a real registry', async (t) => {
  for (const name of ['pixie_http_requests_per_second', 'pixie_http_errors_per_second', 'pixie_http_requests_total', 'pixie_http_request_duration_seconds_bucket', 'pixie_exporter_collector_up', 'pixie_exporter_build_info', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    t.ok(exported.has(name), `${name} is exported`)
  }
  // Opt-in parts (collectors.http.metrics, histogramSumAndCount): nothing shipped may rely on them.
  for (const name of ['pixie_http_error_ratio', 'pixie_http_latency_seconds', 'pixie_http_request_duration_seconds_sum', 'pixie_http_request_duration_seconds_count']) {
    t.notOk(exported.has(name), `${name} is not in the default set`)
  }
  t.notOk(exported.has('nodejs_active_handles_total'), 'the dropped prom-client gauge is not exported')
})

t.test('the name extraction reads names, not functions, labels or strings', async (t) => {
  t.same(
    metricNamesIn('sum by (pod) (label_replace(rate(pixie_http_requests_total{pod=~"$workload-.+", status_class="5xx"}[$__rate_interval]), "workload", "$1", "pod", "(.+)-x")) / on (pod) group_left max(up) > bool 0.05').names,
    ['pixie_http_requests_total', 'up'],
    'functions, grouping lists, strings and numbers are skipped',
  )
  t.same(metricNamesIn('label_values(pixie_http_requests_per_second{namespace="$namespace"}, pod)').names, ['pixie_http_requests_per_second'], 'label_values: the label argument is not a metric')
  t.same(metricNamesIn('scalar(sum(x_total{a="{{args.ns}}"}[{{args.range}}]) >= {{args.min}})').names, ['x_total'], 'Argo placeholders are skipped')
  t.same(metricNamesIn('count({__name__=~"pixie_http_.+", job="$job"})').patterns, ['pixie_http_.+'], '__name__ regexes are collected')
  t.same(metricNamesIn('time() - ns:metric:rate2m offset 5m').names, ['ns:metric:rate2m'], 'recording-rule names with colons are names')
})

t.test('a drifted name is caught (the check is not a no-op)', async (t) => {
  const [first] = dashboardFiles()
  if (first === undefined) throw new Error('no dashboard in grafana/dashboards')
  const drifted = JSON.parse(JSON.stringify(first.dashboard).replaceAll('pixie_http_requests_', 'pixie_http_request_')) as Dashboard
  const problems = unknownNames(dashboardExprs(first.file, drifted), exported, known)
  t.ok(problems.some((p) => p.endsWith(': pixie_http_request_per_second') || p.endsWith(': pixie_http_request_total')), `renamed metric reported:\n${problems.join('\n')}`)
  t.same(unknownNames([{ where: 'x', expr: 'count({__name__=~"pixie_https_.+"})' }], exported, known), ['x: __name__=~"pixie_https_.+" matches no exported name'], 'a __name__ regex matching nothing is reported')
  t.same(unknownNames([{ where: 'rule', expr: 'namespace_workload:nothing:rate2m > 0' }], exported, known), ['rule: namespace_workload:nothing:rate2m'], 'an undefined recording rule is reported')
})

t.test('every metric name in grafana/ is exported', async (t) => {
  const used: UsedExpr[] = dashboardFiles().flatMap(({ file, dashboard }) => dashboardExprs(file, dashboard))
  t.ok(used.length >= 30, `the dashboards' queries are read (${used.length})`)
  t.same(unknownNames(used, exported, known), [], 'no unknown metric names in the dashboards')
})

t.test('every metric name in the rules is exported or recorded', async (t) => {
  t.ok(rules.exprs.length >= 8, `the rules are read (${rules.exprs.length})`)
  t.same(unknownNames(rules.exprs, exported, known), [], 'no unknown metric names in deploy/rules')
})

t.test('every metric name in analysis-templates/ is exported', async (t) => {
  const used = templateExprs(TEMPLATES)
  t.ok(used.length > 0, `the templates' Prometheus queries are read (${used.length})`)
  t.same(unknownNames(used, exported, known), [], 'no unknown metric names in the analysis templates')
})

t.test('the dashboard threshold lines are the analysis templates\' defaults', async (t) => {
  const defaults = (arg: string) =>
    new Set(
      analysisTemplates(TEMPLATES).flatMap(({ template }) => (template.spec?.args ?? []).filter((a) => a.name === arg && a.value !== undefined).map((a) => Number(a.value))),
    )
  t.same([...defaults('max-error-ratio')], [DEFAULT_MAX_ERROR_RATIO], `every template defaults max-error-ratio to ${DEFAULT_MAX_ERROR_RATIO}`)
  t.same([...defaults('max-p99-seconds')], [DEFAULT_MAX_P99_SECONDS], `every template defaults max-p99-seconds to ${DEFAULT_MAX_P99_SECONDS}`)
  const canary = dashboardFiles().find((d) => d.file === 'pixie-canary-analysis.json')
  if (canary === undefined) throw new Error('no canary dashboard')
  const lines = (title: RegExp) =>
    panelsOf(canary.dashboard)
      .filter((p) => title.test(p.title ?? ''))
      .map((p) => p.fieldConfig?.defaults.thresholds?.steps.at(-1)?.value)
  const ratioLines = lines(/^Error ratio/)
  t.ok(ratioLines.length === 2 && ratioLines.every((v) => v === DEFAULT_MAX_ERROR_RATIO), `both error-ratio panels draw ${DEFAULT_MAX_ERROR_RATIO}: ${ratioLines.join(', ')}`)
  const p99Lines = lines(/^p99 latency/)
  t.ok(p99Lines.length === 2 && p99Lines.every((v) => v === DEFAULT_MAX_P99_SECONDS), `both p99 panels draw ${DEFAULT_MAX_P99_SECONDS}: ${p99Lines.join(', ')}`)
})
