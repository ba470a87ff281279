/**
 * analysis-templates/ and examples/canary-rollout/: every object validates
 * against Argo Rollouts' and Kubernetes' schemas, every placeholder is a
 * declared arg, the cluster forms equal the namespaced ones, the queries are
 * valid PromQL (promtool) and the conditions parse.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { parse } from 'yaml'
import { parseExpression } from '../../src/analyze/expr.js'
import { parseGoDuration, runSpecOf } from '../../src/analyze/run.js'
import { parseTemplate, placeholdersIn, resolveArgs, substituteMetric } from '../../src/analyze/template.js'
import { EXAMPLE_DIR, ROOT, TEMPLATES_DIR, manifestsIn, validateManifest, yamlFiles, type Manifest } from '../fixtures/analysis-manifests.js'
import { findTool, promtool } from '../fixtures/tools.js'

const templates = manifestsIn(TEMPLATES_DIR)
const example = manifestsIn(EXAMPLE_DIR)
const namespaced = templates.filter((m) => m.object.kind === 'AnalysisTemplate')

/** Values for the args without defaults, as a Rollout would supply them. */
const ROLLOUT_ARGS: Readonly<Record<string, string>> = {
  namespace: 'canary-demo',
  rollout: 'canary-demo',
  'canary-hash': '7f6d5c9b4b',
  'stable-hash': '6d8c6b9c8f',
}

function args(m: Manifest): { name: string; value?: string; valueFrom?: unknown }[] {
  return (m.object.spec?.args ?? []) as { name: string; value?: string }[]
}

t.test('every template and example object validates against its schema', async (t) => {
  t.ok(namespaced.length >= 6, `six templates or more (${namespaced.length})`)
  for (const m of [...templates, ...example]) {
    t.doesNotThrow(() => validateManifest(m.object), `${m.file}: ${m.object.kind} ${m.object.metadata.name}`)
  }
})

t.test('validation is not a no-op: broken manifests are rejected', async (t) => {
  const template = structuredClone(namespaced[0]?.object) as Manifest['object']
  const metric = (template.spec?.metrics as Record<string, unknown>[])[0] as Record<string, unknown>
  metric.count = true
  t.throws(() => validateManifest(template), /count must be integer/, 'a boolean count is rejected')
  const rollout = structuredClone(example.find((m) => m.object.kind === 'Rollout')?.object) as Manifest['object']
  ;(rollout.spec as Record<string, unknown>).replicas = 'four'
  t.throws(() => validateManifest(rollout), /replicas must be integer/, 'a string replica count is rejected')
  t.throws(() => validateManifest({ apiVersion: 'argoproj.io/v1alpha1', kind: 'AnalysisTemplat', metadata: { name: 'x' } }), /no schema known/, 'an unknown kind never passes')
})

t.test('every {{args.x}} is declared, and every declared arg is used', async (t) => {
  for (const m of templates) {
    const declared = args(m).map((a) => a.name).sort()
    const used = placeholdersIn(m.object.spec?.metrics)
    t.same(used.filter((u) => !declared.includes(u)), [], `${m.file}: no undeclared placeholder`)
    t.same(declared.filter((d) => !used.includes(d)), [], `${m.file}: no unused arg`)
    t.notMatch(JSON.stringify(m.object.spec?.metrics).replace(/\{\{\s*args\.[A-Za-z0-9_.-]+\s*\}\}/g, ''), /\{\{/, `${m.file}: no other {{…}}`)
  }
})

t.test('each ClusterAnalysisTemplate has the same spec as its AnalysisTemplate', async (t) => {
  const clusters = templates.filter((m) => m.object.kind === 'ClusterAnalysisTemplate')
  t.equal(clusters.length, namespaced.length, 'one cluster form per template')
  for (const n of namespaced) {
    const c = clusters.find((x) => x.object.metadata.name === n.object.metadata.name)
    t.ok(c, `${n.object.metadata.name} has a cluster form`)
    t.same(c?.object.spec, n.object.spec, `${n.object.metadata.name}: same spec`)
  }
})

t.test('templates used together agree: one default per arg name, unique metric names', async (t) => {
  // Argo merges the args of the templates of one analysis step; a name with
  // two different defaults would make the step fail.
  const defaults = new Map<string, Set<string | undefined>>()
  for (const m of namespaced) for (const a of args(m)) defaults.set(a.name, (defaults.get(a.name) ?? new Set()).add(a.value))
  for (const [name, values] of defaults) t.equal(values.size, 1, `arg ${name} has one default everywhere (${[...values].join(' | ')})`)
  const metricNames = namespaced.flatMap((m) => (m.object.spec?.metrics as { name: string }[]).map((x) => x.name))
  t.equal(new Set(metricNames).size, metricNames.length, 'metric names are unique across templates')
  const address = namespaced.flatMap((m) => args(m)).find((a) => a.name === 'prometheus-address')
  t.equal(address?.value, '', "empty Prometheus address by default: Argo then uses the controller's ARGO_ROLLOUTS_PROMETHEUS_ADDRESS")
})

t.test('canary pods are selected exactly by namespace and <rollout>-<hash>-<suffix>', async (t) => {
  for (const m of namespaced) {
    const text = JSON.stringify(m.object.spec?.metrics)
    const selectors = [...text.matchAll(/pod=~\\"([^\\]*)\\"/g)].map((x) => x[1])
    if (m.object.metadata.name === 'pixie-canary-error-rate-web') continue
    t.ok(selectors.length > 0, `${m.file}: selects pods`)
    for (const s of selectors) t.match(s, /^\{\{args\.rollout\}\}-\{\{args\.(canary|stable)-hash\}\}-\[a-z0-9\]\+$/, `${m.file}: exact pod regex ${s}`)
    t.notMatch(text, /\.\*/, `${m.file}: no .* wildcard`)
  }
})

t.test('the queries are valid PromQL and the conditions parse, with args substituted', async (t) => {
  const tool = findTool('promtool')
  if (tool instanceof Error) {
    t.fail(tool.message)
    return
  }
  const rules: { record: string; expr: string }[] = []
  for (const m of namespaced) {
    const tpl = parseTemplate(readFileSync(join(TEMPLATES_DIR, m.file), 'utf8'), m.file)
    const values = resolveArgs(tpl, Object.fromEntries(Object.entries(ROLLOUT_ARGS).filter(([k]) => tpl.args.some((a) => a.name === k))))
    for (const metric of tpl.metrics.map((x) => substituteMetric(x, values))) {
      for (const c of [metric.successCondition, metric.failureCondition]) {
        if (c !== undefined) t.doesNotThrow(() => parseExpression(c), `${m.file}: condition parses: ${c}`)
      }
      if (metric.provider.prometheus !== undefined) rules.push({ record: `check:${metric.name.replaceAll('-', '_')}`, expr: metric.provider.prometheus.query })
    }
  }
  const dir = t.testdir({})
  const file = join(dir, 'rules.yaml')
  writeFileSync(file, JSON.stringify({ groups: [{ name: 'templates', rules }] }))
  const r = promtool(['check', 'rules', file])
  t.equal(r.status, 0, `promtool accepts every query (${rules.length})\n${r.output}`)
})

t.test('kustomizations list exactly the files of their directory', async (t) => {
  for (const dir of [TEMPLATES_DIR, EXAMPLE_DIR]) {
    const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[]; namespace?: string }
    t.same([...k.resources].sort(), yamlFiles(dir), `${dir}: resources`)
    t.equal(k.namespace, 'canary-demo', `${dir}: the example namespace`)
  }
})

t.test('the example Rollout references existing templates and supplies every arg without a default', async (t) => {
  const rollout = example.find((m) => m.object.kind === 'Rollout')?.object
  const container = (rollout?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
  t.equal(container?.image, 'argoproj/rollouts-demo:blue', 'the old demo app')
  const steps = (rollout?.spec as { strategy: { canary: { steps: Record<string, unknown>[]; canaryService?: string; stableService?: string } } }).strategy.canary
  const services = example.filter((m) => m.object.kind === 'Service').map((m) => m.object.metadata.name)
  t.ok(steps.canaryService !== undefined && services.includes(steps.canaryService), 'canary Service exists')
  t.ok(steps.stableService !== undefined && services.includes(steps.stableService), 'stable Service exists')
  const analyses = steps.steps.flatMap((s) => (s.analysis === undefined ? [] : [s.analysis as { templates: { templateName: string; clusterScope?: boolean }[]; args: { name: string; valueFrom?: Record<string, unknown> }[] }]))
  t.ok(analyses.length >= 2, 'analysis steps')
  for (const a of analyses) {
    const given = new Map(a.args.map((x) => [x.name, x]))
    t.same(given.get('canary-hash')?.valueFrom, { podTemplateHashValue: 'Latest' }, 'canary hash from podTemplateHashValue: Latest')
    if (given.has('stable-hash')) t.same(given.get('stable-hash')?.valueFrom, { podTemplateHashValue: 'Stable' }, 'stable hash from Stable')
    for (const ref of a.templates) {
      const tpl = namespaced.find((m) => m.object.metadata.name === ref.templateName)
      t.ok(tpl, `template ${ref.templateName} exists`)
      for (const arg of tpl === undefined ? [] : args(tpl)) {
        if (arg.value === undefined) t.ok(given.has(arg.name), `${ref.templateName}: arg ${arg.name} supplied by the Rollout`)
      }
    }
  }
})

t.test('the templates are what scripts/generate-analysis-templates.mjs writes', async (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'generate-analysis-templates.mjs'), '--check'], { encoding: 'utf8' })
  t.equal(r.status, 0, `generator --check passes (run npm run templates)\n${r.stderr}`)
})

t.test('freshness: every Prometheus template gates every data selector and carries a data-fresh metric', async (t) => {
  const prometheusTemplates = namespaced.filter((m) => m.object.metadata.name !== 'pixie-canary-error-rate-web')
  t.ok(prometheusTemplates.length >= 6, 'six Prometheus templates or more')
  for (const m of prometheusTemplates) {
    const tpl = parseTemplate(readFileSync(join(TEMPLATES_DIR, m.file), 'utf8'), m.file)
    const judging = tpl.metrics.filter((x) => !x.name.endsWith('-data-fresh'))
    const fresh = tpl.metrics.filter((x) => x.name.endsWith('-data-fresh'))
    t.equal(fresh.length, 1, `${m.file}: one data-fresh metric`)
    for (const x of tpl.metrics) t.equal(x.provider.prometheus?.address, '{{args.prometheus-address}}', `${m.file} ${x.name}: address from the arg (empty → Argo's default)`)
    for (const x of judging) {
      const q = x.provider.prometheus?.query ?? ''
      const selectors = q.match(/pixie_http_[a-z_]+\{[^}]*\}(\[[^\]]+\])?\)?/g) ?? []
      const gates = q.match(/ and on \(instance\) \(time\(\) - pixie_exporter_collector_last_success_timestamp_seconds\{collector="http"\} <= \{\{args\.max-data-age\}\}\)/g) ?? []
      t.ok(selectors.length > 0, `${m.file} ${x.name}: reads pixie_http_* series`)
      t.equal(gates.length, selectors.length, `${m.file} ${x.name}: each of the ${selectors.length} selectors is gated on its replica's last success`)
    }
    const f = fresh[0]
    t.equal(f?.initialDelay, '{{args.coverage-delay}}', `${m.file}: data-fresh runs coverage-delay later`)
    t.equal(f?.inconclusiveLimit, '0', `${m.file}: one stale data-fresh measurement makes the run Inconclusive`)
    t.equal(f?.failureCondition, 'false', `${m.file}: stale data pauses, never fails`)
  }
})

t.test('shipped limits: Argo accepts them, and the data-fresh check outlasts the judging metric by more than the data age', async (t) => {
  const all = namespaced.flatMap((m) => args(m))
  const value = (n: string) => all.find((a) => a.name === n)?.value ?? ''
  const count = Number(value('count'))
  const limit = Number(value('inconclusive-limit'))
  t.ok(count >= limit, `count ${count} >= inconclusive-limit ${limit} (Argo rejects the run otherwise)`)
  const delay = parseGoDuration(value('coverage-delay'))
  const interval = parseGoDuration(value('interval'))
  t.ok(delay > Number(value('max-data-age')) * 1000 + interval, `coverage-delay ${delay}ms > max-data-age + interval`)
  for (const m of namespaced) {
    const tpl = parseTemplate(readFileSync(join(TEMPLATES_DIR, m.file), 'utf8'), m.file)
    const values = resolveArgs(tpl, Object.fromEntries(Object.entries(ROLLOUT_ARGS).filter(([k]) => tpl.args.some((a) => a.name === k))))
    for (const x of tpl.metrics.map((y) => substituteMetric(y, values))) t.doesNotThrow(() => runSpecOf(x), `${m.file} ${x.name}: valid for Argo`)
  }
})

t.test('the example Rollout judges latency against stable', async (t) => {
  const text = JSON.stringify(example.find((m) => m.object.kind === 'Rollout')?.object)
  t.match(text, /"templateName":"pixie-canary-latency-vs-stable"/, 'uses pixie-canary-latency-vs-stable')
})
