/**
 * Decision tests: the Pixie API simulator → the compiled exporter → a real
 * Prometheus → the shipped analysis templates, judged as WHOLE AnalysisRuns
 * with Argo Rollouts' rules (count, failureLimit, inconclusiveLimit,
 * consecutiveErrorLimit; src/analyze/run.ts). Runs are played over the
 * Prometheus history with the backtest logic (each measurement evaluated at
 * its instant through the API's `time` parameter), several start times per
 * case, and every run must reach the expected phase.
 *
 * Every period is the shipped default scaled down 5 times (SCALE): exporter
 * interval 5s → 1s, window 10s → 2s, lag 5s → 1s; Prometheus scrapes every
 * 1s for the ServiceMonitor's 5s; templates measure every 1s for 5s, with
 * max-data-age 3 (15), coverage-delay 5s (25s), range 6s (30s) and
 * min-requests 10 (50 in a range five times longer); count and the limits as
 * shipped. Each case lives in its own namespace (decisions.yaml). The late
 * outage has its own file (outage-runs.ts).
 *
 * The detection-time measurement (an 82 %-5xx canary turning bad) measures
 * live, as Argo would, one loop per canary; figures are printed, never asserted.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { analyzeTemplate, backtestTemplate, type AnalyzeResult } from '../../src/analyze/command.js'
import type { Phase } from '../../src/analyze/measure.js'
import { loadScenarioFile, startSimulator } from '../../src/simulator/server.js'
import { TEMPLATES_DIR } from '../fixtures/analysis-manifests.js'
import { sinkLogger } from '../fixtures/logger.js'
import { findTool, promQuery, startChild, freePort, startExporter, startPrometheus, waitFor } from '../fixtures/tools.js'

const SCENARIOS = join(import.meta.dirname, '..', 'fixtures', 'analysis-scenarios')
const CLUSTER_ID = '10000000-0000-0000-0000-000000000001'
const STABLE = '6d8c6b9c8f'
const CANARY = '7f6d5c9b4b'
/** Scenario time zero lies this far in the past, so every window is full. */
const HEAD_START_MS = 60_000
/** The `turn` canaries turn bad at these scenario offsets (decisions.yaml). */
const TURN_AT_MS = Array.from({ length: 10 }, (_, i) => 100_000 + i * 370)
/** The `lateturn` canary turns 25 % 5xx at this scenario offset. */
const LATE_TURN_AT_MS = 105_000
/** Scale factor of the test's periods against the shipped defaults. */
const SCALE = 5

// Whole runs need their history to exist first: this file waits for real
// time to pass (about a minute and a half), longer under load than .taprc's 120 s allow.
t.setTimeout(240_000)

const prometheusFound = findTool('prometheus')
if (prometheusFound instanceof Error) t.fail(prometheusFound.message)

/** The shipped defaults scaled down (see the header); thresholds as shipped. */
const SCALED_ARGS = { interval: '1s', range: '6s', 'min-requests': '10', 'max-data-age': '3', 'coverage-delay': '5s' }
/** Length of a scaled run: coverage-delay + (count − 1) × interval. */
const RUN_S = 5 + 23

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

const env = { PX_CLUSTER_ID: CLUSTER_ID }
const pixieArgs = ['--pixie.address', sim.address, '--pixie.tls', 'plaintext']
const SCALED_EXPORTER = ['interval: 1s', 'window: 2s', 'lag: 1s']
const exporterA = await startExporter(['--config', exporterConfig([...SCALED_EXPORTER, 'namespaces:', '  exclude: [turn]']), ...pixieArgs], env)
t.teardown(() => exporterA.stop())
const exporterB = await startExporter(['--config', exporterConfig([...SCALED_EXPORTER, 'namespaces:', '  include: [turn]']), ...pixieArgs], env)
t.teardown(() => exporterB.stop())
const prom = await startPrometheus([exporterA, exporterB].map((e) => e.url.replace('http://', '')))
t.teardown(() => prom.stop())

await waitFor('canary counters in Prometheus', async () => ((await promQuery(prom.url, 'pixie_http_requests_total{namespace="good"}')).length > 0 ? true : undefined), 30_000)
await waitFor('8s of counter history', async () => {
  const [s] = await promQuery(prom.url, 'min(count_over_time(pixie_http_requests_total{namespace="good"}[9s]))')
  return s !== undefined && s.value >= 8 ? true : undefined
}, 30_000)
/** Runs judged in the steady cases start here (whole seconds, so instants are shared). */
const runStart = Math.floor(Date.now() / 1000) * 1000

const rollout = (namespace: string, name = 'app') => ({ namespace, rollout: name, 'canary-hash': CANARY, 'stable-hash': STABLE, 'exporter-address': exporterA.url })

function declaredArgs(file: string, args: Record<string, string>): Record<string, string> {
  const declared = new Set(templateText(file).match(/- name: [a-z0-9-]+/g)?.map((m) => m.slice(8)) ?? [])
  return Object.fromEntries(Object.entries(args).filter(([k]) => declared.has(k)))
}

/** Waits until a run starting at `lastStart` has all its data. */
async function historyUntil(lastStart: number): Promise<void> {
  const wait = lastStart + RUN_S * 1000 + 1500 - Date.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
}

/** Judges whole runs of a template starting at each of `starts` (ms) and returns their phases, with a description. */
async function judge(file: string, args: Record<string, string>, starts: number[]): Promise<{ phases: Phase[]; detail: string }> {
  const step = starts.length > 1 ? (starts[1] ?? 0) - (starts[0] ?? 0) : 1000
  await historyUntil(starts.at(-1) ?? 0)
  const r = await backtestTemplate(templateText(file), file, {
    args: declaredArgs(file, { ...SCALED_ARGS, ...args }),
    prometheus: prom.url,
    fromMs: starts[0] ?? 0,
    toMs: starts.at(-1) ?? 0,
    stepMs: step,
  })
  const letters: Record<Phase, string> = { Successful: 'S', Failed: 'F', Inconclusive: 'I', Error: 'E' }
  const detail = r.runs
    .map((x) => `${x.result.phase}[${x.result.metrics.map((m) => `${m.name} ${m.measurements.map((v) => `${letters[v.phase]}${v.phase === 'Successful' ? '' : `(${v.value})`}`).join('')}`).join(' | ')}]`)
    .join('; ')
  return { phases: r.runs.map((x) => x.result.phase), detail }
}

const steadyStarts = [0, 1, 2].map((i) => runStart + i * 1000)

async function expectRuns(t: Tap, file: string, args: Record<string, string>, want: Phase, what: string, starts = steadyStarts) {
  const { phases, detail } = await judge(file, args, starts)
  t.same(phases, starts.map(() => want), `${what}: ${starts.length} whole runs → ${want}\n${detail}`)
}
/** The assertion surface the helpers need. */
type Tap = Pick<typeof t, 'equal' | 'same'>

// The detection-time measurement runs in the background from now on.
const detection = measureDetection()

t.test('error ratio from the gauges (pixie-canary-error-ratio), whole runs', async (t) => {
  const f = 'error-ratio.yaml'
  await expectRuns(t, f, rollout('good'), 'Successful', 'healthy canary')
  await expectRuns(t, f, rollout('bad'), 'Failed', 'bad-red canary (82 % HTTP 500)')
  await expectRuns(t, f, rollout('quiet'), 'Inconclusive', 'canary without any traffic')
  await expectRuns(t, f, rollout('quiet', 'trickle'), 'Inconclusive', 'canary at 0.4 rps (below min-rps 1)')
  await expectRuns(t, f, rollout('client'), 'Successful', 'canary answering 40 % 404 and no 5xx')
  await expectRuns(t, f, rollout('onebad'), 'Successful', 'one pod at 10 % among three (aggregate 3.3 %) passes the aggregate')
  await expectRuns(t, f, { ...rollout('good'), 'canary-hash': '' }, 'Inconclusive', 'an empty hash (misconfigured Rollout) selects nothing')
})

t.test('error ratio from the counters (pixie-canary-error-ratio-counters), whole runs', async (t) => {
  const f = 'error-ratio-counters.yaml'
  await expectRuns(t, f, rollout('good'), 'Successful', 'healthy canary')
  await expectRuns(t, f, rollout('bad'), 'Failed', 'bad-red canary')
  await expectRuns(t, f, rollout('quiet'), 'Inconclusive', 'canary without any traffic')
  await expectRuns(t, f, rollout('quiet', 'trickle'), 'Inconclusive', 'canary below min-requests')
  await expectRuns(t, f, rollout('client'), 'Successful', 'many 4xx, no 5xx')
  await expectRuns(t, f, { ...rollout('client'), 'error-classes': '4xx|5xx' }, 'Failed', "many 4xx with the old demo's definition (error-classes 4xx|5xx)")
})

t.test('canary compared with stable (pixie-canary-vs-stable), whole runs', async (t) => {
  const f = 'vs-stable.yaml'
  await expectRuns(t, f, rollout('good'), 'Successful', 'canary as good as stable')
  await expectRuns(t, f, rollout('bad'), 'Failed', 'bad-red canary against a healthy stable')
  await expectRuns(t, f, rollout('client'), 'Successful', '4xx are not errors')
  await expectRuns(t, f, rollout('quiet'), 'Inconclusive', 'canary without traffic')
  await expectRuns(t, f, rollout('onebad'), 'Failed', 'one pod at 10 % among three: 3.3 points above stable, margin 2')
})

t.test('worst canary pod (pixie-canary-worst-pod), whole runs', async (t) => {
  const f = 'worst-pod.yaml'
  await expectRuns(t, f, rollout('onebad'), 'Failed', 'one bad pod among three')
  await expectRuns(t, f, rollout('good'), 'Successful', 'healthy canary')
  await expectRuns(t, f, rollout('bad'), 'Failed', 'bad-red canary')
  await expectRuns(t, f, rollout('quiet'), 'Inconclusive', 'canary without traffic')
})

t.test('latency: a 3x regression under the absolute threshold passes latency-p99, fails latency-vs-stable', async (t) => {
  await expectRuns(t, 'latency-p99.yaml', rollout('slow'), 'Successful', 'slow canary (p99 240 ms, 3x stable) against the shipped 0.5 s')
  await expectRuns(t, 'latency-p99.yaml', { ...rollout('slow'), 'max-p99-seconds': '0.2' }, 'Failed', 'the same canary against 0.2 s (an SLO gate still works)')
  await expectRuns(t, 'latency-p99.yaml', rollout('quiet'), 'Inconclusive', 'canary without traffic')
  const f = 'latency-vs-stable.yaml'
  await expectRuns(t, f, rollout('slow'), 'Failed', 'slow canary: p99 and p90 exceed 1.5 × stable + 25 ms')
  await expectRuns(t, f, rollout('good'), 'Successful', 'healthy canary (p99 80 ms, as stable)')
  await expectRuns(t, f, rollout('quiet'), 'Inconclusive', 'canary without traffic (min-requests on the canary side)')
  await expectRuns(t, f, { ...rollout('slow'), 'canary-hash': STABLE, 'stable-hash': 'aaaaaaaaaa' }, 'Inconclusive', 'stable without traffic (min-requests on the stable side)')
  // The bucket estimates (interpolated in 0.05–0.1 s and 0.1–0.25 s) read
  // the canary about 4.5 times slower than stable.
  await expectRuns(t, f, { ...rollout('slow'), 'max-latency-factor': '6' }, 'Successful', 'a factor of 6 tolerates the canary')
})

t.test('a late turn (25 % HTTP 500 in the second half of the run) fails every run, gauges and counters', async (t) => {
  const turn = simStart + LATE_TURN_AT_MS
  // Runs whose judging measurements (start … start + 23s) meet the turn at 12s … 17s.
  const starts = [17, 16, 15, 14, 13, 12].map((k) => Math.floor((turn - k * 1000) / 1000) * 1000)
  for (const f of ['error-ratio.yaml', 'error-ratio-counters.yaml']) {
    await expectRuns(t, f, rollout('lateturn'), 'Failed', `${f}: canary turning bad 12–17 s (60–85 s at full scale) into the run`, starts)
  }
})

t.test("the old demo's web template on the exporter's /error-rate endpoint (one measurement each)", async (t) => {
  const f = 'web-error-rate.yaml'
  const one = async (args: Record<string, string>, want: Phase, what: string): Promise<AnalyzeResult> => {
    const r = await analyzeTemplate(templateText(f), f, { args: declaredArgs(f, args) })
    t.equal(r.phase, want, `${what} → ${want}: ${r.measurements.map((m) => `${m.value} ${m.message}`).join('; ')}`)
    return r
  }
  await one(rollout('good'), 'Successful', 'healthy canary')
  await one(rollout('bad'), 'Failed', 'bad-red canary')
  await one(rollout('client'), 'Successful', '4xx are not errors')
  // 0.4 rps in the scaled 2s window: one request (0.5 rps, Inconclusive) or
  // none (no row: 404, Error); never a pass.
  const trickle = await analyzeTemplate(templateText(f), f, { args: declaredArgs(f, rollout('quiet', 'trickle')) })
  t.ok(['Inconclusive', 'Error'].includes(trickle.phase), `canary below min-rps → never Successful: ${trickle.phase} ${trickle.measurements[0]?.value ?? ''}`)
  await one(rollout('onebad'), 'Successful', 'one pod at 10 % among three: the aggregate (3.3 %) passes')
  const none = await one(rollout('quiet'), 'Error', 'canary without traffic: 404, an Error, never a pass')
  t.match(none.measurements[0]?.message, /answered 404/, 'because the endpoint answered 404')
})

t.test('without honor_labels the series carry exported_pod; analyze says so', async (t) => {
  // Kubernetes service discovery gives targets `namespace` and `pod` labels;
  // without honor_labels Prometheus renames the exporter's to exported_*.
  const bin = findTool('prometheus')
  if (bin instanceof Error) return t.fail(bin.message)
  const dir = mkdtempSync(join(tmpdir(), 'pxe-prom-nohonor-'))
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: {scrape_interval: 1s}',
      'scrape_configs:',
      '  - job_name: pixie-exporter',
      `    static_configs: [{targets: [${JSON.stringify(exporterA.url.replace('http://', ''))}], labels: {namespace: pixie-exporter, pod: pixie-exporter-0}}]`,
      '',
    ].join('\n'),
  )
  const port = await freePort()
  const child = startChild(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'])
  t.teardown(() => child.stop())
  const url = `http://127.0.0.1:${port}`
  await waitFor('the series, relabelled', async () => ((await promQuery(url, 'pixie_http_requests_per_second{exported_namespace="bad"}')).length > 0 ? true : undefined), 30_000)
  const f = 'error-ratio.yaml'
  const r = await analyzeTemplate(templateText(f), f, { args: declaredArgs(f, { ...SCALED_ARGS, ...rollout('bad') }), prometheus: url, metrics: ['canary-error-ratio'] })
  t.equal(r.phase, 'Inconclusive', 'the bad canary reads NaN: selected by namespace/pod, found nothing')
  t.match(r.warnings.join('\n'), /WITHOUT honor_labels[\s\S]*exported_namespace and exported_pod[\s\S]*honorLabels: true/, 'and the warning names the cause and the fix')
  const fine = await analyzeTemplate(templateText(f), f, { args: declaredArgs(f, { ...SCALED_ARGS, ...rollout('quiet') }), prometheus: prom.url, metrics: ['canary-error-ratio'] })
  t.same(fine.warnings, [], 'no warning when the labels are honoured')
})

t.test('time from the canary turning bad to the first Failed measurement', async (t) => {
  const delays = await detection
  t.ok(delays.length >= TURN_AT_MS.length - 1, `most canaries detected (${delays.length} of ${TURN_AT_MS.length})`)
  const d = delays.map((x) => x / 1000)
  const mean = d.reduce((a, b) => a + b, 0) / d.length
  t.comment(`scaled run (defaults / ${SCALE}): delays ${d.map((x) => x.toFixed(2)).join(', ')} s; mean ${mean.toFixed(2)} s, max ${Math.max(...d).toFixed(2)} s`)
  t.comment(`→ at the shipped defaults (x${SCALE}): mean ${(mean * SCALE).toFixed(1)} s, max ${(Math.max(...d) * SCALE).toFixed(1)} s`)
  // Model: the window must hold W * 0.05 / 0.82 of bad traffic; then wait for
  // the lag, the next poll, the next scrape and the next measurement.
  const need = (w: number) => (w * 0.05) / 0.82
  const ours = { lag: 5, need: need(10), poll: 5, scrape: 5, measure: 5 }
  const oursMin = ours.lag + ours.need
  t.comment(`model, shipped defaults (interval 5s, window 10s, lag 5s, scrape 5s, measurement 5s): min ${oursMin.toFixed(1)} s, mean ${(oursMin + (ours.poll + ours.scrape + ours.measure) / 2).toFixed(1)} s, max ${(oursMin + ours.poll + ours.scrape + ours.measure).toFixed(1)} s`)
  t.comment(`model, old demo (PxL per measurement over the last 30s, measured every 30s): min ${need(30).toFixed(1)} s, mean ${(need(30) + 15).toFixed(1)} s, max ${(need(30) + 30).toFixed(1)} s`)
  // The same model at the test's scaled periods (lag 1s, window 2s, poll,
  // scrape and measurement every 1s). No measurement can fail before the bad
  // traffic has entered a polled window (causality, min); the mean should sit
  // inside the model's range, with 2 s allowed above for a loaded machine.
  const scaled = { lag: 1, need: need(2), poll: 1, scrape: 1, measure: 1 }
  const scaledMin = scaled.lag + scaled.need
  const scaledMax = scaledMin + scaled.poll + scaled.scrape + scaled.measure
  t.ok(Math.min(...d) >= scaledMin - 0.05, `no detection before the scaled minimum ${scaledMin.toFixed(2)} s (earliest ${Math.min(...d).toFixed(2)} s)`)
  t.ok(mean <= scaledMax + 2, `mean delay ${mean.toFixed(2)} s is within the scaled model's maximum ${scaledMax.toFixed(2)} s (+2 s under load)`)
})

/**
 * For each `turn` canary, measures like Argo (one measurement every 1s, each
 * loop at its own phase) from 2s before it turns bad until the first Failed
 * measurement; returns the delays in ms (measurement time − turning time).
 */
async function measureDetection(): Promise<number[]> {
  const f = 'error-ratio.yaml'
  const loops = TURN_AT_MS.map(async (at, i) => {
    const turnsAt = simStart + at
    const args = declaredArgs(f, { ...SCALED_ARGS, namespace: 'turn', rollout: `t${i + 1}`, 'canary-hash': CANARY })
    await sleepUntil(turnsAt - 2000 + (i * 1000) / TURN_AT_MS.length)
    for (let tick = 0; tick < 30; tick++) {
      const measuredAt = Date.now()
      const r = await analyzeTemplate(templateText(f), f, { args, prometheus: prom.url, now: () => measuredAt, metrics: ['canary-error-ratio'] })
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
