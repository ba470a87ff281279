import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load.js'
import { memoryReadFile } from '../fixtures/config/helpers.js'
import { kustomizationFile, objectId } from '../fixtures/kustomize.js'
import { validateObject } from '../fixtures/k8s-validate.js'
import {
  DEPLOY_DIR,
  FAKE_SECRET,
  SECRET_NAME,
  buildDeploy,
  configMapData,
  container,
  containerEnv,
  mountedFiles,
  only,
  podTemplate,
  selects,
} from '../fixtures/deploy.js'

const baseIds = buildDeploy('base').map(objectId).sort()

t.test('prometheus-operator adds a ServiceMonitor and the PrometheusRule to the base, and nothing else', async (t) => {
  const objects = buildDeploy('overlays/prometheus-operator')
  const added = objects.filter((o) => !baseIds.includes(objectId(o)))
  t.strictSame(added.map((o) => o.kind).sort(), ['PrometheusRule', 'ServiceMonitor'], 'only a ServiceMonitor and the rules are added')
  t.ok(added.every((o) => o.metadata.namespace === 'pixie-exporter'), 'both in the exporter namespace')
  t.notOk(objects.some((o) => o.kind === 'PodMonitor'), 'no PodMonitor as well (it would scrape twice)')
})

t.test('ha runs two replicas spread over nodes, with a PodDisruptionBudget', async (t) => {
  const objects = buildDeploy('overlays/ha')
  const deployment = only(objects, 'Deployment', 'pixie-exporter')
  const pod = podTemplate(deployment)
  t.equal((deployment.spec as { replicas: number }).replicas, 2, 'two replicas')
  const pdb = only(objects, 'PodDisruptionBudget', 'pixie-exporter')
  const spec = pdb.spec as { minAvailable: number; selector: { matchLabels: Record<string, string> }; unhealthyPodEvictionPolicy?: string }
  t.equal(spec.minAvailable, 1, 'minAvailable 1')
  t.ok(selects(spec.selector.matchLabels, pod.metadata.labels), 'the PDB selects the exporter pods')
  t.equal(spec.unhealthyPodEvictionPolicy, 'AlwaysAllow', 'unready replicas (Pixie down) do not block node drains')
  const spread = pod.spec.topologySpreadConstraints ?? []
  t.equal(spread[0]?.topologyKey, 'kubernetes.io/hostname', 'replicas are spread over nodes')
  t.ok(selects(spread[0]?.labelSelector?.matchLabels, pod.metadata.labels), 'the spread counts the exporter pods')
  t.notOk(buildDeploy('base').some((o) => o.kind === 'PodDisruptionBudget'), 'the single-replica base has no PDB (it would block every drain)')
})

t.test('self-hosted points at another Pixie Cloud and trusts its CA', async (t) => {
  const objects = buildDeploy('overlays/self-hosted')
  const deployment = only(objects, 'Deployment', 'pixie-exporter')
  const pod = podTemplate(deployment)
  const exporter = container(deployment)
  const env = containerEnv(exporter, { [SECRET_NAME]: FAKE_SECRET })
  t.ok(env.PX_CLOUD_ADDR, 'PX_CLOUD_ADDR is set')
  t.equal(env.PX_API_KEY, FAKE_SECRET['px-api-key'], 'the base\'s Secret reference is kept by the patch')

  const caVolume = pod.spec.volumes?.find((v) => v.configMap?.name === 'pixie-cloud-ca')
  t.ok(caVolume, 'a volume from the pixie-cloud-ca ConfigMap')
  t.ok(exporter.volumeMounts?.some((m) => m.name === 'config'), 'the configuration is still mounted')

  // The CA ConfigMap is created by the user; give it a real certificate.
  const ca = readFileSync(new URL('../fixtures/tls/ca.pem', import.meta.url), 'utf8')
  const files = mountedFiles(pod.spec, exporter, { ...configMapData(objects), 'pixie-cloud-ca': { 'ca.crt': ca } })
  const { config } = loadConfig({ argv: [...(exporter.args ?? []), '--check-config'], env, readFile: memoryReadFile(files) })
  t.equal(config.pixie.address, env.PX_CLOUD_ADDR, 'the exporter uses PX_CLOUD_ADDR')
  t.equal(config.pixie.caFile, env.PIXIE_EXPORTER_CA_FILE, 'and the mounted CA file')
  t.equal(files[config.pixie.caFile ?? ''], ca, 'the CA file is the ConfigMap key ca.crt')
  t.equal(config.pixie.tls, 'verify', 'TLS is verified against that CA')
})

t.test('the canary demo includes the example rollout and the analysis templates', async (t) => {
  const overlay = join(DEPLOY_DIR, 'overlays/canary-demo')
  const file = kustomizationFile(overlay)
  t.ok(file, 'deploy/overlays/canary-demo has a kustomization')
  for (const dir of ['examples/canary-rollout', 'analysis-templates']) {
    const path = join(overlay, '../../..', dir)
    t.ok(existsSync(path), `${dir}/ exists (referenced by deploy/overlays/canary-demo)`)
    t.ok(kustomizationFile(path), `${dir}/ has a kustomization.yaml`)
  }
  let objects: ReturnType<typeof buildDeploy>
  try {
    objects = buildDeploy('overlays/canary-demo')
  } catch (err) {
    t.fail(`deploy/overlays/canary-demo does not build: ${err instanceof Error ? err.message : String(err)}`)
    return
  }
  for (const o of objects) t.doesNotThrow(() => validateObject(o), `${o.kind} ${o.metadata.name} validates`)
  t.ok(baseIds.every((id) => objects.some((o) => objectId(o) === id)), 'the whole base is included')
  t.ok(objects.some((o) => o.kind === 'Rollout'), 'an Argo Rollout is included')
  t.ok(objects.some((o) => o.kind === 'AnalysisTemplate' || o.kind === 'ClusterAnalysisTemplate'), 'analysis templates are included')
  t.equal(only(objects, 'Deployment', 'pixie-exporter').metadata.namespace, 'pixie-exporter', 'the exporter stays in its namespace')
  for (const o of objects) {
    if (o.kind === 'Namespace' || o.kind === 'ClusterAnalysisTemplate') continue
    t.ok(o.metadata.namespace, `${o.kind} ${o.metadata.name} names its namespace`)
  }
})
