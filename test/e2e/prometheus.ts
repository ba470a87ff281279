/**
 * End to end: the Pixie API simulator (real gRPC on loopback) → the compiled
 * exporter process → a real Prometheus scraping it → the PromQL that canary
 * analysis uses. Also lints the exposition with `promtool check metrics`.
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadScenarioFile, startSimulator } from '../../src/simulator/server.js'
import { sinkLogger } from '../fixtures/logger.js'
import { findTool, promQuery, promtool, scrapeWithPrometheus, startExporter, waitFor, type Sample } from '../fixtures/tools.js'

const SCENARIO = join(import.meta.dirname, '..', '..', 'scenarios', 'steady-canary.yaml')
const CLUSTER_ID = '10000000-0000-0000-0000-000000000001'

for (const tool of ['prometheus', 'promtool']) {
  const found = findTool(tool)
  if (found instanceof Error) t.fail(found.message)
}

t.test('Prometheus scrapes the exporter and PromQL returns the canary error ratio', async (t) => {
  const scenario = loadScenarioFile(SCENARIO)
  const canary = scenario.pods.find((p) => p.phases.some((ph) => ph.statuses.some((s) => s.code >= 500 && s.share > 0)))
  if (canary === undefined) throw new Error('steady-canary.yaml has no failing canary pod')
  const expected = canary.phases[0]?.statuses.filter((s) => s.code >= 500).reduce((a, s) => a + s.share, 0) ?? NaN
  const hash = canary.name.split('-').slice(-2, -1)[0] ?? ''

  // Scenario time starts a minute ago, so every window the exporter asks for is full.
  const sim = await startSimulator({ scenario, listen: '127.0.0.1:0', logger: sinkLogger('warn').logger, startedAt: Date.now() - 60_000 })
  let simClosed = false
  t.teardown(async () => {
    if (!simClosed) await sim.close()
  })

  const dir = mkdtempSync(join(tmpdir(), 'pxe-e2e-'))
  const configFile = join(dir, 'config.yaml')
  // The operator says the data is simulated: the simulator speaks only Pixie's protocol.
  writeFileSync(configFile, ['pixie:', '  simulated: true', 'collectors:', '  http:', '    interval: 1s', '    window: 10s', ''].join('\n'))
  const exporter = await startExporter(
    ['--config', configFile, '--pixie.address', sim.address, '--pixie.tls', 'plaintext'],
    { PX_CLUSTER_ID: CLUSTER_ID },
  )
  t.teardown(() => exporter.stop())
  await waitFor('exporter readiness', async () => ((await fetch(`${exporter.url}/-/ready`)).ok ? true : undefined), 20_000)

  t.match(await (await fetch(`${exporter.url}/`)).text(), /SIMULATED DATA/, 'the landing page says the data is simulated (pixie.simulated in the config file)')
  const exposition = await (await fetch(`${exporter.url}/metrics`)).text()
  const lint = promtool(['check', 'metrics'], exposition)
  t.equal(lint.status, 0, `promtool check metrics passes\n${lint.output}`)
  t.equal(lint.output.trim(), '', 'promtool reports nothing on the exposition')

  const target = exporter.url.replace('http://', '')
  const prom = await scrapeWithPrometheus([target])
  t.teardown(() => prom.stop())

  const podSelector = `job="${prom.job}",namespace="${canary.namespace}",pod="${canary.name}"`
  const ratio = await waitFor(
    'the canary error ratio in Prometheus',
    // Per pod from the default series set (the error_ratio gauge is opt-in).
    async () => (await promQuery(prom.url, `pixie_http_errors_per_second{${podSelector}} / pixie_http_requests_per_second{${podSelector}}`))[0],
    30_000,
  )
  t.ok(Math.abs(ratio.value - expected) <= 0.02, `per-pod ratio ${ratio.value} is the scenario's ${expected}`)
  t.equal(ratio.metric.service, canary.services.join(','), 'service label is the plain service name')

  const selector = `job="${prom.job}",namespace="${canary.namespace}",pod=~"${canary.name.split('-').slice(0, -2).join('-')}-${hash}-[a-z0-9]+"`
  const [agg] = await promQuery(
    prom.url,
    `sum(pixie_http_errors_per_second{${selector}}) / sum(pixie_http_requests_per_second{${selector}})`,
  )
  t.ok(agg !== undefined && Math.abs(agg.value - expected) <= 0.02, `aggregated canary ratio ${agg?.value} is ${expected}`)

  const [up] = await promQuery(prom.url, `pixie_exporter_collector_up{job="${prom.job}",collector="http"}`)
  t.equal(up?.value, 1, 'the collector is up')

  // A Pixie outage must not read as "0 % errors": stop the simulator and the
  // canary's series must vanish (not drop to 0) while up goes to 0.
  await sim.close()
  simClosed = true
  const down = await waitFor(
    'collector up = 0 after the outage',
    async () => {
      const [s] = await promQuery(prom.url, `pixie_exporter_collector_up{job="${prom.job}",collector="http"}`)
      return s?.value === 0 ? s : undefined
    },
    30_000,
  )
  t.equal(down.value, 0, 'up is 0 during the outage')
  const gone = await waitFor<Sample[]>(
    'the canary series to go stale',
    async () => {
      const r = await promQuery(prom.url, `pixie_http_errors_per_second{${podSelector}} / pixie_http_requests_per_second{${podSelector}}`)
      return r.length === 0 ? r : undefined
    },
    30_000,
  )
  t.same(gone, [], 'no error ratio at all during the outage, never a clean 0')
})
