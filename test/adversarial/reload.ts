/**
 * Adversarial reload suite (issue 13, defects 1 and 6): reload loops must not
 * leak, a reload must not throw away the last good data, and counters of a
 * collector whose definition did not change must not reset.
 *
 * The heap test needs `global.gc`: .taprc passes --expose-gc to every test.
 */
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { PixieUnavailableError } from '../../src/errors.js'
import { createExporter, type Exporter } from '../../src/exporter.js'
import type { ExecuteScriptOptions, PixieApi, PixieTable, ScriptResult } from '../../src/pixie/types.js'
import { answer, type PodRow } from '../fixtures/http-fixtures.js'
import { sinkLogger } from '../fixtures/logger.js'
import { waitFor } from '../fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0)

/** A Pixie that answers every run with the same tables, or fails while `down`. */
class SwitchablePixie implements PixieApi {
  down = false
  runs = 0
  constructor(public tables: PixieTable[]) {}
  async executeScript(_options: ExecuteScriptOptions): Promise<ScriptResult> {
    this.runs++
    if (this.down) throw new PixieUnavailableError('Pixie is down (test)')
    return { queryId: 'q', tables: new Map(this.tables.map((table) => [table.name, table])), stats: undefined }
  }
  async healthCheck(): Promise<void> {}
  close(): void {}
}

const pods = (n: number): PodRow[] =>
  Array.from({ length: n }, (_, i) => ({
    namespace: 'default',
    pod: `default/web-6d8c6b9c8f-${String(i).padStart(5, '0')}`,
    service: 'default/web',
    requests: 100,
    errors: 5,
    p50: 20e6,
    p90: 50e6,
    p99: 80e6,
  }))

/** A config whose http collector runs every `interval` (another interval: another collector definition). */
function configWith(yamlInterval: string, extra: string[] = []): Config {
  return loadConfig({
    argv: ['--pixie.tls', 'plaintext', '--pixie.address', '127.0.0.1:9'],
    env: { PX_CLUSTER_ID: CLUSTER, PIXIE_EXPORTER_CONFIG: '/nonexistent' },
    readFile: () => [`collectors:`, `  http:`, `    interval: ${yamlInterval}`, ...extra, ''].join('\n'),
  }).config
}

const series = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`))
const sum = (lines: readonly string[]) => lines.reduce((a, l) => a + Number(l.split(' ').pop()), 0)

async function succeeded(exporter: Exporter, what: string): Promise<void> {
  await waitFor(what, async () => (exporter.jobs.find((j) => j.name === 'http')?.status().lastOutcome === 'success' ? true : undefined), 10_000, 5)
}

t.test('200 reloads that each replace the collector leave the heap flat after GC', async (t) => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) {
    t.fail('global.gc is not available: run with node --expose-gc (.taprc sets node-arg)')
    return
  }
  const pixie = new SwitchablePixie(answer(pods(500)))
  let flip = false
  const exporter = await createExporter({
    config: configWith('10s'),
    logger: sinkLogger('warn').logger,
    pixie,
    loadConfig: () => {
      flip = !flip
      return configWith(flip ? '15s' : '10s')
    },
  })
  t.teardown(() => exporter.close())
  exporter.start()
  await succeeded(exporter, 'the first run')
  let succeededReloads = 0
  const heapAfter = async (reloads: number) => {
    for (let i = 0; i < reloads; i++) {
      const before = exporter.jobs[0]
      if ((await exporter.reload()).ok) succeededReloads++
      await waitFor('the new job to be served', async () => (exporter.jobs[0] !== before ? true : undefined), 10_000, 2)
      await exporter.app.inject('/metrics')
    }
    // Several full GCs with timer turns between them: WeakRefs and
    // finalizers of the replaced runtimes (gRPC channels, timers) only let go
    // after their job ends, and one gc() on a loaded machine may leave them.
    for (let i = 0; i < 6; i++) {
      gc()
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return process.memoryUsage().heapUsed
  }
  const warm = await heapAfter(20)
  const after = await heapAfter(200)
  t.equal(succeededReloads, 220, 'every reload succeeded')
  const growthMb = (after - warm) / 2 ** 20
  t.comment(`heap after 20 reloads ${(warm / 2 ** 20).toFixed(1)} MB, after 200 more ${(after / 2 ** 20).toFixed(1)} MB`)
  t.ok(growthMb < 16, `heap grew ${growthMb.toFixed(1)} MB over 200 reloads (a leaked runtime of 500 pods holds ~1 MB)`)
  // Forced GCs stall the event loop, which under-pressure may answer with 503 for a moment.
  const text = await waitFor('/metrics to answer 200', async () => {
    const res = await exporter.app.inject('/metrics')
    return res.statusCode === 200 ? res.body : undefined
  }, 20_000, 100)
  t.equal(series(text, 'pixie_http_requests_per_second').length, 500, 'the last runtime serves its 500 pods')
  t.equal(text.match(/^# TYPE process_resident_memory_bytes /gm)?.length, 1, 'process metrics appear once')
})

t.test('a reload while Pixie is down keeps serving the last good data until it is stale', async (t) => {
  let now = T0
  const pixie = new SwitchablePixie(answer(pods(3)))
  let next = configWith('10s')
  const exporter = await createExporter({ config: next, logger: sinkLogger('warn').logger, pixie, now: () => now, loadConfig: () => next })
  t.teardown(() => exporter.close())
  exporter.start()
  await succeeded(exporter, 'the first run')
  const check = async () => ({
    series: series((await exporter.app.inject('/metrics')).body, 'pixie_http_requests_per_second').length,
    ready: (await exporter.app.inject('/-/ready')).statusCode,
    errorRate: (await exporter.app.inject('/error-rate/default/web-6d8c6b9c8f')).statusCode,
  })
  t.same(await check(), { series: 3, ready: 200, errorRate: 200 }, 'serving three pods')

  pixie.down = true
  const oldJob = exporter.jobs[0]
  t.same(await exporter.reload(), { ok: true }, 'an unchanged configuration reloads')
  t.equal(exporter.jobs[0], oldJob, 'the unchanged collector keeps its job')
  t.same(await check(), { series: 3, ready: 200, errorRate: 200 }, 'and its data')

  next = configWith('15s')
  const runs = pixie.runs
  t.same(await exporter.reload(), { ok: true }, 'a changed configuration reloads')
  await waitFor('the new job to fail its first run', async () => (pixie.runs > runs ? true : undefined), 10_000, 5)
  now += 20_000
  t.same(await check(), { series: 3, ready: 200, errorRate: 200 }, 'the last good data is still served 20 s later')
  t.equal(exporter.jobs[0], oldJob, 'through the job that produced it')

  now += 11_000 // 31 s after the last success: past the old collector's staleAfter (3 × 10 s)
  const stale = await check()
  t.same(stale, { series: 0, ready: 503, errorRate: 503 }, 'once stale, nothing is served')
  t.not(exporter.jobs[0], oldJob, 'and the new job is the one shown')
  t.match((await exporter.app.inject('/-/ready')).body, /collector http has not succeeded yet \(last error: Pixie is down/, 'readiness says why')

  pixie.down = false
  await exporter.jobs[0]?.runNow()
  t.same(await check(), { series: 3, ready: 200, errorRate: 200 }, 'the new job serves once Pixie is back')
})

t.test("a changed collector's new job takes over at its first success", async (t) => {
  const pixie = new SwitchablePixie(answer(pods(3)))
  let next = configWith('10s')
  const exporter = await createExporter({ config: next, logger: sinkLogger('warn').logger, pixie, now: () => T0, loadConfig: () => next })
  t.teardown(() => exporter.close())
  exporter.start()
  await succeeded(exporter, 'the first run')
  pixie.tables = answer(pods(5))
  next = configWith('15s')
  const oldJob = exporter.jobs[0]
  t.same(await exporter.reload(), { ok: true }, 'reloaded')
  await waitFor('the new job to be served', async () => (exporter.jobs[0] !== oldJob ? true : undefined), 10_000, 5)
  t.equal(series((await exporter.app.inject('/metrics')).body, 'pixie_http_requests_per_second').length, 5, "the new job's data is served")
  t.equal(await oldJob?.runNow(), 'skipped', 'the replaced job is stopped')
})

t.test('counters survive a reload that does not change their collector', async (t) => {
  const pixie = new SwitchablePixie(answer(pods(3)))
  let next = configWith('10s')
  let now = T0
  const exporter = await createExporter({ config: next, logger: sinkLogger('warn').logger, pixie, now: () => now, loadConfig: () => next })
  t.teardown(() => exporter.close())
  exporter.start()
  await succeeded(exporter, 'the first run')
  const total = async () => sum(series((await exporter.app.inject('/metrics')).body, 'pixie_http_requests_total'))
  const runs = async () => sum(series((await exporter.app.inject('/metrics')).body, 'pixie_exporter_collector_runs_total').filter((l) => l.includes('result="success"')))
  t.equal(await total(), 300, 'three pods counted over one window')
  now += 10_000
  await exporter.jobs[0]?.runNow()
  const first = await total()
  t.equal(first, 600, 'and again over the next range')
  const successRuns = await runs()

  next = configWith('10s', ['  library: [resources]'])
  t.same(await exporter.reload(), { ok: true }, 'a collector is added')
  t.equal(await total(), first, 'pixie_http_requests_total is unchanged (no reset)')
  t.equal(await runs(), successRuns, 'the http runs counter is unchanged')
  now += 10_000
  await exporter.jobs.find((j) => j.name === 'http')?.runNow()
  t.equal(await total(), 900, 'and keeps counting after the reload')
})
