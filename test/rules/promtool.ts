/**
 * The Prometheus rules pass `promtool check rules`, and the promtool unit
 * tests in test/rules/fixtures/ prove each alert fires when it should and
 * stays silent when it should not. Every alert links its runbook section.
 */
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { findTool, promtool } from '../fixtures/tools.js'
import { RUNBOOK_BASE_URL } from '../../src/dashboards/rules.js'

const ROOT = join(import.meta.dirname, '..', '..')
const RULES = join(ROOT, 'deploy', 'rules', 'pixie-exporter.rules.yaml')
const UNIT_TESTS = join(import.meta.dirname, 'fixtures', 'pixie-exporter.rules.test.yaml')

const found = findTool('promtool')
if (found instanceof Error) t.fail(found.message)

interface Rule {
  record?: string
  alert?: string
  annotations?: Record<string, string>
}
const groups = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups
const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined)

t.test('promtool check rules passes', async (t) => {
  const r = promtool(['check', 'rules', RULES])
  t.equal(r.status, 0, `promtool check rules\n${r.output}`)
  t.match(r.output, /SUCCESS: 8 rules found/, 'three recording rules and five alerts')
})

t.test('promtool test rules passes', async (t) => {
  const r = promtool(['test', 'rules', UNIT_TESTS])
  t.equal(r.status, 0, `promtool test rules\n${r.output}`)
})

t.test('the unit tests catch a broken rule (they are not a no-op)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-rules-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const broken = join(dir, 'deploy', 'rules')
  const tests = join(dir, 'test', 'rules', 'fixtures')
  for (const d of [broken, tests]) mkdirSync(d, { recursive: true })
  writeFileSync(join(tests, 'unit.yaml'), readFileSync(UNIT_TESTS, 'utf8'))
  const original = readFileSync(RULES, 'utf8')
  const mutations: [string, string, string][] = [
    ['error-ratio threshold', '> 0.05 and on', '> 0.9 and on'],
    ['stale threshold', '> 300', '> 3000'],
    ['no-rows guard', 'pixie_exporter_collector_up) == 1', 'pixie_exporter_collector_up) >= 0'],
    ['replica dedup', 'max without (instance) (rate(', '(rate('],
  ]
  for (const [what, from, to] of mutations) {
    t.ok(original.includes(from), `${what}: the rule file contains ${from}`)
    writeFileSync(join(broken, 'pixie-exporter.rules.yaml'), original.replaceAll(from, to))
    const r = promtool(['test', 'rules', join(tests, 'unit.yaml')])
    t.not(r.status, 0, `${what}: the unit tests fail on the mutated rules`)
  }
})

t.test('every alert is unit-tested both firing and silent', async (t) => {
  const unit = parse(readFileSync(UNIT_TESTS, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] }
  const cases = unit.tests.flatMap((c) => c.alert_rule_test ?? [])
  for (const { alert } of alerts) {
    t.ok(cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0), `${alert}: a case where it fires`)
    t.ok(cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0), `${alert}: a case where it stays silent`)
  }
})

t.test('every alert has a summary, a description and a runbook section in docs/alerts.md', async (t) => {
  const runbook = readFileSync(join(ROOT, 'docs', 'alerts.md'), 'utf8')
  // GitHub's anchor of a heading "## PixieExporterDown" is "#pixieexporterdown".
  const anchors = new Set([...runbook.matchAll(/^#{2,3} (\S+)\s*$/gm)].map((m) => (m[1] ?? '').toLowerCase()))
  t.equal(alerts.length, 5, 'five alerts')
  for (const { alert, annotations } of alerts) {
    t.ok((annotations?.summary ?? '') !== '', `${alert}: summary`)
    t.ok((annotations?.description ?? '') !== '', `${alert}: description`)
    const url = annotations?.runbook_url ?? ''
    t.equal(url, `${RUNBOOK_BASE_URL}#${(alert ?? '').toLowerCase()}`, `${alert}: runbook_url points to its section`)
    t.ok(anchors.has((alert ?? '').toLowerCase()), `${alert}: docs/alerts.md has a "## ${alert}" section`)
  }
})
