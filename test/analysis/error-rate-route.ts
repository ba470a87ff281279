/**
 * GET /error-rate/:namespace/:pod, the compatibility endpoint for the old
 * demo's web-provider template, served from the collector's cache.
 */
import t from 'tap'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import type { Collector } from '../../src/collectors/collector.js'
import { HttpCollector } from '../../src/collectors/http.js'
import { PixieUnavailableError } from '../../src/errors.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { CollectorJob } from '../../src/scheduler/job.js'
import { aggregate, errorRateRoute, invalidParams } from '../../src/server/error-rate-route.js'
import { sinkLogger } from '../fixtures/logger.js'
import { ScriptedPixie, answer, httpConfig, type PodRow } from '../fixtures/http-fixtures.js'

const row = (ns: string, pod: string, requests: number, errors: number): PodRow => ({
  namespace: ns,
  pod: `${ns}/${pod}`,
  service: `${ns}/app`,
  requests,
  errors,
  p50: 20e6,
  p90: 50e6,
  p99: 80e6,
})

// Window 30s: 300 requests = 10 rps.
const ROWS = [
  row('demo', 'app-7f6d5c9b4b-aaaaa', 300, 30), // canary pod 1: 10 %
  row('demo', 'app-7f6d5c9b4b-bbbbb', 300, 0), // canary pod 2: 0 %
  row('demo', 'app-7f6d5c9b4b2-ccccc', 300, 300), // another ReplicaSet whose name merely starts the same
  row('other', 'app-7f6d5c9b4b-ddddd', 300, 300), // same name, other namespace
  row('demo', 'app-6d8c6b9c8f-eeeee', 600, 0), // stable
]

async function setup(answers: ConstructorParameters<typeof ScriptedPixie>[0]) {
  let now = 1_700_000_000_000
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  const registry = new Registry()
  const log = sinkLogger()
  const pixie = new ScriptedPixie(answers)
  const collector = new HttpCollector({ pixie, registry, logger: log.logger, now: clock.now, config: httpConfig() })
  const job = new CollectorJob({ collector, metrics: createSelfMetrics(registry, { version: '0.0.0' }), logger: log.logger, now: clock.now })
  const app = await buildApp({
    registry,
    jobs: [job],
    logger: log.logger,
    now: clock.now,
    landing: { version: '0.0.0', pixieAddress: 'x:443', clusterId: '10000000-0000-0000-0000-000000000001', simulated: false },
  })
  t.teardown(() => app.close())
  return { app, job, collector, clock, pixie }
}

t.test('aggregates the pods named <pod> or <pod>-… in the namespace, from the cache', async (t) => {
  const s = await setup([answer(ROWS)])
  await s.job.runNow()
  const calls = s.pixie.calls.length
  const res = await s.app.inject('/error-rate/demo/app-7f6d5c9b4b')
  t.equal(res.statusCode, 200, '200')
  t.match(res.headers['content-type'], /^application\/json/, 'JSON')
  const body = res.json() as { error_rate: number; requests_per_second: number; pods: number }
  t.equal(body.pods, 2, 'the two canary pods only (not app-7f6d5c9b4b2-…, not the other namespace)')
  t.ok(Math.abs(body.error_rate - 30 / 600) < 1e-12, `errors/requests over both pods (${body.error_rate})`)
  t.ok(Math.abs(body.requests_per_second - 20) < 1e-9, `requests per second summed (${body.requests_per_second})`)
  const exact = (await s.app.inject('/error-rate/demo/app-7f6d5c9b4b-aaaaa')).json() as { pods: number; error_rate: number }
  t.same([exact.pods, exact.error_rate], [1, 0.1], 'an exact pod name selects that pod')
  t.equal(s.pixie.calls.length, calls, 'no Pixie query per request')
})

t.test('404 JSON when no pod matched, 400 JSON for names that are not Kubernetes names', async (t) => {
  const s = await setup([answer(ROWS)])
  await s.job.runNow()
  const none = await s.app.inject('/error-rate/demo/app-0000000000')
  t.equal(none.statusCode, 404, '404 for no match')
  t.match(none.json(), { error: /no pod named app-0000000000 or app-0000000000-… served HTTP requests in namespace demo/ }, 'error says why')
  const prefix = await s.app.inject('/error-rate/demo/app-7f6d5c9b4')
  t.equal(prefix.statusCode, 404, 'a bare prefix of a hash matches nothing (no substring matching)')
  for (const [ns, pod] of [['Demo', 'app'], ['demo', 'APP'], ['demo', 'app_x'], ['-demo', 'app'], ['demo', 'app%20x']] as const) {
    const res = await s.app.inject(`/error-rate/${ns}/${pod}`)
    t.equal(res.statusCode, 400, `400 for ${ns}/${pod}`)
    t.match(res.json(), { error: /is not a valid Kubernetes (namespace|pod) name/ }, 'error names the parameter')
  }
  // Fastify refuses path parameters over 100 characters itself (maxParamLength), with a JSON 414.
  const long = await s.app.inject(`/error-rate/demo/${'a'.repeat(254)}`)
  t.ok(long.statusCode >= 400, `a 254-character name is refused (${long.statusCode})`)
  t.doesNotThrow(() => long.json(), 'with a JSON body')
})

t.test('503 JSON before the first success and once the data is stale: never a pass', async (t) => {
  const s = await setup([new PixieUnavailableError('Pixie is down'), answer(ROWS)])
  let res = await s.app.inject('/error-rate/demo/app-7f6d5c9b4b')
  t.equal(res.statusCode, 503, '503 before any run')
  await s.job.runNow()
  res = await s.app.inject('/error-rate/demo/app-7f6d5c9b4b')
  t.equal(res.statusCode, 503, '503 after a failed first run')
  t.match(res.json(), { error: /no current data: .*Pixie is down/ }, 'the reason is given')
  await s.job.runNow()
  t.equal((await s.app.inject('/error-rate/demo/app-7f6d5c9b4b')).statusCode, 200, '200 after a success')
  s.clock.advance(31_000)
  res = await s.app.inject('/error-rate/demo/app-7f6d5c9b4b')
  t.equal(res.statusCode, 503, '503 once stale (staleAfter 3 intervals = 30s)')
  t.match(res.json(), { error: /data is stale/ }, 'stale reason')
})

t.test('the route works with the collector itself as the source', async (t) => {
  let now = 1_700_000_000_000
  const collector = new HttpCollector({
    pixie: new ScriptedPixie([answer(ROWS)]),
    registry: new Registry(),
    logger: sinkLogger().logger,
    now: () => now,
    config: httpConfig(),
  })
  await collector.run({ signal: new AbortController().signal, timeoutMs: 1000 })
  const app = Fastify()
  await app.register(errorRateRoute, {
    pods: () => collector.pods,
    freshness: () => (collector.pods.length > 0 ? { ready: true } : { ready: false, reason: 'stale' }),
  })
  t.teardown(() => app.close())
  const body = (await app.inject('/error-rate/demo/app-6d8c6b9c8f')).json() as { pods: number; requests_per_second: number; error_rate: number }
  t.same(body, { error_rate: 0, requests_per_second: 20, pods: 1 }, 'stable pod aggregated')
  now += 60_000
  t.equal((await app.inject('/error-rate/demo/app-6d8c6b9c8f')).statusCode, 503, 'stale → 503')
})

t.test('aggregate() and invalidParams() edge cases', async (t) => {
  t.equal(aggregate([], 'demo', 'app'), undefined, 'nothing → undefined')
  t.equal(aggregate([{ namespace: 'demo', pod: 'app-x', requestsPerSecond: 0, errorsPerSecond: 0 }], 'demo', 'app'), undefined, 'no requests → undefined, never a 0 % ratio')
  t.equal(invalidParams('demo', 'app.v1-x'), undefined, 'dots are allowed in pod names')
  t.match(invalidParams('a'.repeat(64), 'x'), /namespace/, 'namespace longer than 63')
  t.match(invalidParams('demo', 'a'.repeat(254)), /pod/, 'pod name longer than 253')
})

t.test('the app finds its source by the podRates query, not by a collector name, and never reads the registry', async (t) => {
  let now = 1_700_000_000_000
  const log = sinkLogger()
  // The rate gauges are not even registered: the answer comes from the collector's snapshot.
  const collector = new HttpCollector({
    pixie: new ScriptedPixie([answer(ROWS)]),
    registry: new Registry(),
    logger: log.logger,
    now: () => now,
    config: { ...httpConfig(), metrics: ['pixie_http_requests_total'] },
  })
  // The same collector under another name.
  const renamed: Collector = {
    name: 'pods',
    schedule: collector.schedule,
    timeoutMs: collector.timeoutMs,
    staleAfterMs: collector.staleAfterMs,
    get lastSuccessAt() {
      return collector.lastSuccessAt
    },
    get lastSuccessMonotonic() {
      return collector.lastSuccessMonotonic
    },
    queries: collector.queries,
    run: (context) => collector.run(context),
  }
  const registry = new Registry()
  const job = new CollectorJob({ collector: renamed, metrics: createSelfMetrics(registry, { version: '0.0.0' }), logger: log.logger, now: () => now })
  const app = await buildApp({
    registry,
    jobs: [job],
    logger: log.logger,
    now: () => now,
    landing: { version: '0.0.0', pixieAddress: 'x:443', clusterId: '10000000-0000-0000-0000-000000000001', simulated: false },
  })
  t.teardown(() => app.close())
  t.equal(job.name, 'pods', 'the job is not named http')
  await job.runNow()
  t.notMatch(await registry.metrics(), /pixie_http_requests_per_second/, 'no rate gauge in any registry')
  const res = await app.inject('/error-rate/demo/app-7f6d5c9b4b')
  t.equal(res.statusCode, 200, '200 from the podRates query')
  t.same(res.json(), { error_rate: 30 / 600, requests_per_second: 20, pods: 2 }, 'the same figures as from the gauges')
  now += 31_000
  t.equal((await app.inject('/error-rate/demo/app-7f6d5c9b4b')).statusCode, 503, "stale once the job's data is stale")
})

t.test('without a collector answering podRates, 503 says so', async (t) => {
  const app = await buildApp({
    registry: new Registry(),
    jobs: [],
    logger: sinkLogger().logger,
    now: Date.now,
    landing: { version: '0.0.0', pixieAddress: 'x:443', clusterId: '10000000-0000-0000-0000-000000000001', simulated: false },
  })
  t.teardown(() => app.close())
  const res = await app.inject('/error-rate/demo/app')
  t.equal(res.statusCode, 503, '503')
  t.same(res.json(), { error: 'no current data: no configured collector serves per-pod HTTP rates' }, 'the reason')
})
