// Benchmark: one poll (gRPC stream + decode + publish) and one /metrics scrape
// for a simulated cluster of 10,000 pods. Prints figures; asserts nothing.
//   npm run bench [-- PODS RUNS]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { buildApp } from '../dist/app.js'
import { HttpCollector } from '../dist/collectors/http.js'
import { createSelfMetrics } from '../dist/metrics/self-metrics.js'
import { PixieClient } from '../dist/pixie/client.js'
import { prepareExposition } from '../dist/metrics/exposition.js'
import { CollectorJob } from '../dist/scheduler/job.js'

const pods = Number(process.argv[2] ?? 10000)
const runs = Number(process.argv[3] ?? 5)
const logger = pino({ level: 'warn' })
const gc = globalThis.gc ?? (() => {})
const mb = (b) => (b / 1024 / 1024).toFixed(1)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const child = spawn(process.execPath, [join(import.meta.dirname, 'simulator-child.mjs'), String(pods)], { stdio: ['ignore', 'pipe', 'inherit'] })
// Never leave the simulator running, whatever happens here.
process.on('exit', () => child.kill('SIGKILL'))
const [line] = await once(child.stdout, 'data')
const address = line.toString().trim()

const pixie = new PixieClient({ address, clusterId: '00000000-0000-0000-0000-000000000001', tls: 'plaintext', logger })
let executeMs = 0
const timedPixie = {
  async executeScript(o) {
    const t0 = performance.now()
    try {
      return await pixie.executeScript(o)
    } finally {
      executeMs = performance.now() - t0
    }
  },
  healthCheck: (o) => pixie.healthCheck(o),
  close: () => pixie.close(),
}
const registry = new Registry()
const metrics = createSelfMetrics(registry, { version: 'bench' })
const config = {
  schedule: { kind: 'interval', intervalMs: 15000, cron: '*/15 * * * * *' },
  windowMs: 30000,
  errorStatusMin: 500,
  namespaces: { include: [], exclude: [] },
  staleAfterMs: undefined,
  timeoutMs: 60000,
  maxRows: 100000,
  lagMs: 5000,
  maxCatchUpMs: 300000,
  expireAfterMs: 300000,
  bucketsSeconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
}
const collector = new HttpCollector({ pixie: timedPixie, registry, logger, now: Date.now, config })
// As the exporter: render and compress the exposition after each successful run.
const job = new CollectorJob({ collector, metrics, logger, now: Date.now, onSuccess: () => prepareExposition(registry) })
const app = await buildApp({ registry, jobs: [], logger, now: Date.now, landing: { version: 'bench', pixieAddress: address, clusterId: '-', simulated: true } })
const base = await app.listen({ host: '127.0.0.1', port: 0 })

gc()
const heapBefore = process.memoryUsage().heapUsed
const poll = { total: [], execute: [], publish: [], rows: 0 }
for (let i = 0; i < runs; i++) {
  const t0 = performance.now()
  const outcome = await job.runNow()
  const total = performance.now() - t0
  if (outcome !== 'success') throw new Error(`poll ${i} failed: ${job.status().lastError}`)
  poll.total.push(total)
  poll.execute.push(executeMs)
  poll.publish.push(total - executeMs)
  poll.rows = job.status().lastRows
}
gc()
const heapAfter = process.memoryUsage().heapUsed

const scrape = { serialize: [], http: [], bytes: 0, series: 0 }
for (let i = 0; i < runs; i++) {
  let t0 = performance.now()
  const text = await registry.metrics()
  scrape.serialize.push(performance.now() - t0) // prom-client's own rendering, for comparison
  t0 = performance.now()
  const res = await fetch(`${base}/metrics`)
  const body = await res.text()
  scrape.http.push(performance.now() - t0)
  scrape.bytes = body.length
  scrape.series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length
}
const rss = process.memoryUsage().rss

console.log(`pixie-exporter benchmark: ${pods} simulated pods, ${runs} runs each, median (min..max)`)
const fmt = (xs) => `${median(xs).toFixed(1)} ms (${Math.min(...xs).toFixed(1)}..${Math.max(...xs).toFixed(1)})`
console.log(`  rows per poll:                    ${poll.rows}`)
console.log(`  poll total (gRPC+decode+publish): ${fmt(poll.total)}`)
console.log(`    executeScript (stream+decode):  ${fmt(poll.execute)}`)
console.log(`    publish (rows -> snapshot):     ${fmt(poll.publish)}`)
console.log(`  heap retained by published data:  ${mb(heapAfter - heapBefore)} MiB (heapUsed ${mb(heapAfter)} MiB after GC)`)
console.log(`  prom-client registry.metrics():   ${fmt(scrape.serialize)}`)
console.log(`  GET /metrics over HTTP (cached):  ${fmt(scrape.http)}`)
console.log(`  exposition size:                  ${(scrape.bytes / 1024 / 1024).toFixed(2)} MiB, ${scrape.series} series`)
console.log(`  process RSS at end:               ${mb(rss)} MiB`)

await app.close()
pixie.close()
child.kill('SIGTERM')
