/**
 * Worker threads across reloads (issue 15): every reload that replaces the
 * HTTP collector starts a new worker and must terminate the old one; close
 * terminates the last. Runs the compiled exporter (dist/, built by npm test
 * before tap), whose workers load compiled modules: from the TypeScript
 * sources every worker would compile them again.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { loadConfig } from '../../src/config/load.js'
import type { createExporter as CreateExporter } from '../../src/exporter.js'
import { startFakeVizier } from '../fixtures/fake-vizier.js'
import { answer, type PodRow } from '../fixtures/http-fixtures.js'
import { sinkLogger } from '../fixtures/logger.js'
import { tableResponses } from '../fixtures/wire-tables.js'
import { waitFor } from '../fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const { createExporter } = (await import(String(new URL('../../dist/exporter.js', import.meta.url)))) as { createExporter: typeof CreateExporter }

const pods: PodRow[] = [
  { namespace: 'shop', pod: 'shop/cart-0', service: 'shop/a', requests: 50, errors: 10, p50: 1e6, p90: 2e6, p99: 3e6 },
  { namespace: 'shop', pod: 'shop/cart-0', service: 'shop/b', requests: 150, errors: 0, p50: 1e6, p90: 2e6, p99: 3e6 },
  { namespace: 'shop', pod: 'shop/web-1', service: 'shop/web', requests: 10, errors: 1, p50: 1e6, p90: 2e6, p99: 3e6 },
]

/** Threads of this process (Linux). */
function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN)
}

t.test('50 reloads that each replace the collector leave one worker thread; close leaves none', async (t) => {
  const tables = answer(pods, 4)
  // Every call gets the same answer.
  const fake = await startFakeVizier({ executeScript: () => ({ responses: tableResponses(tables) }) })
  t.teardown(() => fake.close())
  const configWith = (window: string) =>
    loadConfig({
      argv: ['--pixie.tls', 'plaintext', '--pixie.address', fake.address],
      env: { PX_CLUSTER_ID: CLUSTER, PIXIE_EXPORTER_CONFIG: '/nonexistent' },
      readFile: () => ['collectors:', '  http:', '    interval: 30s', `    window: ${window}`, '    buckets: [0.005, 0.05, 0.5, 5]', ''].join('\n'),
    }).config
  // libuv's thread pool starts at its first use (zlib): start it before counting.
  await promisify(gzip)(Buffer.from('warm up'))
  const before = threads()
  let flip = false
  const exporter = await createExporter({ config: configWith('10s'), logger: sinkLogger('error').logger, loadConfig: () => {
    flip = !flip
    return configWith(flip ? '11s' : '10s')
  } })
  exporter.start()
  const success = () => waitFor('a successful run', async () => (exporter.jobs.find((j) => j.name === 'http')?.status().lastOutcome === 'success' ? true : undefined), 30_000, 20)
  await success()
  const oneWorker = threads()
  t.ok(oneWorker > before, `the worker runs on its own thread(s) (${before} → ${oneWorker})`)

  const ready = await exporter.app.inject('/error-rate/shop/cart-0')
  t.equal(ready.statusCode, 200, '/error-rate answers from the worker run')
  t.same(ready.json(), { error_rate: (10 / 10 + 0 / 10) / (50 / 10 + 150 / 10), requests_per_second: 50 / 10 + 150 / 10, pods: 1 }, '/error-rate: both rows of the pod, over the 10s window')

  for (let i = 0; i < 50; i++) t.same(await exporter.reload(), { ok: true }, `reload ${i + 1}`, { diagnostic: false })
  await success()
  // Terminated workers release their threads asynchronously.
  const settled = await waitFor('threads back to one worker', async () => {
    const n = threads()
    return n <= oneWorker + 2 ? n : undefined
  }, 30_000, 100)
  t.ok(settled <= oneWorker + 2, `after 50 reloads: ${settled} threads, ${oneWorker} with one worker (each leaked worker would add at least one)`)
  await exporter.close()
  let closed = threads()
  await waitFor(`threads back to the start (${before}; now ${closed})`, async () => {
    closed = threads()
    return closed <= before + 2 ? closed : undefined
  }, 30_000, 100).catch(() => undefined)
  t.ok(closed <= before + 2, `after close: ${closed} threads, ${before} before the exporter`)
})

