/**
 * Decision tests: the Pixie API simulator → the compiled exporter → a real
 * Prometheus → the shipped analysis templates, run by the analyze logic as
 * Argo would run one measurement. Each case lives in its own namespace of one
 * simulator (test/fixtures/analysis-scenarios/decisions.yaml); the outage has
 * its own simulator and exporter, because stopping a simulator stops all of
 * its namespaces.
 *
 * Exporter A (decisions): interval 1s, window 10s, lag 1s. Exporter B
 * (namespace `turn` only) runs the shipped defaults scaled down 15 times
 * (interval 15s → 1s, window 30s → 2s, lag 5s → 333ms; Prometheus scrapes
 * every 1s for a 15s ServiceMonitor; measurements every 1s for 15s) to
 * measure how long after a canary turns bad the first Failed measurement
 * comes. Figures are printed as comments, never asserted.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { analyzeTemplate, type AnalyzeResult } from '../../src/analyze/command.js'
import type { Phase } from '../../src/analyze/measure.js'
import { loadScenarioFile, startSimulator } from '../../src/simulator/server.js'
import { TEMPLATES_DIR } from '../fixtures/analysis-manifests.js'
import { sinkLogger } from '../fixtures/logger.js'
import { findTool, promQuery, startExporter, startPrometheus, waitFor } from '../fixtures/tools.js'

const SCENARIOS = join(import.meta.dirname, '..', 'fixtures', 'analysis-scenarios')
const CLUSTER_ID = '10000000-0000-0000-0000-000000000001'
const STABLE = '6d8c6b9c8f'
const CANARY = '7f6d5c9b4b'
/** Scenario time zero lies this far in the past, so every window is full. */
const HEAD_START_MS = 60_000
/** The `turn` canaries turn bad at these scenario offsets (decisions.yaml). */
const TURN_AT_MS = [0, 1, 2, 3, 4, 5].map((i) => 100_000 + i * 450)
/** Scale factor of exporter B's configuration against the shipped defaults. */
const SCALE = 15

const prometheusFound = findTool('prometheus')
if (prometheusFound instanceof Error) t.fail(prometheusFound.message)

/** Args of the test: short ranges for the fast exporter, thresholds as shipped unless stated. */
const FAST_ARGS = { range: '15s', 'min-requests': '50', 'max-p99-seconds': '0.2' }

const templateText = (file: string): string => readFileSync(join(TEMPLATES_DIR, file), 'utf8')

function exporterConfig(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-analysis-'))
  const file = join(dir, 'config.yaml')
  writeFileSync(file, ['collectors:', '  http:', ...lines.map((l) => `    ${l}`), ''].join('\n'))
  return file
}

const log = sinkLogger('warn').logger
const simStart = Date.now() - HEAD_START_MS
const sim = await startSimulator({ scenario: loadScenarioFile(join(SCENARIOS, 'decisions.yaml')), listen: '127.0.0.1:0', logger: log, startedAt: simStart })
t.teardown(() => sim.close())
const outageSim = await startSimulator({ scenario: loadScenarioFile(join(SCENARIOS, 'outage.yaml')), listen: '127.0.0.1:0', logger: log, startedAt: simStart })
let outageSimClosed = false
t.teardown(async () => {
  if (!outageSimClosed) await outageSim.close()
})

const env = { PX_CLUSTER_ID: CLUSTER_ID }
const pixieArgs = (address: string) => ['--pixie.address', address, '--pixie.tls', 'plaintext']
const exporterA = await startExporter(['--config', exporterConfig(['interval: 1s', 'window: 10s', 'lag: 1s', 'namespaces:', '  exclude: [turn]']), ...pixieArgs(sim.address)], env)
t.teardown(() => exporterA.stop())
const exporterB = await startExporter(['--config', exporterConfig(['interval: 1s', 'window: 2s', 'lag: 333ms', 'namespaces:', '  include: [turn]']), ...pixieArgs(sim.address)], env)
t.teardown(() => exporterB.stop())
const exporterC = await startExporter(['--config', exporterConfig(['interval: 1s', 'window: 10s', 'lag: 1s']), ...pixieArgs(outageSim.address)], env)
t.teardown(() => exporterC.stop())
const prom = await startPrometheus([exporterA, exporterB, exporterC].map((e) => e.url.replace('http://', '')))
t.teardown(() => prom.stop())

// Counters need a full rate range of history in Prometheus.
await waitFor('canary counters in Prometheus', async () => ((await promQuery(prom.url, 'pixie_http_requests_total{namespace="good"}')).length > 0 ? true : undefined), 30_000)
await waitFor('15s of counter history', async () => {
  const [s] = await promQuery(prom.url, 'min(count_over_time(pixie_http_requests_total{namespace="good"}[16s]))')
  return s !== undefined && s.value >= 14 ? true : undefined
}, 30_000)

/** Runs a template once, as one Argo measurement, against our Prometheus. */
async function decide(file: string, args: Record<string, string>, extra: Record<string, string> = {}): Promise<AnalyzeResult> {
  const text = templateText(file)
  const declared = new Set(text.match(/- name: [a-z0-9-]+/g)?.map((m) => m.slice(8)) ?? [])
  const all = { ...FAST_ARGS, ...args, ...extra }
  const given = Object.fromEntries(Object.entries(all).filter(([k]) => declared.has(k)))
  return analyzeTemplate(text, file, { args: given, prometheus: prom.url })
}

const rollout = (namespace: string, name = 'app') => ({ namespace, rollout: name, 'canary-hash': CANARY, 'stable-hash': STABLE, 'exporter-address': exporterA.url })

function phaseOf(r: AnalyzeResult): string {
  return `${r.phase} (${r.measurements.map((m) => `${m.metric}=${m.value} ${m.message}`).join('; ')})`
}

async function expectPhase(t: Tap, file: string, args: Record<string, string>, want: Phase, what: string, extra: Record<string, string> = {}) {
  const r = await decide(file, args, extra)
  t.equal(r.phase, want, `${what} → ${want}: got ${phaseOf(r)}`)
  return r
}
/** The assertion surface expectPhase needs. */
type Tap = Pick<typeof t, 'equal'>

// The detection-time measurement runs in the background from now on (the
// canaries of `turn` turn bad about 40s after the test starts).
const detection = measureDetection()

t.test('error ratio from the gauges (pixie-canary-error-ratio)', async (t) => {
  const f = 'error-ratio.yaml'
  await expectPhase(t, f, rollout('good'), 'Successful', 'healthy canary')
  await expectPhase(t, f, rollout('bad'), 'Failed', 'bad-red canary (82 % HTTP 500)')
  await expectPhase(t, f, rollout('quiet'), 'Inconclusive', 'canary without any traffic')
  await expectPhase(t, f, rollout('quiet', 'trickle'), 'Inconclusive', 'canary at 0.2 rps (below min-rps 1)')
  await expectPhase(t, f, rollout('client'), 'Successful', 'canary answering 40 % 404 and no 5xx')
  await expectPhase(t, f, rollout('onebad'), 'Successful', 'one pod at 10 % among three (aggregate 3.3 %) passes the aggregate')
  await expectPhase(t, f, { ...rollout('good'), 'canary-hash': '' }, 'Inconclusive', 'an empty hash (misconfigured Rollout) selects nothing')
})

t.test('error ratio from the counters (pixie-canary-error-ratio-counters)', async (t) => {
  const f = 'error-ratio-counters.yaml'
  await expectPhase(t, f, rollout('good'), 'Successful', 'healthy canary')
  await expectPhase(t, f, rollout('bad'), 'Failed', 'bad-red canary')
  await expectPhase(t, f, rollout('quiet'), 'Inconclusive', 'canary without any traffic')
  await expectPhase(t, f, rollout('quiet', 'trickle'), 'Inconclusive', 'canary below min-requests')
  await expectPhase(t, f, rollout('client'), 'Successful', 'many 4xx, no 5xx')
  await expectPhase(t, f, rollout('client'), 'Failed', "many 4xx with the old demo's definition (error-classes 4xx|5xx)", { 'error-classes': '4xx|5xx' })
})

t.test('canary compared with stable (pixie-canary-vs-stable)', async (t) => {
  const f = 'vs-stable.yaml'
  await expectPhase(t, f, rollout('good'), 'Successful', 'canary as good as stable')
  await expectPhase(t, f, rollout('bad'), 'Failed', 'bad-red canary against a healthy stable')
  await expectPhase(t, f, rollout('client'), 'Successful', '4xx are not errors')
  await expectPhase(t, f, rollout('quiet'), 'Inconclusive', 'canary without traffic')
  await expectPhase(t, f, rollout('onebad'), 'Failed', 'one pod at 10 % among three: 3.3 points above stable, margin 2')
})

t.test('worst canary pod (pixie-canary-worst-pod)', async (t) => {
  const f = 'worst-pod.yaml'
  await expectPhase(t, f, rollout('onebad'), 'Failed', 'one bad pod among three')
  await expectPhase(t, f, rollout('good'), 'Successful', 'healthy canary')
  await expectPhase(t, f, rollout('bad'), 'Failed', 'bad-red canary')
  await expectPhase(t, f, rollout('quiet'), 'Inconclusive', 'canary without traffic')
})

t.test('canary p99 from the histogram (pixie-canary-latency-p99)', async (t) => {
  const f = 'latency-p99.yaml'
  const slow = await expectPhase(t, f, rollout('slow'), 'Failed', 'slow canary (p99 240 ms, 3x stable) against 0.2 s')
  await expectPhase(t, f, { ...rollout('slow'), 'canary-hash': STABLE }, 'Successful', "the same namespace's stable pods (p99 80 ms)")
  await expectPhase(t, f, rollout('good'), 'Successful', 'healthy canary (p99 80 ms)')
  await expectPhase(t, f, rollout('quiet'), 'Inconclusive', 'canary without traffic')
  t.comment(`slow canary p99 estimate from the buckets: ${slow.measurements[0]?.value ?? '?'} s`)
})

t.test("the old demo's web template on the exporter's /error-rate endpoint", async (t) => {
  const f = 'web-error-rate.yaml'
  await expectPhase(t, f, rollout('good'), 'Successful', 'healthy canary')
  await expectPhase(t, f, rollout('bad'), 'Failed', 'bad-red canary')
  await expectPhase(t, f, rollout('client'), 'Successful', '4xx are not errors')
  await expectPhase(t, f, rollout('quiet', 'trickle'), 'Inconclusive', 'canary below min-rps')
  await expectPhase(t, f, rollout('onebad'), 'Successful', 'one pod at 10 % among three: the aggregate (3.3 %) passes')
  const none = await expectPhase(t, f, rollout('quiet'), 'Error', 'canary without traffic: 404, an Error, never a pass')
  t.match(none.measurements[0]?.message, /answered 404/, 'because the endpoint answered 404')
})

const ALL_TEMPLATES = ['error-ratio.yaml', 'error-ratio-counters.yaml', 'vs-stable.yaml', 'worst-pod.yaml', 'latency-p99.yaml', 'web-error-rate.yaml']
const outageArgs = () => ({ ...rollout('outage'), 'exporter-address': exporterC.url })

t.test('Pixie outage during the analysis: never Successful once the data is stale', async (t) => {
  for (const f of ALL_TEMPLATES) await expectPhase(t, f, outageArgs(), 'Successful', `${f} before the outage`)
  await outageSim.close()
  outageSimClosed = true
  const stoppedAt = Date.now()
  await waitFor('the outage series to go stale in Prometheus', async () => ((await promQuery(prom.url, 'pixie_http_requests_per_second{namespace="outage"}')).length === 0 ? true : undefined), 30_000)
  t.comment(`series gone from Prometheus ${((Date.now() - stoppedAt) / 1000).toFixed(1)}s after the simulator stopped`)
  // Poll for longer than the counters' rate range: rate() still sees the
  // samples from before the outage, the templates' instant gate must not.
  const seen = new Map<string, Set<Phase>>()
  const until = Date.now() + 17_000
  while (Date.now() < until) {
    const results = await Promise.all(ALL_TEMPLATES.map((f) => decide(f, outageArgs())))
    results.forEach((r, i) => {
      const f = ALL_TEMPLATES[i] ?? ''
      seen.set(f, (seen.get(f) ?? new Set()).add(r.phase))
      if (r.phase === 'Successful') t.fail(`${f} was Successful during the outage: ${phaseOf(r)}`)
    })
    await new Promise((r) => setTimeout(r, 1000))
  }
  for (const f of ALL_TEMPLATES) {
    const want = f === 'web-error-rate.yaml' ? 'Error' : 'Inconclusive'
    t.same([...(seen.get(f) ?? [])], [want], `${f}: only ${want} during the outage`)
  }
})

t.test('time from the canary turning bad to the first Failed measurement', async (t) => {
  const delays = await detection
  t.equal(delays.length, TURN_AT_MS.length, 'every turning canary was detected')
  const d = delays.map((x) => x / 1000)
  const mean = d.reduce((a, b) => a + b, 0) / d.length
  t.comment(`scaled run (defaults / ${SCALE}): delays ${d.map((x) => x.toFixed(2)).join(', ')} s; mean ${mean.toFixed(2)} s, max ${Math.max(...d).toFixed(2)} s`)
  t.comment(`→ at the shipped defaults (x${SCALE}): mean ${(mean * SCALE).toFixed(1)} s, max ${(Math.max(...d) * SCALE).toFixed(1)} s`)
  // Model: the window must hold d = W * 0.05 / 0.82 of bad traffic; then wait
  // for the lag, the next poll, the next scrape and the next measurement.
  const need = (w: number) => (w * 0.05) / 0.82
  const ours = { lag: 5, need: need(30), poll: 15, scrape: 15, measure: 15 }
  const oursMin = ours.lag + ours.need
  t.comment(`model, our gauge template (interval 15s, window 30s, lag 5s, scrape 15s, measurement 15s): min ${oursMin.toFixed(1)} s, mean ${(oursMin + (ours.poll + ours.scrape + ours.measure) / 2).toFixed(1)} s, max ${(oursMin + ours.poll + ours.scrape + ours.measure).toFixed(1)} s`)
  t.comment(`model, old demo (PxL per measurement over the last 30s, measured every 30s): min ${need(30).toFixed(1)} s, mean ${(need(30) + 15).toFixed(1)} s, max ${(need(30) + 30).toFixed(1)} s`)
  t.ok(mean > 0, 'figures computed')
})

/**
 * For each `turn` canary, measures like Argo (one measurement every 1s, each
 * loop at its own phase) from 2s before it turns bad until the first Failed
 * measurement; returns the delays in ms (measurement time − turning time).
 */
async function measureDetection(): Promise<number[]> {
  const loops = TURN_AT_MS.map(async (at, i) => {
    const turnsAt = simStart + at
    const args = { namespace: 'turn', rollout: `t${i + 1}`, 'canary-hash': CANARY }
    await sleepUntil(turnsAt - 2000 + (i * 1000) / TURN_AT_MS.length)
    for (let tick = 0; tick < 20; tick++) {
      const measuredAt = Date.now()
      const r = await analyzeTemplate(templateText('error-ratio.yaml'), 'error-ratio.yaml', { args, prometheus: prom.url, now: () => measuredAt })
      if (r.phase === 'Failed') return measuredAt >= turnsAt ? [measuredAt - turnsAt] : []
      await sleepUntil(measuredAt + 1000)
    }
    return []
  })
  return (await Promise.all(loops)).flat()
}

async function sleepUntil(ms: number): Promise<void> {
  const wait = ms - Date.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
}
