/**
 * Adversarial clock-step suite (issue 13, defect 7). Staleness, freshness
 * and the length of count ranges follow the monotonic clock; the wall clock
 * only places Pixie's time ranges. Both clocks are injected, so the wall
 * clock can be stepped (as NTP does) while time passes normally.
 */
import t from 'tap'
import { Registry } from 'prom-client'
import { CountRangePlanner } from '../../src/collectors/count-range.js'
import { HttpCollector } from '../../src/collectors/http.js'
import { loadConfig } from '../../src/config/load.js'
import { PixieUnavailableError } from '../../src/errors.js'
import { createExporter } from '../../src/exporter.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { httpParamsOfCall } from '../fixtures/http-call.js'
import type { ExecuteScriptOptions, PixieApi, PixieTable, ScriptResult } from '../../src/pixie/types.js'
import { CollectorJob } from '../../src/scheduler/job.js'
import { answer, httpConfig, type PodRow } from '../fixtures/http-fixtures.js'
import { sinkLogger } from '../fixtures/logger.js'
import { waitFor } from '../fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0)
const HOUR = 3_600_000

/** Two clocks: `wall` may be stepped; `mono` only moves forward with `pass`. */
function clocks() {
  const c = { wall: T0, mono: 1_000_000, pass: (ms: number) => ((c.wall += ms), (c.mono += ms)), step: (ms: number) => (c.wall += ms) }
  return c
}

class SwitchablePixie implements PixieApi {
  down = false
  readonly calls: ExecuteScriptOptions[] = []
  constructor(readonly tables: PixieTable[]) {}
  async executeScript(options: ExecuteScriptOptions): Promise<ScriptResult> {
    this.calls.push(options)
    if (this.down) throw new PixieUnavailableError('Pixie is down (test)')
    return { queryId: 'q', tables: new Map(this.tables.map((table) => [table.name, table])), stats: undefined }
  }
  async healthCheck(): Promise<void> {}
  close(): void {}
}

const pod = (name: string): PodRow => ({
  namespace: 'default',
  pod: `default/${name}`,
  service: 'default/web',
  requests: 100,
  errors: 100,
  p50: 20e6,
  p90: 50e6,
  p99: 80e6,
})

t.test('wall clock stepped back 1 h during an outage: data still goes stale after staleAfter', async (t) => {
  const c = clocks()
  const pixie = new SwitchablePixie(answer([pod('web-6d8c6b9c8f-aaaaa')]))
  const config = loadConfig({ argv: ['--pixie.tls', 'plaintext', '--pixie.address', '127.0.0.1:9'], env: { PX_CLUSTER_ID: CLUSTER } }).config
  const exporter = await createExporter({ config, logger: sinkLogger('warn').logger, pixie, now: () => c.wall, monotonic: () => c.mono })
  t.teardown(() => exporter.close())
  exporter.start()
  await waitFor('the first run', async () => (exporter.jobs[0]?.status().lastOutcome === 'success' ? true : undefined), 10_000, 5)
  const probe = async () => ({
    series: ((await exporter.app.inject('/metrics')).body.match(/^pixie_http_requests_per_second\{/gm) ?? []).length,
    ready: (await exporter.app.inject('/-/ready')).statusCode,
    errorRate: (await exporter.app.inject('/error-rate/default/web-6d8c6b9c8f')).statusCode,
  })
  t.same(await probe(), { series: 1, ready: 200, errorRate: 200 }, 'fresh data is served')
  pixie.down = true
  const staleAfterMs = exporter.jobs[0]?.status().staleAfterMs ?? Number.NaN
  c.step(-HOUR)
  c.pass(staleAfterMs - 1_000)
  t.same(await probe(), { series: 1, ready: 200, errorRate: 200 }, 'still served just before staleAfter')
  c.pass(2_000)
  t.same(await probe(), { series: 0, ready: 503, errorRate: 503 }, 'gone once staleAfter has passed, although the wall clock says 1 h earlier')
  t.match((await exporter.app.inject('/-/ready')).body, /collector http data is stale/, 'readiness says the data is stale')
})

t.test('wall clock stepped forward 1 h then back: counters neither freeze nor skip the hour', async (t) => {
  const c = clocks()
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 'test' })
  const log = sinkLogger('warn')
  const pixie = new SwitchablePixie(answer([pod('web-1')]))
  const collector = new HttpCollector({ pixie, registry, logger: log.logger, now: () => c.wall, monotonic: () => c.mono, config: httpConfig() })
  const job = new CollectorJob({ collector, metrics, logger: log.logger, now: () => c.wall, monotonic: () => c.mono })
  const total = async () =>
    (await registry.getMetricsAsJSON()).find((m) => m.name === 'pixie_http_requests_total')?.values.reduce((a, v) => a + v.value, 0)
  const skipped = async () => (await registry.getMetricsAsJSON()).find((m) => m.name === 'pixie_exporter_collector_skipped_seconds_total')?.values[0]?.value
  const countRange = (i: number) => {
    const p = httpParamsOfCall(pixie.calls[i])
    return p?.counts === undefined ? undefined : Number(p.endNs - p.counts.startNs) / 1e6
  }

  t.equal(await job.runNow(), 'success', 'first run')
  t.equal(await total(), 100, 'counted once')
  c.pass(10_000)
  c.step(HOUR)
  t.equal(await job.runNow(), 'success', 'run after the step forward')
  t.equal(countRange(1), 10_000, 'the range covers the 10 s that passed, not 1 h')
  t.equal(await total(), 200, 'counted')
  c.pass(10_000)
  c.step(-HOUR)
  t.equal(await job.runNow(), 'success', 'run after the step back')
  t.equal(countRange(2), 10_000, 'the range covers the 10 s that passed')
  t.equal(await total(), 300, 'the counter is not frozen until the wall clock catches up')
  c.pass(10_000)
  t.equal(await job.runNow(), 'success', 'a normal run after the steps')
  t.equal(countRange(3), 10_000, 'contiguous again')
  t.equal(await total(), 400, 'counted')
  t.equal(await skipped(), 0, 'no second was reported as skipped')
  const steps = log.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('the wall clock was stepped'))
  t.same(steps.map((l) => l.clockStepSeconds), [3600, -3600], 'each step is logged once, with its size')
})

t.test('the planner re-anchors on a step and still reports time beyond maxCatchUp as skipped', async (t) => {
  const p = new CountRangePlanner({ windowMs: 30_000, lagMs: 5_000, maxCatchUpMs: 60_000 })
  const first = p.plan(T0, 0)
  p.commit(first)
  const normal = p.plan(T0 + 10_500, 10_000)
  t.equal(normal.clockStepMs, 0, 'half a second of drift is no step')
  const back = p.plan(T0 - HOUR + 10_000, 10_000)
  t.same([back.clockStepMs, back.endMs - (back.countStartMs ?? Number.NaN), back.skippedMs], [-HOUR, 10_000, 0], 'a step back counts the 10 s elapsed')
  const longOutage = p.plan(T0 + HOUR + 120_000, 120_000)
  t.same(
    [longOutage.clockStepMs, longOutage.endMs - (longOutage.countStartMs ?? Number.NaN), longOutage.skippedMs],
    [HOUR, 60_000, 60_000],
    'a step forward after a 2 min outage: maxCatchUp counted, the rest of the 2 min skipped, never the hour',
  )
})
