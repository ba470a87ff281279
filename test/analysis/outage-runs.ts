/**
 * A Pixie outage at ANY moment of an analysis is never Successful: the
 * simulator plays a healthy rollout whose Pixie API becomes unavailable at a
 * known instant (outage.yaml, fault from 115s), scraped by a real Prometheus,
 * and every Prometheus template is judged as whole AnalysisRuns with Argo's
 * rules, for runs starting so that the outage begins at every second of the
 * judging metric's measurements (and just after the start). A run that ended
 * before the outage is Successful.
 *
 * Two replicas: a second Prometheus also scrapes a second exporter whose
 * Pixie stays up (the same scenario without the fault). There, each replica
 * is judged on its own freshness, so the runs across the outage are
 * Successful on the healthy replica's data.
 *
 * Periods are the shipped defaults scaled down 5 times, as in decisions.ts.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { backtestTemplate } from '../../src/analyze/command.js'
import type { Phase } from '../../src/analyze/measure.js'
import { loadScenarioFile, startSimulator } from '../../src/simulator/server.js'
import { TEMPLATES_DIR } from '../fixtures/analysis-manifests.js'
import { sinkLogger } from '../fixtures/logger.js'
import { findTool, promQuery, startExporter, startPrometheus, waitFor } from '../fixtures/tools.js'

const SCENARIO = join(import.meta.dirname, '..', 'fixtures', 'analysis-scenarios', 'outage.yaml')
/** Scenario time zero lies this far in the past. */
const HEAD_START_MS = 60_000
/** The outage (fault `unavailable`) starts at this scenario offset. */
const OUTAGE_AT_MS = 115_000
const SCALED_ARGS = { interval: '1s', range: '6s', 'min-requests': '10', 'max-data-age': '3', 'coverage-delay': '5s' }
/** coverage-delay + (count − 1) × interval, seconds. */
const RUN_S = 5 + 23
const TEMPLATES = ['error-ratio.yaml', 'error-ratio-counters.yaml', 'vs-stable.yaml', 'worst-pod.yaml', 'latency-p99.yaml', 'latency-vs-stable.yaml']

// Whole runs need their history to exist first: this file waits for real
// time to pass (about a minute and a half), longer under load than .taprc's 120 s allow.
t.setTimeout(240_000)

const prometheusFound = findTool('prometheus')
if (prometheusFound instanceof Error) t.fail(prometheusFound.message)

const simStart = Date.now() - HEAD_START_MS
const sim = await startSimulator({ scenario: loadScenarioFile(SCENARIO), listen: '127.0.0.1:0', logger: sinkLogger('warn').logger, startedAt: simStart })
t.teardown(() => sim.close())
const dir = mkdtempSync(join(tmpdir(), 'pxe-outage-'))
writeFileSync(join(dir, 'config.yaml'), ['collectors:', '  http:', '    interval: 1s', '    window: 2s', '    lag: 1s', ''].join('\n'))
const exporter = await startExporter(['--config', join(dir, 'config.yaml'), '--pixie.address', sim.address, '--pixie.tls', 'plaintext'], { PX_CLUSTER_ID: '10000000-0000-0000-0000-000000000001' })
t.teardown(() => exporter.stop())
const prom = await startPrometheus([exporter.url.replace('http://', '')])
t.teardown(() => prom.stop())
const healthyScenario = { ...loadScenarioFile(SCENARIO), faults: [] }
const healthySim = await startSimulator({ scenario: healthyScenario, listen: '127.0.0.1:0', logger: sinkLogger('warn').logger, startedAt: simStart })
t.teardown(() => healthySim.close())
const replica = await startExporter(['--config', join(dir, 'config.yaml'), '--pixie.address', healthySim.address, '--pixie.tls', 'plaintext'], { PX_CLUSTER_ID: '10000000-0000-0000-0000-000000000001' })
t.teardown(() => replica.stop())
const promHa = await startPrometheus([exporter, replica].map((e) => e.url.replace('http://', '')))
t.teardown(() => promHa.stop())
await waitFor('canary series in Prometheus', async () => ((await promQuery(prom.url, 'pixie_http_requests_total{namespace="outage"}')).length > 0 ? true : undefined), 30_000)

const outageAt = simStart + OUTAGE_AT_MS
const args = { namespace: 'outage', rollout: 'app', 'canary-hash': '7f6d5c9b4b', 'stable-hash': '6d8c6b9c8f', ...SCALED_ARGS }
const sec = (ms: number) => Math.floor(ms / 1000) * 1000

async function judge(file: string, fromMs: number, toMs: number, stepMs: number, promUrl = prom.url): Promise<{ starts: number[]; phases: Phase[]; detail: string[] }> {
  const wait = toMs + RUN_S * 1000 + 1500 - Date.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  const text = readFileSync(join(TEMPLATES_DIR, file), 'utf8')
  const declared = new Set(text.match(/- name: [a-z0-9-]+/g)?.map((m) => m.slice(8)) ?? [])
  const r = await backtestTemplate(text, file, { args: Object.fromEntries(Object.entries(args).filter(([k]) => declared.has(k))), prometheus: promUrl, fromMs, toMs, stepMs })
  const letter: Record<Phase, string> = { Successful: 'S', Failed: 'F', Inconclusive: 'I', Error: 'E' }
  return {
    starts: r.runs.map((x) => x.startedAt),
    phases: r.runs.map((x) => x.result.phase),
    detail: r.runs.map((x) => `outage at +${((outageAt - x.startedAt) / 1000).toFixed(1)}s: ${x.result.phase} [${x.result.metrics.map((m) => `${m.name} ${m.measurements.map((v) => letter[v.phase]).join('')}`).join(' | ')}]`),
  }
}

t.test('an outage starting at any moment of the judging measurements, or just before the run, is never Successful', async (t) => {
  // Starts from 23 s before the outage (it meets the last judging
  // measurement) to 1 s after it, every second.
  const from = sec(outageAt - 23_000)
  const to = sec(outageAt + 1_000)
  for (const f of TEMPLATES) {
    const r = await judge(f, from, to, 1000)
    t.ok(r.phases.length >= 24, `${f}: ${r.phases.length} runs judged`)
    const passed = r.detail.filter((_, i) => r.phases[i] === 'Successful')
    t.same(passed, [], `${f}: no run Successful\n${r.detail.join('\n')}`)
    t.notOk(r.phases.includes('Failed'), `${f}: stale data never fails a canary (it pauses the rollout)`)
  }
})

t.test('a run that ended before the outage is Successful (the gate does not reject healthy data)', async (t) => {
  const start = sec(outageAt - (RUN_S + 3) * 1000)
  for (const f of TEMPLATES) {
    const r = await judge(f, start, start, 1000)
    t.same(r.phases, ['Successful'], `${f}: ${r.detail.join('\n')}`)
  }
})

t.test('two replicas, one whose Pixie is down: the fresh replica carries the analysis', async (t) => {
  const from = sec(outageAt - 20_000)
  const to = sec(outageAt)
  for (const f of TEMPLATES) {
    const r = await judge(f, from, to, 5000, promHa.url)
    t.same(r.phases, r.starts.map(() => 'Successful'), `${f}: every run Successful\n${r.detail.join('\n')}`)
  }
})
