/**
 * Adversarial suite (issue 13, defect 3): a pod selected by two Services (a
 * selector changed mid-rollout) comes back from Pixie as two rows. The
 * `/error-rate` answer must be the ratio the published series give:
 * sum(pixie_http_errors_per_second) / sum(pixie_http_requests_per_second)
 * over the matched pods, whatever the order and number of duplicate rows.
 */
import t from 'tap'
import { Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { HttpCollector } from '../../src/collectors/http.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { HTTP_ERRORS_PER_SECOND, HTTP_REQUESTS_PER_SECOND } from '../../src/metrics/names.js'
import { CollectorJob } from '../../src/scheduler/job.js'
import { sinkLogger } from '../fixtures/logger.js'
import { caseSeeds, mulberry32 } from '../fixtures/fuzz-random.js'
import { ScriptedPixie, answer, httpConfig, type PodRow } from '../fixtures/http-fixtures.js'

const row = (pod: string, service: string, requests: number, errors: number): PodRow => ({
  namespace: 'demo',
  pod: `demo/${pod}`,
  service: `demo/${service}`,
  requests,
  errors,
  p50: 20e6,
  p90: 50e6,
  p99: 80e6,
})

async function serve(rows: readonly PodRow[]) {
  const now = () => 1_700_000_000_000
  const registry = new Registry()
  const log = sinkLogger()
  const collector = new HttpCollector({ pixie: new ScriptedPixie([answer(rows)]), registry, logger: log.logger, now, config: httpConfig() })
  const job = new CollectorJob({ collector, metrics: createSelfMetrics(registry, { version: '0.0.0' }), logger: log.logger, now })
  const app = await buildApp({
    registry,
    jobs: [job],
    logger: log.logger,
    now,
    landing: { version: '0.0.0', pixieAddress: 'x:443', clusterId: '10000000-0000-0000-0000-000000000001', simulated: false },
  })
  await job.runNow()
  return { app, registry }
}

/** sum(errors)/sum(requests) over the published series of the pods `<pod>` or `<pod>-…` in demo. */
async function publishedRatio(registry: Registry, pod: string): Promise<{ ratio: number; rps: number; pods: number } | undefined> {
  const match = (l: Partial<Record<string, string | number>>) => l.namespace === 'demo' && (l.pod === pod || String(l.pod).startsWith(`${pod}-`))
  const values = async (name: string) => ((await registry.getSingleMetric(name)?.get())?.values ?? []).filter((s) => match(s.labels))
  const rps = await values(HTTP_REQUESTS_PER_SECOND)
  const eps = await values(HTTP_ERRORS_PER_SECOND)
  const requests = rps.reduce((a, s) => a + s.value, 0)
  if (!(requests > 0)) return undefined
  return { ratio: eps.reduce((a, s) => a + s.value, 0) / requests, rps: requests, pods: new Set(rps.map((s) => s.labels.pod)).size }
}

t.test('a pod under two services: the ratio of the published series, the pod counted once', async (t) => {
  // Window 30 s. Pod aaaaa: 300 requests, no errors under the old Service;
  // 300 requests, all errors under the new one. Truth: 300/600 = 0.5.
  const s = await serve([row('app-7f6d5c9b4b-aaaaa', 'app-new', 300, 300), row('app-7f6d5c9b4b-aaaaa', 'app-old', 300, 0)])
  t.teardown(() => s.app.close())
  const res = await s.app.inject('/error-rate/demo/app-7f6d5c9b4b')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { error_rate: 0.5, requests_per_second: 20, pods: 1 }, 'errors and requests summed over both rows')
  t.same(await publishedRatio(s.registry, 'app-7f6d5c9b4b'), { ratio: 0.5, rps: 20, pods: 1 }, 'the published series agree')
  const exact = await s.app.inject('/error-rate/demo/app-7f6d5c9b4b-aaaaa')
  t.same(exact.json(), { error_rate: 0.5, requests_per_second: 20, pods: 1 }, 'the exact pod name too')
})

t.test('random duplicate rows across services: /error-rate always equals the published ratio', async (t) => {
  const failures: string[] = []
  for (const seed of caseSeeds(40, 0x13d3)) {
    const rng = mulberry32(seed)
    const pods = Array.from({ length: rng.int(1, 5) }, (_, i) => `app-7f6d5c9b4b-p${i}`)
    const rows: PodRow[] = []
    for (const pod of pods) {
      // One to four distinct Services select the pod.
      for (const service of rng.shuffle(['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4']).slice(0, rng.int(1, 4))) {
        const requests = rng.int(1, 900)
        rows.push(row(pod, service, requests, rng.int(0, requests)))
      }
    }
    // Other pods that must not count: another ReplicaSet and a similar name.
    rows.push(row('app-7f6d5c9b4b2-zzzzz', 'svc-0', 500, 500), row('app-6d8c6b9c8f-yyyyy', 'svc-1', 500, 0))
    const s = await serve(rng.shuffle(rows))
    const truth = await publishedRatio(s.registry, 'app-7f6d5c9b4b')
    const body = (await s.app.inject('/error-rate/demo/app-7f6d5c9b4b')).json() as { error_rate: number; requests_per_second: number; pods: number }
    await s.app.close()
    const close = (a: number, b: number | undefined) => b !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))
    if (!close(body.error_rate, truth?.ratio) || !close(body.requests_per_second, truth?.rps) || body.pods !== truth?.pods) {
      failures.push(`seed ${seed}: got ${JSON.stringify(body)}, published ${JSON.stringify(truth)}`)
    }
  }
  t.same(failures, [], 'every case agrees with the published series')
})

t.test('valid pod names of 101 to 253 characters are answered, not refused by the router', async (t) => {
  const long = `app-${'a'.repeat(120)}.${'b'.repeat(120)}`.slice(0, 253)
  const mid = `app-${'c'.repeat(97)}` // 101 characters
  const s = await serve([row(long, 'svc', 300, 30), row(mid, 'svc', 300, 0)])
  t.teardown(() => s.app.close())
  for (const [name, rate] of [[long, 0.1], [mid, 0]] as const) {
    const res = await s.app.inject(`/error-rate/demo/${name}`)
    t.equal(res.statusCode, 200, `${name.length} characters: 200`)
    t.equal((res.json() as { error_rate: number }).error_rate, rate, `${name.length} characters: its ratio`)
  }
  const tooLong = await s.app.inject(`/error-rate/demo/${'a'.repeat(254)}`)
  t.equal(tooLong.statusCode, 400, '254 characters: 400 from the route (not a valid pod name)')
  t.match(tooLong.json(), { error: /not a valid Kubernetes pod name/ })
})
