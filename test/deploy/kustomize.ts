import t from 'tap'
import { join } from 'node:path'
import { kustomizeBuild, objectId, type K8sObject } from '../fixtures/kustomize.js'

const deployment = () => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: app:1
          env:
            - {name: A, value: "1"}
          volumeMounts:
            - {name: data, mountPath: /data}
      volumes:
        - name: data
          emptyDir: {}
`

const byId = (objects: readonly K8sObject[]) => new Map(objects.map((o) => [objectId(o), o]))

t.test('resources: files with several documents and nested kustomization directories', async (t) => {
  const dir = t.testdir({
    base: {
      'kustomization.yaml': 'resources: [deployment.yaml, more.yaml]\n',
      'deployment.yaml': deployment(),
      'more.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n',
    },
    overlay: { 'kustomization.yaml': 'resources: [../base, extra.yaml]\n', 'extra.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n' },
  })
  const { objects, files } = kustomizeBuild(join(dir, 'overlay'))
  t.strictSame(
    objects.map((o) => `${o.kind}/${o.metadata.name}`),
    ['Deployment/app', 'ConfigMap/a', 'ConfigMap/b', 'Service/s'],
    'every object of the base and the overlay, in order',
  )
  t.ok(files.some((f) => f.endsWith(join('base', 'more.yaml'))), 'the files read are reported')
})

t.test('a missing resource is an error naming it', async (t) => {
  const dir = t.testdir({ 'kustomization.yaml': 'resources: [gone.yaml]\n' })
  t.throws(() => kustomizeBuild(dir), /resource gone\.yaml does not exist/, 'missing file reported')
  const dir2 = t.testdir({ 'kustomization.yaml': 'resources: [../nowhere]\n' })
  t.throws(() => kustomizeBuild(dir2), /resource \.\.\/nowhere does not exist/, 'missing directory reported')
})

t.test('a directory without a kustomization is an error', async (t) => {
  const dir = t.testdir({ 'kustomization.yaml': 'resources: [sub]\n', sub: { 'x.yaml': '' } })
  t.throws(() => kustomizeBuild(dir), /no kustomization\.yaml/, 'reported')
})

t.test('unsupported fields are refused instead of ignored', async (t) => {
  for (const field of ['commonLabels: {a: b}', 'configMapGenerator: []', 'images: []', 'patchesStrategicMerge: []']) {
    const dir = t.testdir({ 'kustomization.yaml': `${field}\n` })
    t.throws(() => kustomizeBuild(dir), /is not supported/, `${field.split(':')[0]} refused`)
  }
  const dir = t.testdir({ 'kustomization.yaml': 'labels: [{pairs: {a: b}, includeSelectors: true}]\n' })
  t.throws(() => kustomizeBuild(dir), /includeSelectors/, 'labels with includeSelectors refused')
})

t.test('duplicate objects are an error', async (t) => {
  const dir = t.testdir({ 'kustomization.yaml': 'resources: [a.yaml, b.yaml]\n', 'a.yaml': deployment(), 'b.yaml': deployment() })
  t.throws(() => kustomizeBuild(dir), /duplicate object apps\/Deployment\/\/app/, 'reported')
})

t.test('namespace sets every namespaced object and renames the Namespace', async (t) => {
  const dir = t.testdir({
    'kustomization.yaml': 'namespace: target\nresources: [all.yaml]\n',
    'all.yaml':
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: elsewhere}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n',
  })
  const objects = byId(kustomizeBuild(dir).objects)
  t.ok(objects.has('/Namespace//target'), 'the Namespace is renamed')
  t.ok(objects.has('/ConfigMap/target/c'), 'a namespaced object is moved')
  t.ok(objects.has('rbac.authorization.k8s.io/ClusterRole//r'), 'a cluster-scoped object gets no namespace')
})

t.test('labels add metadata labels only', async (t) => {
  const dir = t.testdir({ 'kustomization.yaml': 'labels: [{pairs: {team: x}}]\nresources: [d.yaml]\n', 'd.yaml': deployment() })
  const [d] = kustomizeBuild(dir).objects
  t.strictSame(d?.metadata.labels, { team: 'x' }, 'metadata label added')
  t.strictSame((d?.spec as { selector: unknown }).selector, { matchLabels: { app: 'app' } }, 'selector untouched')
})

t.test('replicas sets the count of the named workload, and must match one', async (t) => {
  const dir = t.testdir({ 'kustomization.yaml': 'replicas: [{name: app, count: 3}]\nresources: [d.yaml]\n', 'd.yaml': deployment() })
  t.equal((kustomizeBuild(dir).objects[0]?.spec as { replicas: number }).replicas, 3, 'replicas set')
  const bad = t.testdir({ 'kustomization.yaml': 'replicas: [{name: nope, count: 3}]\nresources: [d.yaml]\n', 'd.yaml': deployment() })
  t.throws(() => kustomizeBuild(bad), /no workload named nope/, 'unknown name reported')
})

t.test('strategic merge patches merge maps and keyed lists, new items first', async (t) => {
  const patch = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
        - name: app
          env:
            - {name: B, value: "2"}
            - {name: A, value: "one"}
          volumeMounts:
            - {name: extra, mountPath: /extra}
      volumes:
        - {name: extra, emptyDir: {}}
      nodeSelector: {disk: ssd}
`
  const dir = t.testdir({ 'kustomization.yaml': 'resources: [d.yaml]\npatches: [{path: p.yaml}]\n', 'd.yaml': deployment(), 'p.yaml': patch })
  const spec = (kustomizeBuild(dir).objects[0]?.spec as { template: { spec: Record<string, unknown> } }).template.spec
  const c = (spec.containers as Record<string, unknown>[])[0]
  t.strictSame(c?.env, [{ name: 'B', value: '2' }, { name: 'A', value: 'one' }], 'env merged by name: new item first, existing item updated')
  t.strictSame((c?.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath), ['/extra', '/data'], 'mounts merged by mountPath')
  t.equal(c?.image, 'app:1', 'untouched fields kept')
  t.strictSame(spec.nodeSelector, { disk: 'ssd' }, 'new map added')
})

t.test('a patch matching nothing, or merging an unkeyed list, is an error', async (t) => {
  const missing = t.testdir({
    'kustomization.yaml': 'resources: [d.yaml]\npatches: [{path: p.yaml}]\n',
    'd.yaml': deployment(),
    'p.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other}\nspec: {replicas: 2}\n',
  })
  t.throws(() => kustomizeBuild(missing), /matches 0 objects/, 'no target reported')
  const unkeyed = t.testdir({
    'kustomization.yaml': 'resources: [d.yaml]\npatches: [{path: p.yaml}]\n',
    'd.yaml': deployment(),
    'p.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec: {template: {spec: {containers: [{name: app, args: [a]}]}}}\n',
  })
  t.doesNotThrow(() => kustomizeBuild(unkeyed), 'adding a list that did not exist is fine')
  const merge = t.testdir({
    'kustomization.yaml': 'resources: [d.yaml]\npatches: [{path: p.yaml}, {path: q.yaml}]\n',
    'd.yaml': deployment(),
    'p.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec: {template: {spec: {containers: [{name: app, args: [a]}]}}}\n',
    'q.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec: {template: {spec: {containers: [{name: app, args: [b]}]}}}\n',
  })
  t.throws(() => kustomizeBuild(merge), /args: merging into an existing list/, 'merging an unkeyed list reported')
})

t.test('components add their resources to what the including kustomization has', async (t) => {
  const dir = t.testdir({
    comp: {
      'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [cm.yaml]\n',
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-component}\n',
    },
    main: { 'kustomization.yaml': 'namespace: ns\nresources: [d.yaml]\ncomponents: [../comp]\n', 'd.yaml': deployment() },
    wrong: { 'kustomization.yaml': 'resources: [../comp]\n' },
  })
  const objects = byId(kustomizeBuild(join(dir, 'main')).objects)
  t.ok(objects.has('/ConfigMap/ns/from-component'), 'the component object is added, and the namespace applies to it')
  t.throws(() => kustomizeBuild(join(dir, 'wrong')), /kind Component, expected Kustomization/, 'a component listed as a resource is refused')
})

