import t, { type Test } from 'tap'
import { join } from 'node:path'
import { kustomizationFile, kustomizeBuild, readObjects, type K8sObject } from '../fixtures/kustomize.js'
import { validateObject } from '../fixtures/k8s-validate.js'
import { COMPONENTS, DEPLOY_DIR, KUSTOMIZATIONS, UNREFERENCED, buildDeploy, yamlFilesUnder } from '../fixtures/deploy.js'

/** Kustomizations whose build does not depend on directories outside deploy/. */
const SELF_CONTAINED = KUSTOMIZATIONS.filter((k) => k !== 'overlays/canary-demo')

/** A throwaway kustomization: the base plus one component of deploy/. */
function componentOnBase(t: Test, component: string): string {
  return t.testdir({
    'kustomization.yaml': `resources: [${join(DEPLOY_DIR, 'base')}]\ncomponents: [${join(DEPLOY_DIR, component)}]\n`,
  })
}

t.test('validation rejects broken manifests (it is not a no-op)', async (t) => {
  const [good] = buildDeploy('base').filter((o) => o.kind === 'Deployment')
  if (good === undefined) throw new Error('the base has no Deployment')
  t.doesNotThrow(() => validateObject(good), 'the base Deployment passes')

  const badPort = structuredClone(good)
  ;(badPort.spec as { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } }).template.spec.containers[0]!.ports[0]!.containerPort = 'metrics'
  t.throws(() => validateObject(badPort), /containerPort must be integer/, 'a string containerPort is rejected')

  const noName = structuredClone(good)
  delete (noName.spec as { template: { spec: { containers: { name?: string }[] } } }).template.spec.containers[0]!.name
  t.throws(() => validateObject(noName), /must have required property 'name'|required property name/, 'a container without a name is rejected')

  const monitor: K8sObject = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'x' },
    spec: { selector: {}, endpoints: [{ port: 'metrics', honorLabels: 'true' }] },
  }
  t.throws(() => validateObject(monitor), /honorLabels must be boolean/, 'the prometheus-operator schema is applied')

  t.throws(
    () => validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
    /no schema known/,
    'an unknown kind never passes',
  )
})

t.test('every manifest file in deploy/ parses and validates', async (t) => {
  // Patches are partial objects, and the plain rule file is for Prometheus, not Kubernetes.
  const patches = new Set([
    'overlays/ha/deployment-spread.yaml',
    'overlays/self-hosted/deployment-self-hosted.yaml',
    'components/basic-auth/deployment-web-config.yaml',
    'rules/pixie-exporter.rules.yaml',
  ])
  for (const file of yamlFilesUnder(DEPLOY_DIR)) {
    if (/(^|\/)kustomization\.ya?ml$/.test(file)) continue
    // Patches are partial objects; they are validated as part of the built overlay.
    if (patches.has(file)) continue
    const objects = readObjects(join(DEPLOY_DIR, file), [])
    t.ok(objects.length > 0, `${file}: holds at least one object`)
    for (const o of objects) t.doesNotThrow(() => validateObject(o), `${file}: ${o.kind} ${o.metadata.name} validates`)
  }
})

t.test('every kustomization in deploy/ is tested, and every file is used', async (t) => {
  const found = yamlFilesUnder(DEPLOY_DIR)
    .filter((f) => /(^|\/)kustomization\.ya?ml$/.test(f))
    .map((f) => f.replace(/\/?kustomization\.ya?ml$/, ''))
    .sort()
  t.strictSame(found, [...KUSTOMIZATIONS, ...COMPONENTS].sort(), 'the tests know every kustomization and component')

  // Files read when building every kustomization, and every component on the base.
  const used = new Set<string>()
  for (const path of SELF_CONTAINED) for (const f of kustomizeBuild(join(DEPLOY_DIR, path)).files) used.add(f)
  for (const component of COMPONENTS) for (const f of kustomizeBuild(componentOnBase(t, component)).files) used.add(f)
  const canaryFile = kustomizationFile(join(DEPLOY_DIR, 'overlays/canary-demo'))
  if (canaryFile !== undefined) used.add(canaryFile)
  for (const file of yamlFilesUnder(DEPLOY_DIR)) {
    if ((UNREFERENCED as readonly string[]).includes(file)) {
      t.notOk(used.has(join(DEPLOY_DIR, file)), `${file} is deliberately not listed by any kustomization`)
      continue
    }
    t.ok(used.has(join(DEPLOY_DIR, file)), `${file} is used by a kustomization`)
  }
})

t.test('every kustomization builds and its output validates', async (t) => {
  for (const path of SELF_CONTAINED) {
    const objects = buildDeploy(path)
    t.ok(objects.length > 0, `${path}: builds`)
    for (const o of objects) t.doesNotThrow(() => validateObject(o), `${path}: ${o.kind} ${o.metadata.name} validates`)
  }
})

t.test('each component builds on the base and validates', async (t) => {
  // components/kube-prometheus-stack adds nothing: it labels what the others add (test/deploy/kube-prometheus-stack.ts).
  for (const component of COMPONENTS.filter((c) => c !== 'components/kube-prometheus-stack')) {
    // It patches the Deployment and adds no object: see test/deploy/basic-auth.ts.
    if (component === 'components/basic-auth') {
      for (const o of kustomizeBuild(componentOnBase(t, component)).objects) t.doesNotThrow(() => validateObject(o), `${component}: ${o.kind} ${o.metadata.name} validates`)
      continue
    }
    const objects = kustomizeBuild(componentOnBase(t, component)).objects
    const added = objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))
    t.equal(added.length, 1, `${component}: adds one prometheus-operator object`)
    for (const o of added) {
      t.equal(o.metadata.namespace, undefined, `${component}: left in the namespace it is applied to (namespace of the including kustomization)`)
      t.doesNotThrow(() => validateObject(o), `${component}: ${o.kind} validates`)
    }
  }
})

t.test('the base carries no Secret value and every object lands in the pixie-exporter namespace', async (t) => {
  const objects = buildDeploy('base')
  t.notOk(objects.some((o) => o.kind === 'Secret'), 'no Secret is part of the base')
  for (const o of objects) {
    if (o.kind === 'Namespace') t.equal(o.metadata.name, 'pixie-exporter', 'the Namespace is pixie-exporter')
    else t.equal(o.metadata.namespace, 'pixie-exporter', `${o.kind} ${o.metadata.name} is in pixie-exporter`)
    t.equal(o.metadata.labels?.['app.kubernetes.io/part-of'], 'pixie-exporter', `${o.kind} ${o.metadata.name} is labelled part-of`)
  }
})

t.test('every namespaced object of every build names its namespace', async (t) => {
  // Otherwise `kubectl apply -k` puts it in the current context's namespace,
  // where a ServiceMonitor would not find the Service.
  for (const path of SELF_CONTAINED) {
    for (const o of buildDeploy(path)) {
      if (o.kind === 'Namespace') continue
      t.equal(o.metadata.namespace, 'pixie-exporter', `${path}: ${o.kind} ${o.metadata.name} is in pixie-exporter`)
    }
  }
})
