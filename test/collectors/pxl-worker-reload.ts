/**
 * The PxL collectors' worker thread across reloads (issue 15): reloads that
 * replace a custom collector keep one worker; a reload that removes every
 * PxL-engine collector stops it; adding one back starts it again; close
 * stops it. Runs the compiled exporter (dist/, built by npm test before tap),
 * as test/collectors/http-worker-reload.ts does.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { loadConfig } from '../../src/config/load.js'
import type { createExporter as CreateExporter } from '../../src/exporter.js'
import { startFakeVizier } from '../fixtures/fake-vizier.js'
import { answer } from '../fixtures/http-fixtures.js'
import { sinkLogger } from '../fixtures/logger.js'
import { pxlTable } from '../fixtures/pxl-fixtures.js'
import { tableResponses } from '../fixtures/wire-tables.js'
import { waitFor } from '../fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const { createExporter } = (await import(String(new URL('../../dist/exporter.js', import.meta.url)))) as { createExporter: typeof CreateExporter }

/** Threads of this process (Linux). */
function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN)
}

/** A custom collector whose help text (and so its definition) changes with `version`. */
function custom(version: number): string[] {
  return [
    '  custom:',
    '    - name: shop_requests',
    '      interval: 30s',
    '      table: shop_requests',
    '      pxl: |',
    '        # shop_requests',
    '        import px',
    "        df = px.DataFrame(table='http_events', start_time=px.plugin.start_time, end_time=px.plugin.end_time)",
    "        px.display(df, 'shop_requests')",
    '      labels:',
    '        - column: pod',
    '      metrics:',
    '        - column: requests',
    '          name: shop_requests_total',
    `          help: Requests (version ${version}).`,
    '          type: counter',
  ]
}

t.test('reloads that replace a PxL collector keep one worker for them; removing them all stops it; close leaves none', async (t) => {
  const shop = pxlTable('shop_requests', [
    { name: 'pod', type: 'STRING', values: ['a', 'b'] },
    { name: 'requests', type: 'INT64', values: [5n, 7n] },
  ])
  const fake = await startFakeVizier({
    executeScript: (request) => ({ responses: tableResponses((request as { query_name?: string }).query_name === 'pixie-exporter/shop_requests' ? [shop] : answer([], 5)) }),
  })
  t.teardown(() => fake.close())
  let next: string[] = custom(0)
  const configOf = (extra: string[]) =>
    loadConfig({
      argv: ['--pixie.tls', 'plaintext', '--pixie.address', fake.address],
      env: { PX_CLUSTER_ID: CLUSTER, PIXIE_EXPORTER_CONFIG: '/nonexistent' },
      readFile: () => ['collectors:', '  http:', '    interval: 30s', ...extra, ''].join('\n'),
    }).config
  await promisify(gzip)(Buffer.from('warm up'))
  const before = threads()
  const exporter = await createExporter({ config: configOf(next), logger: sinkLogger('error').logger, loadConfig: () => configOf(next) })
  exporter.start()
  const succeeded = (name: string) => waitFor(`a successful ${name} run`, async () => (exporter.jobs.find((j) => j.name === name)?.status().lastOutcome === 'success' ? true : undefined), 30_000, 20)
  await succeeded('http')
  await succeeded('shop_requests')
  const twoWorkers = threads()
  t.ok(twoWorkers > before, `the workers run on their own threads (${before} → ${twoWorkers})`)
  const scrape = await exporter.app.inject('/metrics')
  t.match(scrape.body, /shop_requests_total\{pod="b"\} 7\n/, 'the custom collector is served from its worker run')

  for (let i = 1; i <= 30; i++) {
    next = custom(i)
    t.same(await exporter.reload(), { ok: true }, `reload ${i}`, { diagnostic: false })
  }
  await succeeded('shop_requests')
  const settled = await waitFor('threads back to two workers', async () => {
    const n = threads()
    return n <= twoWorkers + 2 ? n : undefined
  }, 30_000, 100)
  t.ok(settled <= twoWorkers + 2, `after 30 reloads: ${settled} threads, ${twoWorkers} with the two workers`)

  next = []
  t.same(await exporter.reload(), { ok: true }, 'a reload without PxL collectors')
  const oneWorker = await waitFor('the PxL worker stops', async () => {
    const n = threads()
    return n < twoWorkers ? n : undefined
  }, 30_000, 100).catch(() => threads())
  t.ok(oneWorker < twoWorkers, `without PxL collectors their worker stops (${twoWorkers} → ${oneWorker} threads)`)

  next = custom(99)
  t.same(await exporter.reload(), { ok: true }, 'a reload that adds one back')
  await succeeded('shop_requests')
  t.match((await exporter.app.inject('/metrics')).body, /# HELP shop_requests_total Requests \(version 99\)/, 'served from a new worker')

  await exporter.close()
  let closed = threads()
  await waitFor(`threads back to the start (${before}; now ${closed})`, async () => {
    closed = threads()
    return closed <= before + 2 ? closed : undefined
  }, 30_000, 100).catch(() => undefined)
  t.ok(closed <= before + 2, `after close: ${closed} threads, ${before} before the exporter`)
})
