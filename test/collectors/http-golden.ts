/**
 * Golden exposition: the HTTP collector's metrics, served on /metrics, for a
 * fixed Pixie answer (three pods, two polls) and a fixed clock, must equal
 * test/fixtures/golden/http-exposition.txt byte for byte, and that file must
 * pass `promtool check metrics`. A change to names, labels, help texts,
 * buckets or formatting shows up here as a diff to review.
 *
 * Regenerate after an intended change (then review the diff of the .txt):
 *   PIXIE_UPDATE_GOLDEN=1 npx tap test/collectors/http-golden.ts
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { HttpCollector } from '../../src/collectors/http.js'
import { sinkLogger } from '../fixtures/logger.js'
import { ScriptedPixie, httpConfig, podCountsTable, podStatsTable, type PodCountsRow, type PodRow } from '../fixtures/http-fixtures.js'
import { findTool, promtool } from '../fixtures/tools.js'

const GOLDEN = join(import.meta.dirname, '..', 'fixtures', 'golden', 'http-exposition.txt')
const T0 = Date.UTC(2026, 10, 27, 12, 0, 0)
const INTERVAL_MS = 10_000

const stats: PodRow[] = [
  { namespace: 'shop', pod: 'shop/web-7d9f8b6c5d-abcde', service: 'shop/web', requests: 300, errors: 246, p50: 25e6, p90: 80e6, p99: 150e6 },
  { namespace: 'shop', pod: 'shop/web-6d8c6b9c8f-xk2lp', service: 'shop/web', requests: 900, errors: 0, p50: 20e6, p90: 50e6, p99: 80e6 },
  { namespace: 'payments', pod: 'payments/api-5c4b3a2918-q7w8e', service: '["payments/api","payments/api-internal"]', requests: 60, errors: 3, p50: 4e6, p90: 9e6, p99: 30e6 },
]
/** Counts of one poll's range: classes 1xx..5xx, cumulative buckets (le 5ms … 10s), latency sum in ns. */
const counts = (k: number): PodCountsRow[] => [
  { namespace: 'shop', pod: 'shop/web-7d9f8b6c5d-abcde', service: 'shop/web', byClass: [0, 18 * k, 0, 2 * k, 80 * k], buckets: [0, 3, 20, 40, 70, 95, 100, 100, 100, 100, 100].map((b) => b * k), latencySumNs: 4.2e9 * k },
  { namespace: 'shop', pod: 'shop/web-6d8c6b9c8f-xk2lp', service: 'shop/web', byClass: [0, 300 * k, 0, 0, 0], buckets: [5, 60, 200, 280, 299, 300, 300, 300, 300, 300, 300].map((b) => b * k), latencySumNs: 6.9e9 * k },
  { namespace: 'payments', pod: 'payments/api-5c4b3a2918-q7w8e', service: '["payments/api","payments/api-internal"]', byClass: [0, 19, 0, 0, 1], buckets: [8, 17, 19, 20, 20, 20, 20, 20, 20, 20, 20], latencySumNs: 1.1e8 },
]

/** The exposition served after two polls of the fixed answers, at fixed instants. */
async function exposition(): Promise<string> {
  let now = T0
  const registry = new Registry()
  const pixie = new ScriptedPixie([
    [podStatsTable(stats), podCountsTable(counts(1))],
    [podStatsTable(stats), podCountsTable(counts(2))],
  ])
  const logger = sinkLogger().logger
  const collector = new HttpCollector({ pixie, registry, logger, now: () => now, config: httpConfig({ schedule: { kind: 'interval', intervalMs: INTERVAL_MS, cron: '*/10 * * * * *' } }) })
  await collector.run({ signal: new AbortController().signal, timeoutMs: 5000 })
  now += INTERVAL_MS
  await collector.run({ signal: new AbortController().signal, timeoutMs: 5000 })
  const app = await buildApp({
    registry,
    jobs: [],
    logger,
    now: () => now,
    landing: { version: 'golden', pixieAddress: '127.0.0.1:1', clusterId: '10000000-0000-0000-0000-000000000001', simulated: true },
  })
  try {
    const res = await app.inject('/metrics')
    if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`)
    return res.body
  } finally {
    await app.close()
  }
}

t.test('the HTTP collector serves the golden exposition byte for byte', async (t) => {
  const body = await exposition()
  if (process.env.PIXIE_UPDATE_GOLDEN === '1') {
    writeFileSync(GOLDEN, body)
    t.comment(`wrote ${GOLDEN}`)
  }
  t.equal(body, readFileSync(GOLDEN, 'utf8'), `identical to ${GOLDEN} (PIXIE_UPDATE_GOLDEN=1 regenerates it)`)
  t.equal(await exposition(), body, 'the same input gives the same bytes again')
})

t.test('the golden exposition passes promtool check metrics', async (t) => {
  const found = findTool('promtool')
  if (found instanceof Error) return t.fail(found.message)
  const golden = readFileSync(GOLDEN, 'utf8')
  t.match(golden, /^pixie_http_requests_total\{/m, 'it holds the HTTP counters')
  const lint = promtool(['check', 'metrics'], golden)
  t.equal(lint.status, 0, `promtool exits 0\n${lint.output}`)
  t.equal(lint.output.trim(), '', 'promtool reports nothing')
})
