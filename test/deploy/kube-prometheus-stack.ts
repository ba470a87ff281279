/**
 * kube-prometheus-stack's Prometheus selects ServiceMonitors, PodMonitors and
 * PrometheusRules by `release: <helm release>`: the component and overlay
 * named after it set that label, and the override that docs/deploy.md and
 * the component's comment show changes it. Built with the test resolver and,
 * as a cross-check, with the real `kubectl kustomize`.
 */
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { DEPLOY_DIR, REPO_ROOT, buildDeploy } from '../fixtures/deploy.js'
import { kustomizeBuild, type K8sObject } from '../fixtures/kustomize.js'
import { findTool } from '../fixtures/tools.js'

const COMPONENT = join(DEPLOY_DIR, 'components', 'kube-prometheus-stack', 'kustomization.yaml')
const MONITORING = 'monitoring.coreos.com/'

/** The override shown in the component's comment, uncommented. */
function documentedOverride(): string {
  const text = readFileSync(COMPONENT, 'utf8')
  const start = text.indexOf('#   patches:')
  const lines = text.slice(start).split('\n')
  const block = lines.slice(0, lines.findIndex((l, i) => i > 0 && !l.startsWith('#   ') && l !== '#'))
  return block.map((l) => l.replace(/^# {3}/, '')).join('\n')
}

const releaseLabels = (objects: readonly K8sObject[]) =>
  Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.labels?.release]))

/** A copy of deploy/ plus an overlay `mine` with `kustomization`, for either builder. */
function workspace(t: Test, kustomization: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-kps-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(DEPLOY_DIR, join(dir, 'deploy'), { recursive: true })
  mkdirSync(join(dir, 'mine'))
  writeFileSync(join(dir, 'mine', 'kustomization.yaml'), kustomization)
  return join(dir, 'mine')
}

t.test('the kube-prometheus-stack overlay labels the ServiceMonitor and the PrometheusRule release=kube-prometheus-stack', async (t) => {
  const objects = buildDeploy('overlays/kube-prometheus-stack')
  const monitoring = objects.filter((o) => o.apiVersion.startsWith(MONITORING))
  t.strictSame(
    releaseLabels(monitoring),
    { 'ServiceMonitor/pixie-exporter': 'kube-prometheus-stack', 'PrometheusRule/pixie-exporter': 'kube-prometheus-stack' },
    'both prometheus-operator objects carry the label',
  )
  t.ok(
    objects.filter((o) => !o.apiVersion.startsWith(MONITORING)).every((o) => o.metadata.labels?.release === undefined),
    'no other object is labelled',
  )
  t.ok(monitoring.every((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'pixie-exporter'), 'the existing labels are kept')
})

t.test('with components/podmonitor the PodMonitor is labelled instead', async (t) => {
  const dir = workspace(
    t,
    ['resources: [../deploy/base]', 'components:', '  - ../deploy/components/podmonitor', '  - ../deploy/components/kube-prometheus-stack', ''].join('\n'),
  )
  t.strictSame(releaseLabels(kustomizeBuild(dir).objects.filter((o) => o.apiVersion.startsWith(MONITORING))), { 'PodMonitor/pixie-exporter': 'kube-prometheus-stack' }, 'PodMonitor labelled')
})

const OVERRIDE = () => ['resources: [../deploy/overlays/kube-prometheus-stack]', documentedOverride(), ''].join('\n')

t.test('the documented override sets another release name', async (t) => {
  t.match(documentedOverride(), /^patches:\n {2}- target: \{group: monitoring\.coreos\.com\}/, 'the comment holds a patches block')
  const objects = kustomizeBuild(workspace(t, OVERRIDE())).objects.filter((o) => o.apiVersion.startsWith(MONITORING))
  t.strictSame(releaseLabels(objects), { 'ServiceMonitor/pixie-exporter': 'my-release', 'PrometheusRule/pixie-exporter': 'my-release' }, 'release=my-release on both')
})

t.test('kubectl kustomize builds the same labels', async (t) => {
  const kubectl = findTool('kubectl')
  if (kubectl instanceof Error) return t.fail(`${kubectl.message}: this cross-check needs kubectl (its embedded kustomize)`)
  for (const [what, kustomization, want] of [
    ['overlay', 'resources: [../deploy/overlays/kube-prometheus-stack]\n', 'kube-prometheus-stack'],
    ['override', OVERRIDE(), 'my-release'],
  ] as const) {
    const dir = workspace(t, kustomization)
    const r = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 })
    t.equal(r.status, 0, `${what}: kubectl kustomize exits 0\n${r.stderr}`)
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject)
    const got = releaseLabels(objects.filter((o) => o.apiVersion.startsWith(MONITORING)))
    t.strictSame(got, { 'PrometheusRule/pixie-exporter': want, 'ServiceMonitor/pixie-exporter': want }, `${what}: release=${want} on both`)
  }
})
