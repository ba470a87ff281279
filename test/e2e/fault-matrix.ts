/**
 * The fault matrix rows that need the exporter as a process (the others live
 * in test/integration/faults.ts, test/e2e/prometheus.ts and test/e2e/counters.ts):
 * Pixie unreachable at start, a bad API key, SIGTERM during a run.
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'
import { sinkLogger } from '../fixtures/logger.js'
import { freePort, startExporter, waitFor } from '../fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const API_KEY = 'px-api-0f1e2d3c4b5a69788796a5b4c3d2e1f0'

const pods = [
  { namespace: 'default', name: 'web-6d8c6b9c8f-aaaaa', services: ['web'], phases: [{ at: '0s', rps: 10, statuses: { 200: 1 }, latency: { p50: '10ms', p99: '50ms' } }] },
]

function config(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-faults-'))
  const file = join(dir, 'config.yaml')
  writeFileSync(file, ['collectors:', '  http:', ...lines.map((l) => `    ${l}`), ''].join('\n'))
  return file
}

t.test('Pixie unreachable at start: the exporter serves, is not ready, retries, and is ready soon after Pixie appears', async (t) => {
  const port = await freePort()
  const exporter = await startExporter(
    ['--config', config(['interval: 30s', 'window: 10s']), '--pixie.address', `127.0.0.1:${port}`, '--pixie.tls', 'plaintext'],
    { PX_CLUSTER_ID: CLUSTER },
  )
  t.teardown(() => exporter.stop())
  const metrics = await fetch(`${exporter.url}/metrics`)
  t.equal(metrics.status, 200, '/metrics is served while Pixie is unreachable')
  t.match(await metrics.text(), /pixie_exporter_collector_up\{collector="http"\} 0/, 'and says the collector is down')
  // The first run fails once the collector's worker thread is up: wait for its error.
  const reason = await waitFor('the first failed run', async () => {
    const ready = await fetch(`${exporter.url}/-/ready`)
    const text = await ready.text()
    return ready.status === 503 && text.includes('last error') ? text : undefined
  }, 20_000)
  t.match(reason, /has not succeeded yet \(last error: .*127\.0\.0\.1/, 'not ready, and the reason names the Pixie address')

  const sim = await startSimulator({ scenario: scenarioFromObject({ name: 'late', pods }), listen: `127.0.0.1:${port}`, logger: sinkLogger('error').logger })
  t.teardown(() => sim.close())
  const appeared = Date.now()
  await waitFor('readiness after Pixie appears', async () => ((await fetch(`${exporter.url}/-/ready`)).ok ? true : undefined), 25_000)
  // The interval is 30 s: only the backoff retries can make it ready this soon.
  t.ok(Date.now() - appeared < 25_000, 'ready well before the next scheduled run (backoff retries, not the 30s schedule)')
  t.match(exporter.output(), /"err":\{"type":"PixieUnavailableError"/, 'the failures were logged with their error class')
})

t.test('a wrong API key gives a clear error that never shows the key', async (t) => {
  const sim = await startSimulator({
    scenario: scenarioFromObject({ name: 'auth', apiKey: 'px-api-the-right-one-000000000000', pods }),
    listen: '127.0.0.1:0',
    logger: sinkLogger('error').logger,
  })
  t.teardown(() => sim.close())
  const exporter = await startExporter(['--config', config(['interval: 1s']), '--pixie.address', sim.address, '--pixie.tls', 'plaintext'], {
    PX_CLUSTER_ID: CLUSTER,
    PX_API_KEY: API_KEY,
  })
  t.teardown(() => exporter.stop())
  const page = await waitFor(
    'the auth error on the landing page',
    async () => {
      const html = await (await fetch(`${exporter.url}/`)).text()
      return /Auth|auth/.test(html) ? html : undefined
    },
    15_000,
  )
  t.match(page, /PXE_ERR_PIXIE_AUTH|API key|auth/i, 'the landing page explains the failure')
  const metrics = await (await fetch(`${exporter.url}/metrics`)).text()
  const ready = await (await fetch(`${exporter.url}/-/ready`)).text()
  await exporter.stop()
  for (const [where, text] of [['landing page', page], ['/metrics', metrics], ['/-/ready', ready], ['logs', exporter.output()]] as const) {
    t.notOk(text.includes(API_KEY), `the API key is not in the ${where}`)
  }
  t.match(exporter.output(), /PixieAuthError/, 'the log names the auth failure')
})

t.test('SIGTERM during a slow run exits cleanly and quickly', async (t) => {
  const sim = await startSimulator({
    scenario: scenarioFromObject({ name: 'slow', pods, faults: [{ kind: 'slow', from: '0s', delay: '60s' }] }),
    listen: '127.0.0.1:0',
    logger: sinkLogger('error').logger,
  })
  t.teardown(() => sim.close())
  const exporter = await startExporter(['--config', config(['interval: 1m', 'timeout: 2m']), '--pixie.address', sim.address, '--pixie.tls', 'plaintext'], {
    PX_CLUSTER_ID: CLUSTER,
  })
  const page = await (await fetch(`${exporter.url}/`)).text()
  t.match(page, /\(running\)/, 'a run is in flight')
  const sent = Date.now()
  const code = await exporter.stop()
  t.equal(code, 0, 'exit status 0')
  t.ok(Date.now() - sent < 10_000, 'well within the 10 s shutdown bound (the run is cancelled, not awaited)')
  t.notMatch(exporter.output(), /collector run failed/, 'the cancelled run is not reported as a failure')
})
