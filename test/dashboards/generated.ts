/**
 * The committed grafana/ and deploy/rules/ files are exactly what
 * src/dashboards/ generates, and they are well-formed for Grafana, the
 * dashboard sidecar and the prometheus-operator.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, parseDocument } from 'yaml'
import type { Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard'
import { dashboards, generatedFiles, PROVISIONED_DASHBOARDS_PATH } from '../../src/dashboards/index.js'
import { validateObject } from '../fixtures/k8s-validate.js'
import type { K8sObject } from '../fixtures/kustomize.js'
import { panelsOf, targetsOf } from '../fixtures/dashboards-grafana.js'

const ROOT = join(import.meta.dirname, '..', '..')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

/** Panel types our dashboards may use (Grafana core panels). */
const PANEL_TYPES = new Set(['timeseries', 'stat', 'table', 'row'])
/** Variables Grafana defines itself. */
const BUILTIN_VARIABLES = new Set(['__rate_interval', '__interval', '__range', '__range_s', '__from', '__to'])

t.test('the committed files are what src/dashboards generates (run npm run dashboards)', async (t) => {
  const files = generatedFiles()
  t.same(files.map((f) => f.path).sort(), [
    'deploy/rules/pixie-exporter.rules.yaml',
    'deploy/rules/prometheusrule.yaml',
    'grafana/configmap.yaml',
    'grafana/dashboards/pixie-canary-analysis.json',
    'grafana/dashboards/pixie-exporter-health.json',
    'grafana/provisioning/dashboards.yaml',
  ], 'the generated file set')
  for (const { path, content } of files) t.equal(read(path), content, `${path} is up to date`)
})

for (const [file, dashboard] of Object.entries(dashboards())) {
  t.test(`${file} has the shape Grafana's dashboard schema requires`, async (t) => {
    t.type(dashboard.schemaVersion, 'number', 'schemaVersion')
    t.match(dashboard.uid, /^[a-z0-9-]{1,40}$/, 'a stable uid of at most 40 characters')
    t.ok(dashboard.title !== undefined && dashboard.title !== '', 'a title')
    t.equal(dashboard.id, undefined, 'no numeric id (Grafana assigns it on import)')
    t.ok(Array.isArray(dashboard.templating.list), 'templating.list')
    t.type(dashboard.annotations, 'object', 'annotations (Grafana adds its built-in one on load)')
    const panels = panelsOf(dashboard)
    const all: Panel[] = [...(dashboard.panels ?? []).filter((p) => p.type === 'row'), ...panels] as Panel[]
    const ids = all.map((p) => p.id)
    t.ok(ids.every((id) => typeof id === 'number'), 'every panel has an id')
    t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
    for (const p of all) {
      t.ok(PANEL_TYPES.has(p.type), `${p.title}: known panel type ${p.type}`)
      const g = p.gridPos
      t.ok(g !== undefined && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${p.title}: gridPos inside the 24-column grid`)
    }
    const cells = new Set<string>()
    let overlap = 0
    for (const p of all) {
      const g = p.gridPos
      if (g === undefined) continue
      for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
        const cell = `${x},${y}`
        if (cells.has(cell)) overlap++
        cells.add(cell)
      }
    }
    t.equal(overlap, 0, 'no two panels overlap')
    for (const p of panels) {
      t.ok(p.description !== undefined && p.description !== '', `${p.title}: has a description`)
      t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: reads the datasource variable`)
      const refIds = (p.targets ?? []).map((q) => (q as { refId?: string }).refId)
      t.equal(new Set(refIds).size, refIds.length, `${p.title}: unique refIds`)
      t.ok(refIds.length > 0, `${p.title}: has queries`)
    }
    const defined = new Set((dashboard.templating.list ?? []).map((v) => v.name))
    const exprs = [...targetsOf(dashboard).map((q) => q.expr), ...(dashboard.templating.list ?? []).map((v) => String(v.query ?? '')), ...(dashboard.templating.list ?? []).map((v) => v.regex ?? '')]
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\$\{?(\w+)/g)].map((m) => m[1] ?? '')).filter((n) => !/^\d+$/.test(n)))
    const undefinedVariables = [...used].filter((n) => !defined.has(n) && !BUILTIN_VARIABLES.has(n))
    t.same(undefinedVariables, [], 'every $variable used is defined')
  })
}

t.test('both dashboards open with their key rows expanded, the panels of an open row following it', async (t) => {
  const expanded: Record<string, readonly string[]> = {
    'pixie-canary-analysis.json': ['Canary vs stable: window gauges (what the analysis templates read)', 'Canary vs stable: counters and histogram (rate over $__rate_interval)'],
    'pixie-exporter-health.json': ['Collectors', 'Series and scrapes'],
  }
  for (const [file, dashboard] of Object.entries(dashboards())) {
    const top = dashboard.panels ?? []
    const rows = top.filter((p) => p.type === 'row') as RowPanel[]
    const open = rows.filter((r) => r.collapsed === false).map((r) => r.title)
    t.strictSame(open, expanded[file], `${file}: the key rows are open`)
    t.ok(top[0]?.type === 'row' && (top[0] as RowPanel).collapsed === false, `${file}: the first row is open, so panels show without a click`)
    for (const row of rows) {
      if (row.collapsed === false) t.equal(row.panels.length, 0, `${file}: open row "${row.title}" nests no panels (Grafana's model)`)
      else t.ok(row.panels.length > 0, `${file}: folded row "${row.title}" keeps its panels inside`)
    }
    const firstPanel = top[1]
    t.ok(firstPanel !== undefined && firstPanel.type !== 'row', `${file}: a panel follows the first row`)
  }
})

t.test('the ConfigMap carries both dashboards for the Grafana sidecar', async (t) => {
  const configMap = parse(read('grafana/configmap.yaml')) as K8sObject & { data: Record<string, string> }
  t.doesNotThrow(() => validateObject(configMap), 'a valid ConfigMap')
  t.equal(configMap.metadata.labels?.grafana_dashboard, '1', 'the sidecar label')
  for (const name of ['pixie-canary-analysis.json', 'pixie-exporter-health.json']) {
    t.equal(configMap.data[name], read(`grafana/dashboards/${name}`), `${name} is the committed dashboard`)
  }
  t.ok(Buffer.byteLength(read('grafana/configmap.yaml')) < 256 * 1024, 'small enough for kubectl apply (last-applied annotation limit)')
})

t.test('the provisioning file is a Grafana file provider', async (t) => {
  const doc = parse(read('grafana/provisioning/dashboards.yaml')) as { apiVersion: number; providers: { type: string; options: { path: string } }[] }
  t.equal(doc.apiVersion, 1, 'apiVersion 1')
  t.equal(doc.providers.length, 1, 'one provider')
  t.equal(doc.providers[0]?.type, 'file', 'a file provider')
  t.equal(doc.providers[0]?.options.path, PROVISIONED_DASHBOARDS_PATH, 'reads the documented directory')
})

t.test('the PrometheusRule has exactly the plain rule file\'s groups', async (t) => {
  const rule = parse(read('deploy/rules/prometheusrule.yaml')) as K8sObject & { spec: { groups: unknown } }
  t.doesNotThrow(() => validateObject(rule), 'a valid PrometheusRule (prometheus-operator schema)')
  t.equal(rule.metadata.namespace, undefined, 'no namespace: it goes where it is applied')
  const plain = parse(read('deploy/rules/pixie-exporter.rules.yaml')) as { groups: unknown }
  t.same(rule.spec.groups, plain.groups, 'the same groups, rules and annotations')
  t.notOk(parseDocument(read('deploy/rules/pixie-exporter.rules.yaml')).errors.length, 'the plain file parses without errors')
})
