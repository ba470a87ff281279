import t from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { loadConfig } from '../../src/config/load.js'
import { memoryReadFile } from '../fixtures/config/helpers.js'
import { kustomizeBuild } from '../fixtures/kustomize.js'
import {
  DEPLOY_DIR,
  FAKE_SECRET,
  SECRET_KEYS,
  SECRET_NAME,
  buildDeploy,
  configMapData,
  container,
  containerEnv,
  mountedFiles,
  only,
  podTemplate,
  selects,
  type SecurityContext,
} from '../fixtures/deploy.js'

const base = buildDeploy('base')
const deployment = only(base, 'Deployment', 'pixie-exporter')
const pod = podTemplate(deployment)
const exporter = container(deployment)
const service = only(base, 'Service', 'pixie-exporter')

/** The container's effective security settings: its own, falling back to the pod's. */
function effective<K extends keyof SecurityContext>(key: K): SecurityContext[K] | undefined {
  return exporter.securityContext?.[key] ?? pod.spec.securityContext?.[key]
}

/** The configuration file the container is started with, parsed. */
function configFile(): { path: string; text: string } {
  const args = exporter.args ?? []
  const index = args.indexOf('--config')
  const path = args[index + 1]
  if (index === -1 || path === undefined) throw new Error('the container is not given --config FILE')
  const text = mountedFiles(pod.spec, exporter, configMapData(base))[path]
  if (text === undefined) throw new Error(`--config ${path} is not a file mounted from a ConfigMap`)
  return { path, text }
}

t.test('the container runs as a non-root numeric user', async (t) => {
  t.equal(effective('runAsNonRoot'), true, 'runAsNonRoot')
  const uid = effective('runAsUser')
  const gid = effective('runAsGroup')
  t.ok(Number.isInteger(uid) && (uid as number) > 0, `runAsUser is a numeric non-root uid (got ${uid})`)
  t.ok(Number.isInteger(gid) && (gid as number) > 0, `runAsGroup is a numeric non-root gid (got ${gid})`)
  t.equal(uid, 10001, 'runAsUser is the image user 10001')
})

t.test('the root filesystem is read-only and privileges cannot grow', async (t) => {
  t.equal(effective('readOnlyRootFilesystem'), true, 'readOnlyRootFilesystem')
  t.equal(effective('allowPrivilegeEscalation'), false, 'allowPrivilegeEscalation false')
  t.not(effective('privileged'), true, 'not privileged')
  t.strictSame(effective('capabilities')?.drop, ['ALL'], 'every capability dropped')
  t.equal(effective('capabilities')?.add, undefined, 'no capability added')
  t.equal(effective('seccompProfile')?.type, 'RuntimeDefault', 'seccomp RuntimeDefault')
})

t.test('the pod gets no Kubernetes API token', async (t) => {
  const account = only(base, 'ServiceAccount', pod.spec.serviceAccountName)
  t.equal(account.automountServiceAccountToken, false, 'the ServiceAccount does not mount a token')
  t.equal(pod.spec.automountServiceAccountToken, false, 'the pod does not mount a token either')
})

t.test('probes hit the routes the exporter serves, on the named metrics port', async (t) => {
  t.strictSame(exporter.livenessProbe?.httpGet, { path: '/-/healthy', port: 'metrics' }, 'liveness on /-/healthy')
  t.strictSame(exporter.readinessProbe?.httpGet, { path: '/-/ready', port: 'metrics' }, 'readiness on /-/ready')
  // Ask the real app, so a renamed route fails here.
  const app = await buildApp({
    registry: new Registry(),
    jobs: [],
    logger: pino({ level: 'silent' }),
    landing: { version: '0.0.0', pixieAddress: 'pixie.invalid:443', clusterId: FAKE_SECRET[SECRET_KEYS.clusterId] ?? '', simulated: false },
    now: () => 0,
  })
  t.teardown(() => app.close())
  const paths = [exporter.livenessProbe?.httpGet?.path, exporter.readinessProbe?.httpGet?.path, (pod.metadata.annotations ?? {})['prometheus.io/path']]
  for (const path of paths) {
    const res = await app.inject({ method: 'GET', url: path ?? '' })
    t.equal(res.statusCode, 200, `the exporter serves ${path}`)
  }
  t.equal((await app.inject({ method: 'GET', url: '/-/nope' })).statusCode, 404, 'an unknown path is a 404 (the check can fail)')
})

t.test('the container port, the Service and the configured listen address agree', async (t) => {
  const ports = exporter.ports ?? []
  t.equal(ports.length, 1, 'one container port')
  const [port] = ports
  t.equal(port?.name, 'metrics', 'the port is named metrics')
  const { config } = loadConfig({ argv: ['--config', configFile().path], env: { PX_CLUSTER_ID: FAKE_SECRET[SECRET_KEYS.clusterId], PX_API_KEY: 'x' }, readFile: memoryReadFile({ [configFile().path]: configFile().text }) })
  t.equal(port?.containerPort, config.web.port, `containerPort equals web.listenAddress's port (${config.web.port})`)
  t.equal(config.web.host, '0.0.0.0', 'the exporter listens on all pod addresses, so probes and Prometheus reach it')
  const raw = parse(configFile().text) as { web?: { listenAddress?: string } }
  t.equal(raw.web?.listenAddress, `0.0.0.0:${port?.containerPort}`, 'the ConfigMap states the listen address explicitly')

  const servicePorts = (service.spec as { ports: { name: string; port: number; targetPort: unknown }[] }).ports
  t.strictSame(servicePorts.map((p) => [p.name, p.port, p.targetPort]), [['metrics', port?.containerPort, 'metrics']], 'the Service exposes metrics on the same port')
  t.ok(selects((service.spec as { selector: Record<string, string> }).selector, pod.metadata.labels), 'the Service selects the pod')
  t.equal((service.spec as { publishNotReadyAddresses?: boolean }).publishNotReadyAddresses, true, 'unready pods stay scrape targets, so outages show as collector_up 0')
})

t.test('the plain Prometheus annotations point at the metrics port and path', async (t) => {
  const annotations = pod.metadata.annotations ?? {}
  t.equal(annotations['prometheus.io/scrape'], 'true', 'scrape annotation')
  t.equal(annotations['prometheus.io/port'], String(exporter.ports?.[0]?.containerPort), 'port annotation equals the container port')
  t.equal(annotations['prometheus.io/path'], '/metrics', 'path annotation')
})

t.test('credentials come from the old demo\'s Secret keys', async (t) => {
  const refs = Object.fromEntries((exporter.env ?? []).map((e) => [e.name, e.valueFrom?.secretKeyRef]))
  t.strictSame(refs.PX_API_KEY, { name: SECRET_NAME, key: SECRET_KEYS.apiKey }, 'PX_API_KEY from px-credentials/px-api-key')
  t.strictSame(refs.PX_CLUSTER_ID, { name: SECRET_NAME, key: SECRET_KEYS.clusterId }, 'PX_CLUSTER_ID from px-credentials/px-cluster-id')
  t.notMatch(configFile().text, /apiKey|clusterId/, 'the ConfigMap holds neither the key nor the cluster ID')
})

t.test('the pod as configured passes the real config loader', async (t) => {
  const files = mountedFiles(pod.spec, exporter, configMapData(base))
  const env = containerEnv(exporter, { [SECRET_NAME]: FAKE_SECRET })
  const loaded = loadConfig({ argv: [...(exporter.args ?? []), '--check-config'], env, readFile: memoryReadFile(files) })
  t.equal(loaded.checkOnly, true, '--check-config was passed through')
  t.equal(loaded.configFile, configFile().path, 'the mounted file is the one read')
  t.equal(loaded.config.pixie.clusterId, FAKE_SECRET[SECRET_KEYS.clusterId], 'cluster ID from the Secret')
  t.equal(loaded.config.pixie.apiKey, FAKE_SECRET[SECRET_KEYS.apiKey], 'API key from the Secret')
  t.equal(loaded.config.pixie.tls, 'verify', 'TLS to Pixie is verified')
  t.ok(loaded.config.collectors.http.namespaces.exclude.includes('pl'), 'Pixie\'s own namespace is excluded')
})

t.test('without the Secret the pod would not start', async (t) => {
  t.throws(() => containerEnv(exporter, {}), /Secret px-credentials has no key px-api-key/, 'the kubelet needs px-credentials')
})

t.test('resources are requested and memory is limited', async (t) => {
  t.ok(exporter.resources?.requests?.cpu, 'a CPU request')
  t.ok(exporter.resources?.requests?.memory, 'a memory request')
  t.ok(exporter.resources?.limits?.memory, 'a memory limit')
})

t.test('memory is sized for the documented pod count: maxRows caps it, the heap cap sits under the limit (issue 13)', async (t) => {
  const files = mountedFiles(pod.spec, exporter, configMapData(base))
  const env = containerEnv(exporter, { [SECRET_NAME]: FAKE_SECRET })
  const { config } = loadConfig({ argv: [...(exporter.args ?? []), '--check-config'], env, readFile: memoryReadFile(files) })
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'deploy.md'), 'utf8')
  const mi = (q: string | undefined) => Number(/^(\d+)Mi$/.exec(q ?? '')?.[1])
  const documentedPods = Number(/sized for \*\*([\d,]+) pods\*\*/.exec(doc)?.[1]?.replace(/,/g, ''))
  const peakMiB = Number(/\| 10,000 \| 10,000 \(pragma honoured\) \| \d+ \| [\d,]+ \| [\d.]+ MiB \| (\d+) MiB/.exec(doc)?.[1])
  t.equal(config.collectors.http.maxRows, documentedPods, 'the shipped maxRows is the documented pod count (the cap bounds memory)')
  const heap = Number(/--max-old-space-size=(\d+)/.exec(env.NODE_OPTIONS ?? '')?.[1])
  const limit = mi(exporter.resources?.limits?.memory)
  t.ok(heap > 0 && heap < limit, `NODE_OPTIONS caps the heap (${heap} MiB) under the limit (${limit} MiB)`)
  t.ok(peakMiB > 0 && limit >= peakMiB * 1.25, `the limit (${limit} MiB) is at least 25 % over the measured peak (${peakMiB} MiB)`)
  t.ok(mi(exporter.resources?.requests?.memory) <= limit, 'the request is within the limit')
})

t.test('the NetworkPolicy admits only Prometheus on the metrics port, and DNS and 443 out', async (t) => {
  const policy = only(base, 'NetworkPolicy', 'pixie-exporter')
  const spec = policy.spec as {
    podSelector: { matchLabels: Record<string, string> }
    policyTypes: string[]
    ingress: { from: { namespaceSelector?: { matchLabels: Record<string, string> }; podSelector?: { matchLabels: Record<string, string> } }[]; ports: { protocol: string; port: unknown }[] }[]
    egress: { to?: unknown; ports: { protocol: string; port: unknown }[] }[]
  }
  t.ok(selects(spec.podSelector.matchLabels, pod.metadata.labels), 'the policy applies to the exporter pod')
  t.strictSame([...spec.policyTypes].sort(), ['Egress', 'Ingress'], 'both directions are restricted')
  t.equal(spec.ingress.length, 1, 'one ingress rule')
  const [rule] = spec.ingress
  t.strictSame(rule?.ports, [{ protocol: 'TCP', port: 'metrics' }], 'ingress only on the metrics port')
  t.ok(
    rule?.from.length === 1 && rule.from[0]?.namespaceSelector !== undefined && rule.from[0].podSelector !== undefined,
    'ingress only from selected Prometheus pods in a selected namespace (both selectors in one peer)',
  )
  t.equal(rule?.from[0]?.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'], 'monitoring', 'the monitoring namespace')
  const egressPorts = spec.egress.flatMap((r) => r.ports.map((p) => `${p.port}/${p.protocol}`)).sort()
  t.strictSame(egressPorts, ['443/TCP', '53/TCP', '53/UDP'], 'egress only to DNS and 443')
})

/** A monitor's endpoint fields the tests check. */
interface Endpoint {
  port?: string
  path?: string
  honorLabels?: boolean
}

t.test('the ServiceMonitor honours our labels and scrapes the metrics port of our Service', async (t) => {
  const objects = buildDeploy('overlays/prometheus-operator')
  const monitor = only(objects, 'ServiceMonitor')
  const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Endpoint[]; namespaceSelector?: unknown }
  t.equal(monitor.metadata.namespace, 'pixie-exporter', 'in the exporter namespace')
  t.equal(spec.namespaceSelector, undefined, 'selects Services in its own namespace')
  t.ok(selects(spec.selector.matchLabels, only(objects, 'Service').metadata.labels), 'selects the Service by its labels')
  t.equal(spec.endpoints.length, 1, 'one endpoint')
  t.match(spec.endpoints[0], { port: 'metrics', path: '/metrics', honorLabels: true }, 'metrics port, /metrics, honorLabels')
})

t.test('the PodMonitor honours our labels and scrapes the metrics port of our pod', async (t) => {
  const dir = t.testdir({
    'kustomization.yaml': `resources: [${join(DEPLOY_DIR, 'base')}]\ncomponents: [${join(DEPLOY_DIR, 'components/podmonitor')}]\n`,
  })
  const objects = kustomizeBuild(dir).objects
  const monitor = only(objects, 'PodMonitor')
  const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Endpoint[] }
  t.ok(selects(spec.selector.matchLabels, podTemplate(only(objects, 'Deployment')).metadata.labels), 'selects the exporter pod')
  t.equal(spec.podMetricsEndpoints.length, 1, 'one endpoint')
  t.match(spec.podMetricsEndpoints[0], { port: 'metrics', path: '/metrics', honorLabels: true }, 'metrics port, /metrics, honorLabels')
})
