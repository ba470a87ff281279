/**
 * Short, bounded load and soak runs for CI (the long ones are `npm run
 * bench:load` and `npm run bench:soak`). Loopback only. Timings are printed as
 * comments, never asserted.
 */
import t, { type Test } from 'tap'
import { request } from 'node:http'
import { Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { HttpCollector } from '../../src/collectors/http.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { CollectorJob } from '../../src/scheduler/job.js'
import { sinkLogger } from '../fixtures/logger.js'
import { ScriptedPixie, answer, httpConfig, type PodRow } from '../fixtures/http-fixtures.js'

const pods = (n: number, prefix = 'p'): PodRow[] =>
  Array.from({ length: n }, (_, i) => ({
    namespace: `ns-${i % 10}`,
    pod: `ns-${i % 10}/${prefix}-${i}-6d8c6b9c8f-abcde`,
    service: `ns-${i % 10}/svc-${i % 50}`,
    requests: 100,
    errors: i % 7,
    p50: 2e7,
    p90: 5e7,
    p99: 9e7,
  }))

function get(port: number): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function serve(t: Test, podCount: number, pressure?: { maxEventLoopDelayMs: number }) {
  const registry = new Registry()
  const logger = sinkLogger('error').logger
  const metrics = createSelfMetrics(registry, { version: 'load' })
  const collector = new HttpCollector({ pixie: new ScriptedPixie([answer(pods(podCount))]), registry, logger, now: Date.now, config: httpConfig({ staleAfterMs: 3_600_000 }) })
  const job = new CollectorJob({ collector, metrics, logger, now: Date.now })
  await job.runNow()
  const app = await buildApp({
    registry,
    jobs: [job],
    logger,
    now: Date.now,
    landing: { version: 'load', pixieAddress: 'a:1', clusterId: 'c', simulated: true },
    ...(pressure !== undefined && { pressure }),
  })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

t.test('concurrent scrapers all get a complete exposition', async (t) => {
  const port = await serve(t, 2000)
  const total = 240
  const concurrency = 16
  let next = 0
  const results: { status: number; body: string; ms: number }[] = []
  const worker = async () => {
    while (next < total) {
      next++
      const t0 = performance.now()
      const r = await get(port)
      results.push({ ...r, ms: performance.now() - t0 })
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const seconds = (performance.now() - t0) / 1000
  t.equal(results.length, total, 'every request was answered')
  t.same([...new Set(results.map((r) => r.status))], [200], 'all 200')
  const complete = results.filter((r) => r.body.endsWith('\n') && (r.body.match(/^pixie_http_error_ratio\{/gm)?.length ?? 0) === 2000)
  t.equal(complete.length, total, 'each body holds all 2,000 pods and ends cleanly')
  const ms = results.map((r) => r.ms).sort((a, b) => a - b)
  t.comment(`${total} scrapes of 2,000 pods, ${concurrency} concurrent: ${(total / seconds).toFixed(0)}/s, p50 ${ms[total >> 1]?.toFixed(1)} ms, p99 ${ms[Math.floor(total * 0.99)]?.toFixed(1)} ms`)
})

t.test('under-pressure sheds scrapes with 503 and Retry-After while the event loop is stalled', async (t) => {
  const port = await serve(t, 200, { maxEventLoopDelayMs: 50 })
  // Stall the event loop for 300 ms at a time, as an overloaded process would.
  const stall = setInterval(() => {
    const until = Date.now() + 300
    while (Date.now() < until) {
      /* busy */
    }
  }, 100)
  t.teardown(() => clearInterval(stall))
  const results: { status: number; retryAfter: string | undefined }[] = []
  const deadline = Date.now() + 4000
  while (Date.now() < deadline && !results.some((r) => r.status === 503)) results.push(await get(port))
  clearInterval(stall)
  const shed = results.find((r) => r.status === 503)
  t.ok(shed !== undefined, `a scrape was shed with 503 (after ${results.length} requests)`)
  t.ok(shed?.retryAfter !== undefined, 'with Retry-After')
  t.ok(results.every((r) => r.status === 200 || r.status === 503), 'every request got 200 or 503, none failed')
})

t.test('soak: hundreds of polls with heavy pod churn keep the series count bounded', async (t) => {
  let now = Date.UTC(2026, 10, 27)
  const registry = new Registry()
  const answers = Array.from({ length: 400 }, (_, run) => answer([...pods(75, 'stable'), ...pods(25, `churn${run}`)]))
  const collector = new HttpCollector({
    pixie: new ScriptedPixie(answers),
    registry,
    logger: sinkLogger('error').logger,
    now: () => now,
    config: httpConfig({ expireAfterMs: 60_000 }),
  })
  const counts: number[] = []
  for (let run = 0; run < 400; run++) {
    await collector.run({ signal: new AbortController().signal, timeoutMs: 1000 })
    now += 10_000
    if (run % 50 === 49) counts.push(collector.counterPods)
  }
  // 75 stable pods plus the churned pods of the last expireAfter (60 s = 6 polls, and the current one).
  const bound = 75 + 25 * 7
  t.ok(counts.every((c) => c <= bound), `counter pods stay at or below ${bound}: ${counts.join(', ')}`)
  t.equal(new Set(counts).size, 1, 'and flat once expiry has caught up')
  const series = (await registry.metrics()).split('\n').filter((l) => l.startsWith('pixie_http_requests_total{')).length
  t.equal(series, collector.counterPods * 2, 'two status-class series (2xx, 5xx: the pods answer nothing else) per live pod, no leftovers')
  t.comment(`heapUsed after the soak: ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MiB`)
})
