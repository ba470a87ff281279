// Benchmark: one /metrics render from the exposition cache against
// prom-client's plain registry.metrics(), on the same series, at 10,000 and
// 50,000 pods. Prints figures; asserts nothing.   npm run bench:scrape
import { gzipSync } from 'node:zlib'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { HttpCollector } from '../dist/collectors/http.js'
import { Exposition, prepareExposition } from '../dist/metrics/exposition.js'
import { createSelfMetrics } from '../dist/metrics/self-metrics.js'
import { HTTP_POD_COUNTS_TABLE, HTTP_POD_STATS_COLUMNS, HTTP_POD_STATS_TABLE, httpPodCountsColumns } from '../dist/pixie/scripts/http-pod-stats.js'

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const runs = Number(process.argv[2] ?? 5)

function tables(pods) {
  const ns = [], pod = [], svc = [], req = [], err = [], p50 = [], p90 = [], p99 = []
  for (let i = 0; i < pods; i++) {
    ns.push(`bench-${i % 20}`); pod.push(`bench-${i % 20}/svc-${i >> 3}-6d8c6b9c8f-p${i}`); svc.push(`bench-${i % 20}/svc-${i >> 3}`)
    req.push(300n); err.push(BigInt(i % 7)); p50.push(2e7); p90.push(5e7); p99.push(9e7)
  }
  const str = (values) => ({ type: 'STRING', values })
  const int = (values) => ({ type: 'INT64', values })
  const flt = (values) => ({ type: 'FLOAT64', values })
  const stats = {
    id: 's', name: HTTP_POD_STATS_TABLE, numRows: pods,
    columns: HTTP_POD_STATS_COLUMNS.map((c) => ({ name: c.name, type: c.type, semanticType: 1 })),
    data: [str(ns), str(pod), str(svc), int(req), int(err), flt(p50), flt(p90), flt(p99)],
  }
  const classes = [0n, 1n, 2n, 3n, 4n].map((c) => int(err.map((e) => (c === 1n ? 300n - e : c === 4n ? e : 0n))))
  const counts = {
    id: 'c', name: HTTP_POD_COUNTS_TABLE, numRows: pods,
    columns: httpPodCountsColumns(BUCKETS.length).map((c) => ({ name: c.name, type: c.type, semanticType: 1 })),
    data: [str(ns), str(pod), str(svc), int(req), ...classes, int(req.map(() => 6_000_000_000n)), ...BUCKETS.map((_, b) => int(req.map(() => BigInt(Math.min(300, 30 * (b + 1))))))],
  }
  return new Map([[stats.name, stats], [counts.name, counts]])
}

async function measure(pods) {
  const registry = new Registry()
  createSelfMetrics(registry, { version: 'bench' })
  const result = { queryId: 'q', tables: tables(pods), stats: undefined }
  const pixie = { executeScript: async () => result, healthCheck: async () => {}, close() {} }
  const config = {
    schedule: { kind: 'interval', intervalMs: 15000, cron: '*/15 * * * * *' }, windowMs: 30000, errorStatusMin: 500,
    namespaces: { include: [], exclude: [] }, staleAfterMs: undefined, timeoutMs: 60000, maxRows: 1000000,
    lagMs: 5000, maxCatchUpMs: 300000, expireAfterMs: 300000, bucketsSeconds: BUCKETS,
  }
  const fixed = Date.now()
  const collector = new HttpCollector({ pixie, registry, logger: pino({ level: "warn" }), now: () => fixed, config })
  await collector.run({ signal: new AbortController().signal, timeoutMs: 60000 })
  prepareExposition(registry) // as the exporter does after each successful run
  const exposition = new Exposition(registry)
  const time = async (fn) => {
    const xs = []
    for (let i = 0; i < runs; i++) { const t0 = performance.now(); await fn(); xs.push(performance.now() - t0) }
    return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  }
  const firstT0 = performance.now(); await exposition.render(); const first = performance.now() - firstT0
  const plain = await time(() => registry.metrics())
  const cached = await time(() => exposition.render())
  const plainGz = await time(async () => gzipSync(await registry.metrics()))
  const cachedGz = await time(async () => (await exposition.render()).gzip())
  const text = (await exposition.render()).text()
  const equal = text.replace(/^(process|nodejs)_.*$/gm, '') === (await registry.metrics()).replace(/^(process|nodejs)_.*$/gm, '')
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length
  console.log(`${pods} pods: ${series} series, ${(text.length / 1048576).toFixed(1)} MiB, same content as prom-client: ${equal}`)
  console.log(`  prom-client registry.metrics():   ${plain.toFixed(1)} ms   (+gzip ${plainGz.toFixed(1)} ms)`)
  console.log(`  exposition, first after a run:    ${first.toFixed(1)} ms   (rendered during the poll, see bench/poll.mjs "publish")`)
  console.log(`  exposition, cached:               ${cached.toFixed(2)} ms   (+gzip ${cachedGz.toFixed(2)} ms)`)
  console.log(`  speed-up: ${(plain / cached).toFixed(0)}x plain, ${(plainGz / cachedGz).toFixed(0)}x gzip`)
}

const sizes = process.argv.slice(3).map(Number).filter((n) => n > 0)
for (const pods of sizes.length > 0 ? sizes : [10000, 50000]) await measure(pods)
