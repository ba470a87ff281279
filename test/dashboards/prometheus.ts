/**
 * Every query of the committed dashboards, and the recording rules, run
 * against a real Prometheus that scrapes the compiled exporter, which polls
 * the Pixie API simulator playing scenarios/steady-canary.yaml: three stable
 * pods (hash 6d8c6b9c8f) at 10 rps without errors and one canary pod
 * (7f6d5c9b4b) at 10 rps with 82 % HTTP 500.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { loadScenarioFile, startSimulator } from '../../src/simulator/server.js'
import { sinkLogger } from '../fixtures/logger.js'
import { findTool, promQuery, startExporter, startPrometheus, waitFor } from '../fixtures/tools.js'
import { interpolate, promRangeQuery, targetsOf, variableOptions, variablesOf, type PanelTarget, type RangeSeries } from '../fixtures/dashboards-grafana.js'

const ROOT = join(import.meta.dirname, '..', '..')
const SCENARIO = join(ROOT, 'scenarios', 'steady-canary.yaml')
const RULES = join(ROOT, 'deploy', 'rules', 'pixie-exporter.rules.yaml')
const CLUSTER_ID = '10000000-0000-0000-0000-000000000001'
const STABLE = '6d8c6b9c8f'
const CANARY = '7f6d5c9b4b'
const CANARY_POD = `canary-demo-${CANARY}-aaaaa`

function readDashboard(name: string): Dashboard {
  return JSON.parse(readFileSync(join(ROOT, 'grafana', 'dashboards', name), 'utf8')) as Dashboard
}

for (const tool of ['prometheus', 'promtool']) {
  const found = findTool(tool)
  if (found instanceof Error) t.fail(found.message)
}

// One stack for every test below (starting Prometheus is the slow part).
const sim = await startSimulator({ scenario: loadScenarioFile(SCENARIO), listen: '127.0.0.1:0', logger: sinkLogger('warn').logger, startedAt: Date.now() - 60_000 })
t.teardown(() => sim.close())
const dir = mkdtempSync(join(tmpdir(), 'pxe-dash-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const configFile = join(dir, 'config.yaml')
writeFileSync(configFile, ['collectors:', '  http:', '    interval: 1s', '    window: 10s', '    lag: 1s', ''].join('\n'))
const exporter = await startExporter(['--config', configFile, '--pixie.address', sim.address, '--pixie.tls', 'plaintext'], { PX_CLUSTER_ID: CLUSTER_ID })
t.teardown(() => exporter.stop())
const instance = exporter.url.replace('http://', '')
// rate(x[2m]) over a series younger than 2 minutes is extrapolated to part
// of the range only, so it reads low until 2 minutes of history exist. Rather
// than wait that long, the same rules run a second time with 10s ranges
// (renamed *:rate10s); the values are checked on those, the 2m rules for
// their labels and their ratio (the same factor divides out).
const shortRules = join(dir, 'rules-10s.yaml')
writeFileSync(
  shortRules,
  readFileSync(RULES, 'utf8').replaceAll('[2m]', '[10s]').replaceAll(':rate2m', ':rate10s').replaceAll(':ratio_rate2m', ':ratio_rate10s').replace(/name: (pixie-exporter\.\w+)/g, 'name: $1-10s'),
)
const prom = await startPrometheus([instance], [RULES, shortRules])
t.teardown(() => prom.stop())

// Counters need more history than $__rate_interval (15 s) for rates to settle.
await waitFor('20 s of counter history in Prometheus', async () => {
  const [n] = await promQuery(prom.url, `count_over_time(pixie_http_requests_total{pod="${CANARY_POD}", status_class="5xx"}[1m])`)
  return n !== undefined && n.value >= 20 ? true : undefined
}, 60_000)

/** What Grafana puts in for its built-in variables. */
const BUILTINS = { __rate_interval: '15s', __range: '60s', __interval: '1s', datasource: 'prometheus' }

/** The last non-NaN value of a range series. */
function last(s: RangeSeries): number {
  const v = [...s.values].reverse().find((x) => !Number.isNaN(x))
  return v ?? NaN
}

function near(t: Test, got: number | undefined, want: number, tolerance: number, what: string): void {
  t.ok(got !== undefined && Math.abs(got - want) <= tolerance, `${what}: want ${want} ± ${tolerance}, got ${got}`)
}

/** Result of one panel query: range series for time series, samples for instant queries. */
interface Result {
  readonly series: { metric: Record<string, string>; value: number }[]
}

async function run(target: PanelTarget, values: Record<string, string | readonly string[]>): Promise<Result> {
  const expr = interpolate(target.expr, { ...BUILTINS, ...values })
  if (target.instant) return { series: await promQuery(prom.url, expr) }
  const end = Math.floor(Date.now() / 1000)
  const range = await promRangeQuery(prom.url, expr, end - 20, end, 1)
  return { series: range.map((s) => ({ metric: s.metric, value: last(s) })) }
}

/** value of the series whose labels include `labels` */
function valueOf(r: Result, labels: Record<string, string> = {}): number | undefined {
  return r.series.find((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v))?.value
}

type Check = (t: Test, r: Result) => void

const one = (want: number, tolerance: number): Check => (t, r) => {
  t.equal(r.series.length, 1, 'one series')
  near(t, r.series[0]?.value, want, tolerance, 'its value')
}
const between = (lo: number, hi: number): Check => (t, r) => {
  t.equal(r.series.length, 1, 'one series')
  const v = r.series[0]?.value
  t.ok(v !== undefined && v > lo && v <= hi, `value in (${lo}, ${hi}], got ${v}`)
}

/** Expected shape of every canary-dashboard query (panel title, refId A = stable, B = canary). */
const CANARY_CHECKS: Record<string, Check> = {
  'Request rate (window gauge) A': one(30, 3),
  'Request rate (window gauge) B': one(10, 1),
  'Error ratio (window gauge) A': one(0, 0.001),
  'Error ratio (window gauge) B': one(0.82, 0.03),
  // The simulator draws latencies around p50/p99 of the scenario (stable
  // 20/80 ms, canary 25/150 ms); each pod's quantile is interpolated inside
  // the default buckets (0.025, 0.1, 0.25, 0.5, 1).
  'p99 latency (histogram, worst pod) A': between(0.025, 0.25),
  'p99 latency (histogram, worst pod) B': between(0.1, 0.25),
  'p50 latency (histogram, worst pod) A': between(0.01, 0.025),
  'p50 latency (histogram, worst pod) B': between(0.015, 0.05),
  'Request rate (counters) A': one(30, 4.5),
  'Request rate (counters) B': one(10, 1.5),
  'Error ratio, 5xx (counters) A': one(0, 0.001),
  'Error ratio, 5xx (counters) B': one(0.82, 0.04),
  // histogram_quantile interpolates inside the default buckets (0.025, 0.1, 0.25, 0.5, 1).
  'p99 latency (histogram) A': between(0.025, 0.1),
  'p99 latency (histogram) B': between(0.1, 0.25),
  'p50 latency (histogram) A': between(0.01, 0.025),
  'p50 latency (histogram) B': between(0.015, 0.05),
  'Canary responses by status class A': (t, r) => {
    near(t, valueOf(r, { status_class: '5xx' }), 8.2, 1.5, '5xx rate')
    near(t, valueOf(r, { status_class: '2xx' }), 1.8, 0.6, '2xx rate')
    t.equal(valueOf(r, { status_class: '4xx' }), undefined, 'no 4xx series: the canary never answered one')
  },
  'Pods by error ratio (window gauges) A': (t, r) => {
    t.equal(r.series.length, 4, 'four pods')
    t.same(r.series[0]?.metric, { namespace: 'default', pod: CANARY_POD, pod_template_hash: CANARY, role: 'canary' }, 'the canary comes first, with its role and hash')
    near(t, r.series[0]?.value, 0.82, 0.03, 'canary error ratio')
    const stable = r.series.slice(1)
    t.ok(stable.every((s) => s.metric.role === 'stable' && s.metric.pod_template_hash === STABLE && s.value === 0), 'the three stable pods follow with 0')
  },
  'Pods by error ratio (window gauges) B': (t, r) => {
    t.equal(r.series.length, 4, 'four pods')
    t.ok(r.series.every((s) => Math.abs(s.value - 10) <= 1 && (s.metric.role === 'stable' || s.metric.role === 'canary')), 'each pod serves 10 rps and has a role')
  },
  'Pods by error ratio (window gauges) C': (t, r) => {
    t.equal(r.series.length, 4, 'four pods')
    t.ok((valueOf(r, { pod: CANARY_POD }) ?? 0) > 0.1, 'the canary p99 is its slower one')
  },
}

const http = { collector: 'http' }
const HEALTH_CHECKS: Record<string, Check> = {
  'Collector up A': (t, r) => t.equal(valueOf(r, http), 1, 'the http collector is up'),
  'Age of the last success A': (t, r) => between(0, 5)(t, r),
  'Skipped runs in range A': (t, r) => t.equal(valueOf(r, http), 0, 'no run skipped'),
  'Skipped seconds in range A': (t, r) => t.equal(valueOf(r, http), 0, 'no second skipped'),
  'Run duration A': (t, r) => between(0, 1)(t, r),
  'Rows returned by Pixie A': (t, r) => t.equal(valueOf(r, http), 8, 'four pods in each of the two tables'),
  'Runs by result A': (t, r) => {
    t.ok((valueOf(r, { ...http, result: 'success' }) ?? 0) > 0.5, 'about one successful run per second')
    t.equal(valueOf(r, { ...http, result: 'error' }), 0, 'no failed runs')
  },
  'Age of the last success over time A': (t, r) => between(0, 5)(t, r),
  'Series A': (t, r) => {
    t.equal(r.series.length, 1, 'one instance')
    // The default series set: 2 gauges, 2 classes (2xx, 5xx), 5 buckets + +Inf.
    t.ok((r.series[0]?.value ?? 0) >= 4 * (2 + 2 + 6), `at least the 4 pods' gauges, classes (2xx, 5xx) and histogram buckets, got ${r.series[0]?.value}`)
  },
  'Series B': (t, r) => t.ok((r.series[0]?.value ?? 0) > 100, `samples per scrape, got ${r.series[0]?.value}`),
  'Scrape duration A': (t, r) => between(0, 1)(t, r),
  'Memory A': (t, r) => t.ok((r.series[0]?.value ?? 0) > 10e6, 'resident memory in bytes'),
  'Memory B': (t, r) => t.ok((r.series[0]?.value ?? 0) > 1e6, 'heap used in bytes'),
  'Event-loop lag A': (t, r) => between(0, 1)(t, r),
  'Event-loop lag B': (t, r) => between(-1e-9, 1)(t, r),
  'CPU A': (t, r) => between(-1e-9, 1)(t, r),
  'Build A': (t, r) => {
    t.equal(r.series.length, 1, 'one build row')
    t.match(r.series[0]?.metric, { version: /^\d+\.\d+\.\d+/, nodeversion: process.version }, 'version and Node.js version labels')
  },
}

t.test('the canary dashboard variables find the namespace, the workload and both hashes', async (t) => {
  const vars = variablesOf(readDashboard('pixie-canary-analysis.json'))
  const get = (name: string) => {
    const v = vars.get(name)
    if (v === undefined) throw new Error(`no variable ${name}`)
    return v
  }
  t.same(await variableOptions(prom.url, get('namespace'), BUILTINS), ['default'], 'namespace')
  t.same(await variableOptions(prom.url, get('workload'), { ...BUILTINS, namespace: 'default' }), ['canary-demo'], 'workload from the pod names')
  const scope = { ...BUILTINS, namespace: 'default', workload: 'canary-demo' }
  t.same(await variableOptions(prom.url, get('stable_hash'), scope), [STABLE, CANARY], 'stable hash options, the most pods first (the default)')
  t.same(await variableOptions(prom.url, get('canary_hash'), scope), [CANARY, STABLE], 'canary hash options, the fewest pods first (the default)')
})

t.test('every canary dashboard query returns the expected series', async (t) => {
  const targets = targetsOf(readDashboard('pixie-canary-analysis.json'))
  const values = { namespace: 'default', workload: 'canary-demo', stable_hash: STABLE, canary_hash: CANARY }
  t.same(targets.map((q) => `${q.panel} ${q.refId}`).sort(), Object.keys(CANARY_CHECKS).sort(), 'every query has an expectation, and every expectation a query')
  for (const target of targets) {
    const check = CANARY_CHECKS[`${target.panel} ${target.refId}`]
    if (check === undefined) continue
    await t.test(`${target.panel} ${target.refId}`, async (t) => check(t, await run(target, values)))
  }
})

t.test('the health dashboard variables find the job, the instance and the collector', async (t) => {
  const vars = variablesOf(readDashboard('pixie-exporter-health.json'))
  const options = (name: string, values: Record<string, string>) => {
    const v = vars.get(name)
    if (v === undefined) throw new Error(`no variable ${name}`)
    return variableOptions(prom.url, v, { ...BUILTINS, ...values })
  }
  t.same(await options('job', {}), ['pixie-exporter'], 'job')
  t.same(await options('instance', { job: 'pixie-exporter' }), [instance], 'instance')
  t.same(await options('collector', { job: 'pixie-exporter' }), ['http'], 'collector')
})

t.test('every health dashboard query returns the expected series', async (t) => {
  const targets = targetsOf(readDashboard('pixie-exporter-health.json'))
  // instance and collector are multi-value with "All" = .+; test a concrete pick.
  const values = { job: 'pixie-exporter', instance: [instance], collector: ['http'] }
  t.same(targets.map((q) => `${q.panel} ${q.refId}`).sort(), Object.keys(HEALTH_CHECKS).sort(), 'every query has an expectation, and every expectation a query')
  for (const target of targets) {
    const check = HEALTH_CHECKS[`${target.panel} ${target.refId}`]
    if (check === undefined) continue
    await t.test(`${target.panel} ${target.refId}`, async (t) => check(t, await run(target, values)))
  }
})

t.test('the recording rules give per-workload request rate, error rate and ratio', async (t) => {
  const workload = { namespace: 'default', workload: 'canary-demo' }
  for (const range of ['2m', '10s']) {
    const requests = await promQuery(prom.url, `namespace_workload:pixie_http_requests:rate${range}`)
    t.same(requests.map((s) => s.metric), [{ __name__: `namespace_workload:pixie_http_requests:rate${range}`, ...workload }], `${range}: one series per workload, labelled namespace and workload`)
    const ratio = await promQuery(prom.url, `namespace_workload:pixie_http_errors_per_requests:ratio_rate${range}`)
    t.equal(ratio.length, 1, `${range}: one ratio series`)
    near(t, ratio[0]?.value, 0.205, 0.02, `${range}: a quarter of the traffic at 82 % errors`)
  }
  const [requests] = await promQuery(prom.url, 'namespace_workload:pixie_http_requests:rate10s')
  near(t, requests?.value, 40, 6, 'four pods at 10 rps')
  const [errors] = await promQuery(prom.url, 'namespace_workload:pixie_http_errors:rate10s')
  near(t, errors?.value, 8.2, 1.5, 'the canary 5xx rate')
})
