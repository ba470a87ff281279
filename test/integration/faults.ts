/**
 * The real PixieClient against the real simulator over loopback gRPC, driven
 * through the HTTP collector and its job: every injected fault fails the run
 * with the right outcome and leaves the published series exactly as they were.
 */
import t from 'tap'
import { Registry } from 'prom-client'
import { HttpCollector } from '../../src/collectors/http.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { PixieClient } from '../../src/pixie/client.js'
import { CollectorJob } from '../../src/scheduler/job.js'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'
import { sinkLogger } from '../fixtures/logger.js'
import { httpConfig } from '../fixtures/http-fixtures.js'

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0)

const scenario = scenarioFromObject({
  name: 'faults',
  pods: [
    {
      namespace: 'default',
      name: 'canary-demo-7f6d5c9b4b-aaaaa',
      services: ['canary-demo'],
      phases: [
        { at: '0s', rps: 10, statuses: { 200: 0.5, 500: 0.5 }, latency: { p50: '20ms', p99: '100ms' } },
        { at: '100s', rps: 10, statuses: { 200: 1 }, latency: { p50: '20ms', p99: '100ms' } },
      ],
    },
  ],
  faults: [
    { kind: 'cut', from: '40s', until: '50s' },
    { kind: 'malformed', from: '50s', until: '60s' },
    { kind: 'compile-error', from: '60s', until: '70s' },
    { kind: 'unavailable', from: '70s', until: '80s' },
    { kind: 'slow', from: '80s', until: '90s', delay: '10s' },
  ],
})

t.test('faults fail the run and never leave half-updated or zeroed metrics', async (t) => {
  let now = T0
  const clock = () => now
  const log = sinkLogger('warn')
  const sim = await startSimulator({ scenario, listen: '127.0.0.1:0', logger: log.logger, now: clock, startedAt: T0 })
  t.teardown(() => sim.close())
  const pixie = new PixieClient({ address: sim.address, clusterId: '10000000-0000-0000-0000-000000000001', tls: 'plaintext', logger: log.logger })
  t.teardown(() => pixie.close())
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 'test' })
  const collector = new HttpCollector({
    pixie,
    registry,
    logger: log.logger,
    now: clock,
    // 3 s: the first run (gRPC connection included) must not time out on a loaded
    // machine; still far below the slow fault's 10 s delay.
    config: httpConfig({ staleAfterMs: 3_600_000, timeoutMs: 3_000 }),
  })
  const job = new CollectorJob({ collector, metrics, logger: log.logger, now: clock })
  const ratio = async () => (await registry.getMetricsAsJSON()).find((m) => m.name === 'pixie_http_error_ratio')?.values.map((v) => v.value)

  now = T0 + 10_000
  t.equal(await job.runNow(), 'success', 'a normal run succeeds')
  t.same(await ratio(), [0.5], 'the canary fails half of its requests')
  const before = await registry.metrics()
  const podLines = (text: string) => text.split('\n').filter((l) => l.startsWith('pixie_http_')).join('\n')

  const cases = [
    { at: 45_000, outcome: 'error', error: /stream cut/ },
    { at: 55_000, outcome: 'error', error: /expected STRING, got INT64|column/ },
    { at: 65_000, outcome: 'error', error: /injected compile error/ },
    { at: 75_000, outcome: 'error', error: /not in a healthy state/ },
    { at: 85_000, outcome: 'timeout', error: /./ },
  ] as const
  for (const c of cases) {
    now = T0 + c.at
    t.equal(await job.runNow(), c.outcome, `run at ${c.at / 1000}s ends as ${c.outcome}`)
    t.match(job.status().lastError, c.error, `the error explains the fault at ${c.at / 1000}s`)
    t.equal(podLines(await registry.metrics()), podLines(before), `per-pod series untouched after the fault at ${c.at / 1000}s`)
  }

  now = T0 + 200_000
  t.equal(await job.runNow(), 'success', 'the first run after the faults succeeds')
  t.same(await ratio(), [0], 'and publishes the new state in full')
  const runs = (await registry.getMetricsAsJSON()).find((m) => m.name === 'pixie_exporter_collector_runs_total')
  const count = (result: string) => runs?.values.find((v) => v.labels.result === result)?.value
  t.equal(count('error'), 4, 'four errors counted')
  t.equal(count('timeout'), 1, 'one timeout counted')
  t.equal(count('success'), 2, 'two successes counted')
})
