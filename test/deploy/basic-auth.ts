/**
 * deploy/components/basic-auth (issue 13, defect 9): with basic auth on, the
 * shipped probes (which send no credentials) keep working because the web
 * configuration the component mounts sets health_probes_without_auth, while
 * /metrics still needs credentials. Built with the component on the base,
 * then the real web config loader and the real app answer the probes'
 * requests.
 */
import t from 'tap'
import { join } from 'node:path'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { HEALTH_PROBE_PATHS, loadWebConfig } from '../../src/server/web-config.js'
import { kustomizeBuild, readObjects } from '../fixtures/kustomize.js'
import { DEPLOY_DIR, container, only, podTemplate } from '../fixtures/deploy.js'

const COMPONENT = join(DEPLOY_DIR, 'components/basic-auth')

t.test('the component mounts the web config, and the probes get through without credentials', async (t) => {
  const dir = t.testdir({ 'kustomization.yaml': `resources: [${join(DEPLOY_DIR, 'base')}]\ncomponents: [${COMPONENT}]\n` })
  const objects = kustomizeBuild(dir).objects
  const deployment = only(objects, 'Deployment', 'pixie-exporter')
  const pod = podTemplate(deployment).spec
  const c = container(deployment)
  const file = c.env?.find((e) => e.name === 'PIXIE_EXPORTER_WEB_CONFIG_FILE')?.value
  t.equal(file, '/etc/pixie-exporter/web/web.yml', 'the web config file is named by the environment')
  const mount = c.volumeMounts?.find((m) => file?.startsWith(`${m.mountPath}/`))
  const volume = pod.volumes?.find((v) => v.name === mount?.name) as { secret?: { secretName?: string } } | undefined
  t.equal(volume?.secret?.secretName, 'pixie-exporter-web-config', 'from the Secret pixie-exporter-web-config')

  // The example Secret's web.yml, as the container would read it.
  const [secret] = readObjects(join(COMPONENT, 'web-config.example.yaml'), [])
  const webYml = (secret?.['stringData'] as Record<string, string> | undefined)?.['web.yml'] ?? ''
  const security = loadWebConfig('/etc/pixie-exporter/web/web.yml', () => Buffer.from(webYml))
  t.equal(security.healthProbesWithoutAuth, true, 'the example exempts the probes')
  t.ok(security.users.size > 0, 'and has a user')

  const app = await buildApp({
    registry: new Registry(),
    jobs: [],
    logger: pino({ level: 'silent' }),
    now: Date.now,
    landing: { version: 'x', pixieAddress: 'a:1', clusterId: 'c', simulated: false },
    security,
  })
  t.teardown(() => app.close())
  for (const [name, probe] of [
    ['livenessProbe', c.livenessProbe],
    ['readinessProbe', c.readinessProbe],
  ] as const) {
    const get = probe?.httpGet
    t.ok(get?.path !== undefined && HEALTH_PROBE_PATHS.includes(get.path), `${name} probes ${get?.path}`)
    t.equal((get as { httpHeaders?: unknown } | undefined)?.httpHeaders, undefined, `${name} sends no credentials`)
    const res = await app.inject(get?.path ?? '/')
    t.not(res.statusCode, 401, `${name}: answered without credentials (${res.statusCode})`)
  }
  t.equal((await app.inject('/metrics')).statusCode, 401, '/metrics still needs credentials')
  const auth = `Basic ${Buffer.from('prometheus:change-me').toString('base64')}`
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: auth } })).statusCode, 200, 'and takes the example password')
})
