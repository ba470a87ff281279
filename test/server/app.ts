import t from 'tap'
import { Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { HttpCollector } from '../../src/collectors/http.js'
import { PixieUnavailableError } from '../../src/errors.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { CollectorJob } from '../../src/scheduler/job.js'
import { sinkLogger } from '../fixtures/logger.js'
import { ScriptedPixie, answer, httpConfig } from '../fixtures/http-fixtures.js'

const row = {
  namespace: 'default',
  pod: 'default/canary-demo-7d9f8b6c5d-abcde',
  service: 'default/canary-demo',
  requests: 300,
  errors: 246,
  p50: 25e6,
  p90: 80e6,
  p99: 150e6,
}

async function setup(answers: ConstructorParameters<typeof ScriptedPixie>[0], simulated = false) {
  let now = 1_700_000_000_000
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  const registry = new Registry()
  const log = sinkLogger()
  const metrics = createSelfMetrics(registry, { version: '9.9.9' })
  const collector = new HttpCollector({
    pixie: new ScriptedPixie(answers),
    registry,
    logger: log.logger,
    now: clock.now,
    config: httpConfig(),
  })
  const job = new CollectorJob({ collector, metrics, logger: log.logger, now: clock.now })
  const app = await buildApp({
    registry,
    jobs: [job],
    logger: log.logger,
    now: clock.now,
    landing: { version: '9.9.9', pixieAddress: 'work.withpixie.ai:443', clusterId: '10000000-0000-0000-0000-000000000001', simulated },
  })
  t.teardown(() => app.close())
  return { app, job, clock, log }
}

t.test('/metrics serves the Prometheus text exposition', async (t) => {
  const s = await setup([answer([row])])
  await s.job.runNow()
  const res = await s.app.inject('/metrics')
  t.equal(res.statusCode, 200, '200')
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/, 'exposition content type')
  t.match(res.body, /pixie_http_error_ratio\{namespace="default",pod="canary-demo-7d9f8b6c5d-abcde",service="canary-demo"\} 0\.82/, 'per-pod series')
  t.match(res.body, /pixie_exporter_collector_up\{collector="http"\} 1/, 'self-metrics')
})

t.test('/metrics honours Accept-Encoding q-values: gzip only when its q-value is above 0', async (t) => {
  const s = await setup([answer([row])])
  await s.job.runNow()
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['gzip', true],
    ['gzip;q=0', false],
    ['gzip; q=0.000', false],
    ['GZIP;Q=0', false],
    ['identity, gzip;q=0', false],
    ['gzip;q=0.5, identity', true],
    ['x-gzip', true],
    ['*', true],
    ['*;q=0', false],
    ['gzip;q=0, *', false],
    ['br, deflate', false],
    ['notgzip', false],
  ]
  for (const [header, gzipped] of cases) {
    const res = await s.app.inject({ url: '/metrics', headers: header === undefined ? {} : { 'accept-encoding': header } })
    t.equal(res.headers['content-encoding'], gzipped ? 'gzip' : undefined, `Accept-Encoding ${JSON.stringify(header)}: ${gzipped ? 'gzip' : 'identity'}`)
    if (!gzipped) t.match(res.body, /pixie_exporter_collector_up/, 'plain text body')
  }
})

t.test('/-/healthy answers 200 while the process lives', async (t) => {
  const s = await setup([])
  const res = await s.app.inject('/-/healthy')
  t.equal(res.statusCode, 200, '200')
})

t.test('/-/ready is 503 with the reason until the first success, then 200, then 503 when stale', async (t) => {
  const s = await setup([new PixieUnavailableError('Pixie is down'), answer([row])])
  let res = await s.app.inject('/-/ready')
  t.equal(res.statusCode, 503, 'not ready before any run')
  t.match(res.body, /collector http has not succeeded yet \(no run has completed yet\)/, 'reason given')
  await s.job.runNow()
  res = await s.app.inject('/-/ready')
  t.equal(res.statusCode, 503, 'not ready after a failure')
  t.match(res.body, /last error: Pixie is down/, 'the error is the reason')
  await s.job.runNow()
  res = await s.app.inject('/-/ready')
  t.equal(res.statusCode, 200, 'ready after a success')
  s.clock.advance(31_000)
  res = await s.app.inject('/-/ready')
  t.equal(res.statusCode, 503, 'not ready once stale')
  t.match(res.body, /data is stale/, 'stale reason')
})

t.test('the landing page lists collectors, last run and error, and links', async (t) => {
  const s = await setup([new PixieUnavailableError('cannot reach <pixie> & co')])
  await s.job.runNow()
  const res = await s.app.inject('/')
  t.equal(res.statusCode, 200, '200')
  t.match(res.headers['content-type'], /text\/html/, 'html')
  t.match(res.body, /href="metrics"/, 'links to metrics')
  t.match(res.body, /<td>http<\/td><td>every 10s<\/td><td>error<\/td>/, 'collector row with schedule and outcome')
  t.match(res.body, /cannot reach &lt;pixie&gt; &amp; co/, 'the error is shown, escaped')
  t.notMatch(res.body, /SIMULATED DATA/, 'no simulator banner for a real cluster')
})

t.test('the landing page warns that Prometheus must honor the exporter\'s labels', async (t) => {
  const s = await setup([])
  const res = await s.app.inject('/')
  t.match(res.body, /honor_labels: true/, 'names the setting')
  t.match(res.body, /exported_namespace<\/code> and <code>exported_pod/, 'names the symptom')
  t.match(res.body, /count\(\{__name__=~&quot;pixie_http_\.\+&quot;, exported_pod!=&quot;&quot;\}\)|count\(\{__name__=~"pixie_http_\.\+", exported_pod!=""\}\)/, 'gives the query that detects it')
})

t.test('the landing page says plainly when the data is simulated', async (t) => {
  const s = await setup([], true)
  const res = await s.app.inject('/')
  t.match(res.body, /SIMULATED DATA/, 'banner')
  t.match(res.body, /<title>pixie-exporter \(simulated\)<\/title>/, 'title')
})

t.test('closing the app stops the jobs', async (t) => {
  const s = await setup([answer([row])])
  await s.app.close()
  t.equal(await s.job.runNow(), 'skipped', 'no run after close')
})

t.test('under-pressure answers 503 when the event loop is overloaded', async (t) => {
  const registry = new Registry()
  const log = sinkLogger()
  const app = await buildApp({
    registry,
    jobs: [],
    logger: log.logger,
    now: Date.now,
    landing: { version: 'x', pixieAddress: 'a:1', clusterId: 'c', simulated: false },
    pressure: { maxHeapUsedBytes: 1, sampleIntervalMs: 10 },
  })
  t.teardown(() => app.close())
  // under-pressure samples the heap every sampleIntervalMs: poll for the first sample (10 s at most).
  for (let i = 0; i < 2000 && !app.isUnderPressure(); i++) await new Promise((r) => setTimeout(r, 5))
  const res = await app.inject('/metrics')
  t.equal(res.statusCode, 503, 'overloaded server refuses with 503')
  t.ok(res.headers['retry-after'], 'Retry-After is set')
})
