import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load.js'
import { createExporter } from '../../src/exporter.js'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'
import { sinkLogger } from '../fixtures/logger.js'
import { startExporter, waitFor } from '../fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'

function configFile(dir: string, body: string): string {
  const file = join(dir, 'config.yaml')
  writeFileSync(file, body)
  return file
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])

t.test('POST /-/reload applies a good configuration and keeps the last good one on a bad one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-reload-'))
  const file = configFile(dir, 'collectors:\n  http:\n    interval: 30s\n')
  const load = () => loadConfig({ argv: ['--config', file, '--pixie.tls', 'plaintext', '--pixie.address', '127.0.0.1:9'], env: { PX_CLUSTER_ID: CLUSTER } }).config
  const log = sinkLogger('info')
  const exporter = await createExporter({ config: load(), logger: log.logger, loadConfig: load, enableLifecycle: true })
  t.teardown(() => exporter.close())
  const firstJobs = exporter.jobs
  t.same(firstJobs.map((j) => j.name), ['http'], 'one collector at start')

  writeFileSync(file, 'collectors:\n  http:\n    interval: 30s\n  library: [resources]\n')
  let res = await exporter.app.inject({ method: 'POST', url: '/-/reload' })
  t.equal(res.statusCode, 200, 'a good configuration is applied')
  t.same(exporter.jobs.map((j) => j.name), ['http', 'resources'], 'the new collector runs')
  t.equal(exporter.jobs[0], firstJobs[0], 'the unchanged http collector keeps its job')
  let text = (await exporter.app.inject('/metrics')).body
  t.equal(metric(text, 'pixie_exporter_config_last_reload_successful'), 1, 'reload metric says success')
  t.match((await exporter.app.inject('/')).body, /<td>resources<\/td>/, 'the landing page shows the new collector')

  writeFileSync(file, 'collectors:\n  http:\n    interval: 20s\n')
  res = await exporter.app.inject({ method: 'POST', url: '/-/reload' })
  t.equal(res.statusCode, 200, 'a changed http collector is applied')
  t.same(exporter.jobs.map((j) => j.name), ['http'], 'the removed collector is gone')
  t.notMatch((await exporter.app.inject('/metrics')).body, /collector="resources"/, 'with its self-metrics')
  t.equal(await firstJobs[0]?.runNow(), 'skipped', 'the replaced job is stopped')

  writeFileSync(file, 'collectors:\n  http:\n    intervall: 30s\n')
  res = await exporter.app.inject({ method: 'POST', url: '/-/reload' })
  t.equal(res.statusCode, 500, 'a bad configuration is refused')
  t.match(res.body, /collectors\.http\.intervall: unknown key/, 'the answer names the field')
  t.same(exporter.jobs.map((j) => j.name), ['http'], 'the last good configuration keeps running')
  text = (await exporter.app.inject('/metrics')).body
  t.equal(metric(text, 'pixie_exporter_config_last_reload_successful'), 0, 'reload metric says the last reload failed')
  t.match(log.text(), /configuration reload failed; the last good configuration keeps running/, 'the failure is logged')
})

t.test('another method than POST on /-/reload is 405 Method Not Allowed with Allow: POST', async (t) => {
  const load = () => loadConfig({ argv: ['--pixie.tls', 'plaintext', '--pixie.address', '127.0.0.1:9'], env: { PX_CLUSTER_ID: CLUSTER } }).config
  const log = sinkLogger()
  const exporter = await createExporter({ config: load(), logger: log.logger, loadConfig: load })
  t.teardown(() => exporter.close())
  for (const method of ['GET', 'PUT', 'DELETE'] as const) {
    const res = await exporter.app.inject({ method, url: '/-/reload' })
    t.equal(res.statusCode, 405, `${method}: 405`)
    t.equal(res.headers.allow, 'POST', `${method}: Allow: POST`)
  }
  t.equal(log.text().includes('configuration reloaded'), false, 'nothing was reloaded')
})

t.test('without a way to read the configuration again, /-/reload does not exist', async (t) => {
  const config = loadConfig({ argv: ['--pixie.tls', 'plaintext', '--pixie.address', '127.0.0.1:9'], env: { PX_CLUSTER_ID: CLUSTER } }).config
  const exporter = await createExporter({ config, logger: sinkLogger().logger })
  t.teardown(() => exporter.close())
  t.equal((await exporter.app.inject({ method: 'POST', url: '/-/reload' })).statusCode, 404, 'no reload route')
  t.same(await exporter.reload(), { ok: false, error: 'reload is not available' }, 'reload() says why')
})

t.test('POST /-/reload is refused unless --web.enable-lifecycle; reload() (SIGHUP) still works', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-lifecycle-'))
  const file = configFile(dir, 'collectors:\n  http:\n    interval: 30s\n')
  const load = () => loadConfig({ argv: ['--config', file, '--pixie.tls', 'plaintext', '--pixie.address', '127.0.0.1:9'], env: { PX_CLUSTER_ID: CLUSTER } }).config
  const exporter = await createExporter({ config: load(), logger: sinkLogger().logger, loadConfig: load })
  t.teardown(() => exporter.close())
  writeFileSync(file, 'collectors:\n  http:\n    interval: 30s\n  library: [resources]\n')
  const res = await exporter.app.inject({ method: 'POST', url: '/-/reload' })
  t.equal(res.statusCode, 403, 'forbidden by default')
  t.match(res.body, /Lifecycle APIs are not enabled: start pixie-exporter with --web\.enable-lifecycle/, 'the answer says how to enable it')
  t.same(exporter.jobs.map((j) => j.name), ['http'], 'nothing was reloaded')
  t.same(await exporter.reload(), { ok: true }, 'the signal path reloads')
  t.same(exporter.jobs.map((j) => j.name), ['http', 'resources'], 'and applies the file')
  t.equal(loadConfig({ argv: ['--web.enable-lifecycle', '--pixie.tls', 'plaintext'], env: { PX_CLUSTER_ID: CLUSTER } }).enableLifecycle, true, 'the flag is parsed')
  t.equal(loadConfig({ argv: ['--pixie.tls', 'plaintext'], env: { PX_CLUSTER_ID: CLUSTER } }).enableLifecycle, false, 'off by default')
  t.throws(() => loadConfig({ argv: ['--web.enable-lifecycle=yes', '--pixie.tls', 'plaintext'], env: { PX_CLUSTER_ID: CLUSTER } }), /--web\.enable-lifecycle: takes no value/, 'the flag takes no value')
})

t.test('SIGHUP reloads the process configuration from its file', async (t) => {
  const sim = await startSimulator({
    scenario: scenarioFromObject({ name: 'hup', pods: [{ namespace: 'default', name: 'web-6d8c6b9c8f-aaaaa', services: ['web'], phases: [{ at: '0s', rps: 5, statuses: { 200: 1 }, latency: { p50: '10ms', p99: '50ms' } }] }] }),
    listen: '127.0.0.1:0',
    logger: sinkLogger('error').logger,
  })
  t.teardown(() => sim.close())
  const dir = mkdtempSync(join(tmpdir(), 'pxe-hup-'))
  const file = configFile(dir, 'collectors:\n  http:\n    interval: 1s\n')
  const exporter = await startExporter(['--config', file, '--pixie.address', sim.address, '--pixie.tls', 'plaintext'], { PX_CLUSTER_ID: CLUSTER })
  t.teardown(() => exporter.stop())
  writeFileSync(file, 'collectors:\n  http:\n    interval: 1s\n    namespaces:\n      include: [shop]\n')
  exporter.proc.kill('SIGHUP')
  await waitFor('the reload to be logged', async () => (/configuration reloaded/.test(exporter.output()) ? true : undefined), 10_000)
  // The new include list leaves the only pod out: its series disappear on the next run.
  const gone = await waitFor(
    'the default namespace to be filtered out',
    async () => {
      const text = await (await fetch(`${exporter.url}/metrics`)).text()
      return /pixie_exporter_collector_up\{collector="http"\} 1/.test(text) && !/^pixie_http_requests_per_second/m.test(text) ? text : undefined
    },
    10_000,
  )
  t.match(gone, /pixie_exporter_config_last_reload_successful 1/, 'the reload succeeded and the new namespace filter applies')
  writeFileSync(file, 'collectors: [broken\n')
  exporter.proc.kill('SIGHUP')
  await waitFor('the failed reload', async () => (/configuration reload failed/.test(exporter.output()) ? true : undefined), 10_000)
  const after = await fetch(`${exporter.url}/metrics`)
  t.equal(after.status, 200, 'still serving after a bad reload')
  t.match(await after.text(), /pixie_exporter_config_last_reload_successful 0/, 'and says the reload failed')
  const post = await fetch(`${exporter.url}/-/reload`, { method: 'POST' })
  t.equal(post.status, 403, 'POST /-/reload is off without --web.enable-lifecycle')
  t.match(await post.text(), /--web\.enable-lifecycle/, 'and says which flag turns it on')
})

t.test('the CLI serves POST /-/reload with --web.enable-lifecycle', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-lifecycle-cli-'))
  const file = configFile(dir, 'collectors:\n  http:\n    interval: 30s\n')
  const exporter = await startExporter(['--config', file, '--pixie.address', '127.0.0.1:9', '--pixie.tls', 'plaintext', '--web.enable-lifecycle'], { PX_CLUSTER_ID: CLUSTER })
  t.teardown(() => exporter.stop())
  writeFileSync(file, 'collectors:\n  http:\n    interval: 30s\n  library: [resources]\n')
  const post = await fetch(`${exporter.url}/-/reload`, { method: 'POST' })
  t.equal(post.status, 200, 'reloaded over HTTP')
  t.match(await (await fetch(`${exporter.url}/metrics`)).text(), /pixie_exporter_collector_up\{collector="resources"\}/, 'the new collector is there')
})
