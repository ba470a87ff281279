// Load: many concurrent scrapers against the exporter serving 10,000 simulated
// pods, on loopback only, bounded in time. Reports throughput, latency
// percentiles and how many requests under-pressure shed with 503.
//   npm run bench:load [-- PODS CONCURRENCY SECONDS]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { request } from 'node:http'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { buildApp } from '../dist/app.js'
import { HttpCollector } from '../dist/collectors/http.js'
import { createSelfMetrics } from '../dist/metrics/self-metrics.js'
import { PixieClient } from '../dist/pixie/client.js'
import { prepareExposition } from '../dist/metrics/exposition.js'
import { CollectorJob } from '../dist/scheduler/job.js'

const pods = Number(process.argv[2] ?? 10000)
const concurrency = Number(process.argv[3] ?? 32)
const seconds = Number(process.argv[4] ?? 20)
const logger = pino({ level: 'warn' })

const child = spawn(process.execPath, [join(import.meta.dirname, 'simulator-child.mjs'), String(pods)], { stdio: ['ignore', 'pipe', 'inherit'] })
process.on('exit', () => child.kill('SIGKILL'))
const [line] = await once(child.stdout, 'data')
const address = line.toString().trim()
const pixie = new PixieClient({ address, clusterId: '00000000-0000-0000-0000-000000000001', tls: 'plaintext', logger })
const registry = new Registry()
const metrics = createSelfMetrics(registry, { version: 'bench' })
const config = {
  schedule: { kind: 'interval', intervalMs: 15000, cron: '*/15 * * * * *' }, windowMs: 30000, errorStatusMin: 500,
  namespaces: { include: [], exclude: [] }, staleAfterMs: undefined, timeoutMs: 60000, maxRows: 1000000,
  lagMs: 5000, maxCatchUpMs: 300000, expireAfterMs: 300000, bucketsSeconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
}
const collector = new HttpCollector({ pixie, registry, logger, now: Date.now, config })
// As the exporter: render and compress the exposition after each successful run.
const job = new CollectorJob({ collector, metrics, logger, now: Date.now, onSuccess: () => prepareExposition(registry) })
const app = await buildApp({ registry, jobs: [job], logger, now: Date.now, landing: { version: 'bench', pixieAddress: address, clusterId: '-', simulated: true } })
const base = await app.listen({ host: '127.0.0.1', port: 0 })
job.start() // polls every 15 s during the load, as in production
await new Promise((r) => setTimeout(r, 3000))

const url = new URL(`${base}/metrics`)
const latencies = []
const statuses = new Map()
let bytes = 0
const deadline = Date.now() + seconds * 1000
const scrape = () =>
  new Promise((resolve) => {
    const t0 = performance.now()
    const req = request({ host: url.hostname, port: url.port, path: '/metrics', headers: { 'accept-encoding': 'gzip' } }, (res) => {
      res.on('data', (d) => (bytes += d.length))
      res.on('end', () => {
        latencies.push(performance.now() - t0)
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        resolve()
      })
    })
    req.on('error', () => {
      statuses.set('error', (statuses.get('error') ?? 0) + 1)
      resolve()
    })
    req.end()
  })
const worker = async () => {
  while (Date.now() < deadline) await scrape()
}
const t0 = performance.now()
await Promise.all(Array.from({ length: concurrency }, worker))
const elapsed = (performance.now() - t0) / 1000
latencies.sort((a, b) => a - b)
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]?.toFixed(1)
console.log(`load: ${pods} pods, ${concurrency} concurrent scrapers (gzip), ${seconds}s, polls every 15s during the run`)
console.log(`  scrapes: ${latencies.length} (${(latencies.length / elapsed).toFixed(0)}/s), ${(bytes / 1048576 / elapsed).toFixed(1)} MiB/s compressed`)
console.log(`  latency ms: p50 ${pct(0.5)}  p90 ${pct(0.9)}  p99 ${pct(0.99)}  max ${latencies.at(-1)?.toFixed(1)}`)
console.log(`  statuses: ${[...statuses].map(([k, v]) => `${k}=${v}`).join(' ')}`)
console.log(`  RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`)
await job.stop()
await app.close()
pixie.close()
child.kill('SIGTERM')
