// Soak: thousands of polls with heavy pod churn (a quarter of the pods
// replaced on every poll), on a fake clock. Memory and series count must stay
// flat once expiry (expireAfter) catches up. Prints a line every 500 polls.
//   npm run bench:soak [-- RUNS PODS]
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { HttpCollector } from '../dist/collectors/http.js'
import { Exposition } from '../dist/metrics/exposition.js'
import { createSelfMetrics } from '../dist/metrics/self-metrics.js'
import { HTTP_POD_COUNTS_TABLE, HTTP_POD_STATS_COLUMNS, HTTP_POD_STATS_TABLE, httpPodCountsColumns } from '../dist/pixie/scripts/http-pod-stats.js'

const runs = Number(process.argv[2] ?? 3000)
const pods = Number(process.argv[3] ?? 1000)
const gc = globalThis.gc ?? (() => {})
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
let generation = 0

function tables() {
  // Pod i of this poll: three quarters are long-lived, a quarter is new every poll.
  const names = []
  for (let i = 0; i < pods; i++) names.push(i < pods * 0.75 ? `stable-${i}` : `churn-${generation}-${i}`)
  generation++
  const str = (values) => ({ type: 'STRING', values })
  const int = (values) => ({ type: 'INT64', values })
  const flt = (values) => ({ type: 'FLOAT64', values })
  const ns = names.map(() => 'soak')
  const pod = names.map((n) => `soak/${n}-6d8c6b9c8f-abcde`)
  const svc = names.map(() => 'soak/app')
  const req = names.map(() => 10n)
  const stats = {
    id: 's', name: HTTP_POD_STATS_TABLE, numRows: pods,
    columns: HTTP_POD_STATS_COLUMNS.map((c) => ({ name: c.name, type: c.type, semanticType: 1 })),
    data: [str(ns), str(pod), str(svc), int(req), int(names.map(() => 1n)), flt(names.map(() => 2e7)), flt(names.map(() => 5e7)), flt(names.map(() => 9e7))],
  }
  const counts = {
    id: 'c', name: HTTP_POD_COUNTS_TABLE, numRows: pods,
    columns: httpPodCountsColumns(BUCKETS.length).map((c) => ({ name: c.name, type: c.type, semanticType: 1 })),
    data: [str(ns), str(pod), str(svc), int(req), int(names.map(() => 0n)), int(names.map(() => 9n)), int(names.map(() => 0n)), int(names.map(() => 0n)), int(names.map(() => 1n)), int(names.map(() => 200_000_000n)), ...BUCKETS.map((_, b) => int(names.map(() => BigInt(Math.min(10, b)))))],
  }
  return { queryId: 'q', tables: new Map([[stats.name, stats], [counts.name, counts]]), stats: undefined }
}

let now = Date.UTC(2026, 10, 27)
const registry = new Registry()
createSelfMetrics(registry, { version: 'soak' })
const collector = new HttpCollector({
  pixie: { executeScript: async () => tables(), healthCheck: async () => {}, close() {} },
  registry,
  logger: pino({ level: 'error' }),
  now: () => now,
  config: {
    schedule: { kind: 'interval', intervalMs: 15000, cron: '*/15 * * * * *' }, windowMs: 30000, errorStatusMin: 500,
    namespaces: { include: [], exclude: [] }, staleAfterMs: undefined, timeoutMs: 60000, maxRows: 1000000,
    lagMs: 5000, maxCatchUpMs: 300000, expireAfterMs: 300000, bucketsSeconds: BUCKETS,
  },
})
const exposition = new Exposition(registry)
console.log(`soak: ${runs} polls every 15 s (fake clock), ${pods} pods, ${pods / 4} replaced per poll, expireAfter 5m`)
for (let i = 1; i <= runs; i++) {
  await collector.run({ signal: new AbortController().signal, timeoutMs: 60000 })
  now += 15000
  if (i % 500 === 0 || i === 20) {
    const text = (await exposition.render()).text()
    const series = text.split('\n').filter((l) => l.startsWith('pixie_http_')).length
    gc()
    console.log(`  poll ${String(i).padStart(5)}: counter pods ${collector.counterPods}, pixie_http_ series ${series}, heapUsed ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MiB`)
  }
}
