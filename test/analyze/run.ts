/**
 * Whole AnalysisRuns with Argo Rollouts' rules (src/analyze/run.ts), played
 * in virtual time with scripted measurement phases; then `analyze --run` and
 * `analyze --backtest` end to end against a scripted Prometheus API on
 * loopback.
 */
import t from 'tap'
import { createServer } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ANALYZE_EXIT, backtestTemplate, parseTime, runAnalyzeCommand } from '../../src/analyze/command.js'
import type { Measurement, Phase } from '../../src/analyze/measure.js'
import { ERROR_RETRY_MS, parseGoDuration, runAnalysis, runSpecOf, virtualTimeHooks } from '../../src/analyze/run.js'
import type { TemplateMetric } from '../../src/analyze/template.js'

const metric = (name: string, fields: Record<string, unknown> = {}): TemplateMetric => ({ name, provider: { prometheus: { query: name } }, ...fields })

/** Virtual run where `script[name]` gives the phases of a metric's measurements in order. */
async function play(metrics: TemplateMetric[], script: Record<string, Phase[]>) {
  const taken: { name: string; at: number }[] = []
  const next = new Map<string, number>()
  const measure = async (m: TemplateMetric, at: number): Promise<Measurement> => {
    const i = next.get(m.name) ?? 0
    next.set(m.name, i + 1)
    taken.push({ name: m.name, at })
    const phase = script[m.name]?.[i] ?? 'Successful'
    return { metric: m.name, phase, value: '0', result: 0, message: '', resolved: m.name }
  }
  const result = await runAnalysis(metrics, 0, virtualTimeHooks(measure))
  return { result, taken }
}

const S = 'Successful'
const I = 'Inconclusive'
const F = 'Failed'
const E = 'Error'

t.test('count reached with every measurement Successful → Successful, measured every interval after initialDelay', async (t) => {
  const { result, taken } = await play([metric('m', { interval: '5s', count: '4', initialDelay: '30s' })], {})
  t.equal(result.phase, 'Successful', 'run Successful')
  t.same(taken.map((x) => x.at), [30_000, 35_000, 40_000, 45_000], 'first after initialDelay, then every interval')
  t.match(result.metrics[0]?.reason, /count \(4\) reached/, "Argo's reason")
})

t.test('Inconclusive measurements within the limit still end Successful at count (why the freshness gate matters)', async (t) => {
  const { result } = await play([metric('m', { interval: '5s', count: '4', inconclusiveLimit: '2' })], { m: [S, S, I, I] })
  t.equal(result.phase, 'Successful', 'two NaNs at the end are within inconclusiveLimit 2')
  const over = await play([metric('m', { interval: '5s', count: '8', inconclusiveLimit: '2' })], { m: [S, I, S, I, I, S, S, S] })
  t.equal(over.result.phase, 'Inconclusive', 'the third Inconclusive exceeds the limit')
  t.equal(over.result.metrics[0]?.measurements.length, 5, 'and ends the metric at once')
})

t.test('a Failed measurement beyond failureLimit fails the run and terminates the other metrics', async (t) => {
  const { result, taken } = await play(
    [metric('judge', { interval: '5s', count: '6' }), metric('fresh', { interval: '5s', count: '6', initialDelay: '30s' })],
    { judge: [S, S, F] },
  )
  t.equal(result.phase, 'Failed', 'run Failed')
  t.equal(result.metrics[1]?.phase, 'Successful', 'the other metric counts as Successful (run terminated)')
  t.equal(taken.filter((x) => x.name === 'fresh').length, 0, 'and took no measurement')
  const tolerated = await play([metric('m', { interval: '5s', count: '3', failureLimit: '1' })], { m: [F, S, S] })
  t.equal(tolerated.result.phase, 'Successful', 'failureLimit 1 tolerates one Failed')
  const disabled = await play([metric('m', { interval: '5s', count: '3', failureLimit: '-1', consecutiveSuccessLimit: '2' })], { m: [F, F, F] })
  t.equal(disabled.result.phase, 'Failed', 'failureLimit -1 with consecutiveSuccessLimit not reached at count → Failed')
})

t.test('a late data-fresh Inconclusive makes the whole run Inconclusive, even after the judging metric succeeded', async (t) => {
  const { result } = await play(
    [metric('judge', { interval: '5s', count: '4', inconclusiveLimit: '2' }), metric('fresh', { interval: '5s', count: '4', initialDelay: '30s', inconclusiveLimit: '0' })],
    { judge: [S, S, S, I], fresh: [S, S, S, I] },
  )
  t.equal(result.metrics[0]?.phase, 'Successful', 'judging metric Successful')
  t.equal(result.phase, 'Inconclusive', 'run Inconclusive')
})

t.test('Error measurements are retried after 10s, do not count, and the fifth in a row is an Error', async (t) => {
  const { result, taken } = await play([metric('m', { interval: '5s', count: '2' })], { m: [E, S, E, E, E, E, E] })
  t.equal(result.phase, 'Error', 'consecutiveErrors (5) > consecutiveErrorLimit (4)')
  t.same(taken.map((x) => x.at).slice(0, 3), [0, ERROR_RETRY_MS, ERROR_RETRY_MS + 5_000], 'retry after 10s, then the interval again')
  t.equal(result.metrics[0]?.count, 1, 'errors do not count toward count')
  const recovered = await play([metric('m', { interval: '5s', count: '2', consecutiveErrorLimit: '1' })], { m: [E, S, E, S] })
  t.equal(recovered.result.phase, 'Successful', 'a success resets the consecutive errors')
})

t.test("Argo's validation is explained, not just quoted", async (t) => {
  t.throws(() => runSpecOf(metric('m', { interval: '5s', count: '2', inconclusiveLimit: '3' })), {
    code: 'PXE_ERR_ANALYZE_TEMPLATE',
    message: /count \(2\) must be >= inconclusiveLimit \(3\)\. Argo Rollouts rejects such an AnalysisRun before any measurement .*Raise count \(--arg count=3\) or lower inconclusive-limit \(--arg inconclusive-limit=2\)/,
  })
  t.throws(() => runSpecOf(metric('m', { count: '3' })), { message: /interval must be specified when count > 1/ })
  t.throws(() => runSpecOf(metric('m', { interval: '5s', count: '3', failureLimit: '-1' })), { message: /cannot both be disabled/ })
  t.throws(() => runSpecOf(metric('m', { interval: 'soon' })), { message: /invalid interval "soon"/ })
  t.equal(runSpecOf(metric('m')).count, 1, 'neither count nor interval: one measurement')
  t.equal(parseGoDuration('1m30s'), 90_000, 'Go durations')
  t.equal(parseGoDuration('1.5s'), 1500, 'with fractions')
})

/** A scripted Prometheus: answers `answer(query, time)` as a scalar. */
async function fakeProm(answer: (query: string, timeS: number) => string) {
  const seen: { query: string; time: number }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      const form = new URLSearchParams(body)
      const query = form.get('query') ?? ''
      const time = Number(form.get('time'))
      seen.push({ query, time })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [time, answer(query, time)] } }))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  return { url: `http://127.0.0.1:${a.port}`, seen }
}

const TEMPLATE = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: bt}
spec:
  args:
    - name: interval
      value: 10ms
    - name: count
      value: "3"
  metrics:
    - name: ratio
      interval: "{{args.interval}}"
      count: "{{args.count}}"
      inconclusiveLimit: "1"
      successCondition: "!isNaN(result) && result <= 0.05"
      failureCondition: "!isNaN(result) && result > 0.05"
      provider: {prometheus: {address: "", query: ratio}}
`

t.test('analyze --run prints every measurement and the run phase; exit status by the run', async (t) => {
  let n = 0
  const prom = await fakeProm(() => (++n === 2 ? 'NaN' : '0.01'))
  const dir = t.testdir({})
  const file = join(dir, 't.yaml')
  writeFileSync(file, TEMPLATE)
  let out = ''
  let err = ''
  const code = await runAnalyzeCommand(['--template', file, '--run', '--prometheus', prom.url], { stdout: (s) => (out += s), stderr: (s) => (err += s) })
  t.equal(code, ANALYZE_EXIT.Successful, `exit 0 (${err})`)
  t.equal(out.match(/ ratio #\d: /g)?.length, 3, 'three measurements printed')
  t.match(out, /ratio #2: Inconclusive {2}value=NaN/, 'each with phase and value')
  t.match(out, /metric ratio: Successful {2}\(count \(3\) reached; successful 2, failed 0, inconclusive 1, error 0\)/, 'metric summary')
  t.match(out, /analysis run: Successful/, 'run phase')
  const bad = await runAnalyzeCommand(['--template', file, '--run', '--arg', 'count=0', '--arg', 'interval=', '--prometheus', prom.url], { stdout: () => {}, stderr: (s) => (err += s) })
  t.equal(bad, ANALYZE_EXIT.Successful, 'count 0 without interval is one measurement')
  let e2 = ''
  const invalid = await runAnalyzeCommand(['--template', file, '--run', '--arg', 'count=0', '--prometheus', prom.url], { stdout: () => {}, stderr: (s) => (e2 += s) })
  t.equal(invalid, ANALYZE_EXIT.usage, 'an interval without count cannot be played out')
  t.match(e2, /has an interval but no count/, 'and says why')
})

t.test('analyze --backtest evaluates each measurement at its past instant and reports the share of failed runs', async (t) => {
  const T0 = 1_700_000_000
  // The canary is bad from T0+60s on.
  const prom = await fakeProm((_q, time) => (time >= T0 + 60 ? '0.5' : '0.01'))
  const now = () => (T0 + 3600) * 1000
  const r = await backtestTemplate(TEMPLATE.replace('value: 10ms', 'value: 10s'), 't.yaml', { args: {}, prometheus: prom.url, now, fromMs: T0 * 1000, toMs: (T0 + 90) * 1000, stepMs: 30_000 })
  t.same(
    r.runs.map((x) => x.result.phase),
    ['Successful', 'Successful', 'Failed', 'Failed'],
    'runs measuring only before the turn pass; runs meeting it fail',
  )
  t.same(r.runs[1]?.result.metrics[0]?.measurements.map((m) => m.at / 1000 - T0), [30, 40, 50], 'measurements at start + k × interval')
  const times = new Set(prom.seen.filter((x) => x.query === 'ratio').map((x) => x.time))
  t.ok(times.has(T0 + 60), 'Prometheus was asked at the past instant (time parameter)')
  t.equal(prom.seen.filter((x) => x.query === 'ratio').length, times.size, 'each instant asked once, shared between runs')
  const late = await backtestTemplate(TEMPLATE.replace('value: 10ms', 'value: 10s'), 't.yaml', { args: {}, prometheus: prom.url, now: () => (T0 + 100) * 1000, fromMs: T0 * 1000, toMs: (T0 + 90) * 1000, stepMs: 30_000 })
  t.equal(late.skipped, 1, 'a run that would end after now is left out')

  const dir = t.testdir({})
  const file = join(dir, 't.yaml')
  writeFileSync(file, TEMPLATE.replace('value: 10ms', 'value: 10s'))
  let out = ''
  const code = await runAnalyzeCommand(['--template', file, '--backtest', '--from', String(T0), '--to', String(T0 + 90), '--step', '30s', '--prometheus', prom.url], {
    stdout: (s) => (out += s),
    stderr: () => {},
    now,
  })
  t.equal(code, 0, 'a backtest exits 0 with its report')
  t.match(out, /runs: 4; Successful 2, Failed 2 \(50\.0 % would have aborted the rollout\)/, 'share of failed runs')
  t.match(out, /2023-11-14T22:13:20\.000Z {2}Successful {3}ratio SSS/, 'per-start decision with its measurements')
  t.match(out, /Failed {7}\(ratio: failed \(1\) > failureLimit \(0\)\)/, 'why a run failed')
})

t.test('backtest flags: times, mutual exclusion', async (t) => {
  const now = Date.parse('2026-11-29T12:00:00Z')
  t.equal(parseTime('--from', 'now-2h', now), now - 7_200_000, 'now-DURATION')
  t.equal(parseTime('--from', '2026-11-29T10:00:00Z', now), Date.parse('2026-11-29T10:00:00Z'), 'RFC 3339')
  t.equal(parseTime('--from', '1700000000', now), 1_700_000_000_000, 'unix seconds')
  t.throws(() => parseTime('--from', 'yesterday', now), { message: /--from: "yesterday" is not a time/ })
  let err = ''
  const io = { stdout: () => {}, stderr: (s: string) => (err += s) }
  t.equal(await runAnalyzeCommand(['--template', 'x.yaml', '--run', '--backtest'], io), ANALYZE_EXIT.usage, '--run with --backtest')
  t.equal(await runAnalyzeCommand(['--template', 'x.yaml', '--from', 'now'], io), ANALYZE_EXIT.usage, '--from without --backtest')
  t.equal(await runAnalyzeCommand(['--template', 'x.yaml', '--backtest', '--from', 'now'], io), ANALYZE_EXIT.usage, '--backtest without --to')
  t.match(err, /exclude each other[\s\S]*need --backtest[\s\S]*needs --from and --to/, 'each says why')
})
