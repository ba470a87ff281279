/**
 * The HTTP collector's poll pipeline in a worker thread (issue 15): real gRPC
 * to a fake Vizier on loopback that plays fixed tables, the worker's buffers
 * served through the real Exposition and app.
 */
import t, { type Test } from 'tap'
import * as grpc from '@grpc/grpc-js'
import { gunzipSync } from 'node:zlib'
import { Registry } from 'prom-client'
import { HttpCollector } from '../../src/collectors/http.js'
import { WorkerHttpRunner } from '../../src/collectors/http-runner.js'
import type { HttpCollectorConfig } from '../../src/config/types.js'
import { PixieUnavailableError } from '../../src/errors.js'
import { Exposition } from '../../src/metrics/exposition.js'
import { PixieClient } from '../../src/pixie/client.js'
import type { PixieTable } from '../../src/pixie/types.js'
import { aggregate } from '../../src/server/error-rate-route.js'
import { startFakeVizier, type FakeScript, type FakeVizier } from '../fixtures/fake-vizier.js'
import { answer, httpConfig, type PodRow } from '../fixtures/http-fixtures.js'
import { sinkLogger } from '../fixtures/logger.js'
import { tableResponses } from '../fixtures/wire-tables.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'

/** Pods with awkward labels (quotes, backslashes, a newline, UTF-8) and one pod under two Services. */
function pods(run: number): PodRow[] {
  const rows: PodRow[] = Array.from({ length: 40 }, (_, i) => ({
    namespace: `ns-${i % 3}`,
    pod: `ns-${i % 3}/web-6d8c6b9c8f-${String(i).padStart(5, '0')}`,
    service: i % 5 === 0 ? `["ns-${i % 3}/web","ns-${i % 3}/web-v2"]` : `ns-${i % 3}/web`,
    requests: 100 + i + run,
    errors: (i * 7 + run) % 20,
    p50: 20e6 + i,
    p90: 50e6 + i,
    p99: 80e6 + i * 1000,
  }))
  rows.push({ namespace: 'shop', pod: 'shop/cart-0', service: 'shop/a "quoted" \\ svc\nnext', requests: 50, errors: 10, p50: 1e6, p90: 2e6, p99: 0 })
  rows.push({ namespace: 'shop', pod: 'shop/cart-0', service: 'shop/käse', requests: 150, errors: 0, p50: 1e6, p90: 2e6, p99: 3e6 })
  return rows
}

/** A fake Vizier answering call n with `scripts[n]`. */
async function vizier(t: Test, scripts: readonly FakeScript[]): Promise<FakeVizier> {
  let call = 0
  const fake = await startFakeVizier({ executeScript: () => scripts[call++] ?? { end: { code: grpc.status.INTERNAL, details: 'no script left' } } })
  t.teardown(() => fake.close())
  return fake
}

const ok = (tables: readonly PixieTable[]): FakeScript => ({ responses: tableResponses(tables, { batchRows: 7 }) })

interface Served {
  text: string
  gzip: Buffer
  protobuf: Buffer
  protobufGzip: Buffer
}

async function served(registry: Registry): Promise<Served> {
  const exposition = new Exposition(registry)
  const rendered = await exposition.render()
  const proto = await exposition.renderProtobufParts()
  if (proto === undefined) throw new Error('no protobuf form prepared')
  return { text: rendered.text(), gzip: gunzipSync(await rendered.gzip()), protobuf: Buffer.concat(proto.chunks), protobufGzip: gunzipSync(await proto.gzip()) }
}

function collectorPair(t: Test, address: string, config: HttpCollectorConfig, workerUrl?: URL) {
  const logger = sinkLogger('warn').logger
  const pixie = new PixieClient({ address, clusterId: CLUSTER, tls: 'plaintext', logger })
  t.teardown(() => pixie.close())
  const runner = new WorkerHttpRunner({ config, logger, pixie: { address, clusterId: CLUSTER, tls: 'plaintext' }, ...(workerUrl !== undefined && { workerUrl }) })
  const registry = new Registry()
  const collector = new HttpCollector({ pixie, registry, logger, now: Date.now, monotonic: () => performance.now(), config, runner })
  t.teardown(() => collector.close())
  return { collector, registry, runner }
}

const run = (c: HttpCollector) => c.run({ signal: new AbortController().signal, timeoutMs: 10_000 })

t.test('the worker serves exactly what in-process rendering serves for the same Pixie answers', async (t) => {
  const config = httpConfig({ bucketsSeconds: [0.005, 0.05, 0.5, 5] })
  const tables = [1, 2, 3].map((n) => answer(pods(n), 4))
  const inWorker = collectorPair(t, (await vizier(t, tables.map(ok))).address, config)
  inWorker.collector.wantProtobuf()
  const fake = await vizier(t, tables.map(ok))
  const logger = sinkLogger('warn').logger
  const pixie = new PixieClient({ address: fake.address, clusterId: CLUSTER, tls: 'plaintext', logger })
  t.teardown(() => pixie.close())
  const registry = new Registry()
  const inProcess = new HttpCollector({ pixie, registry, logger, now: Date.now, monotonic: () => performance.now(), config })
  inProcess.wantProtobuf()

  for (let i = 0; i < tables.length; i++) {
    const [a, b] = await Promise.all([run(inWorker.collector), run(inProcess)])
    t.same(a, b, `run ${i + 1}: the same summary`)
    const [w, p] = await Promise.all([served(inWorker.registry), served(registry)])
    t.ok(w.text.includes('pixie_http_requests_total{') && w.text.includes('service="a \\"quoted\\" \\\\ svc\\nnext"'), `run ${i + 1}: escaped labels are there`)
    t.equal(w.text, p.text, `run ${i + 1}: text byte for byte`)
    t.equal(w.text, await inWorker.registry.metrics(), `run ${i + 1}: what prom-client renders from the worker's samples (get())`)
    t.ok(w.gzip.equals(Buffer.from(p.text, 'utf8')), `run ${i + 1}: the gzip body inflates to the same text`)
    t.ok(w.protobuf.equals(p.protobuf), `run ${i + 1}: protobuf byte for byte`)
    t.ok(w.protobufGzip.equals(p.protobuf), `run ${i + 1}: the protobuf gzip body inflates to the same bytes`)
    t.same(inWorker.collector.pods, inProcess.pods, `run ${i + 1}: the same per-pod rates for /error-rate`)
  }
  // /error-rate from the worker's packed rates: the pod under two Services counts once, with both rows.
  const cart = aggregate(inWorker.collector.pods, 'shop', 'cart-0')
  t.same(cart, { error_rate: (10 / 30 + 0 / 30) / (50 / 30 + 150 / 30), requests_per_second: 50 / 30 + 150 / 30, pods: 1 }, 'cart-0: (10 + 0) errors over (50 + 150) requests, one pod')
  const web = aggregate(inWorker.collector.pods, 'ns-1', 'web-6d8c6b9c8f-00004')
  const row = pods(3)[4]!
  t.same(web, { error_rate: row.errors / 30 / (row.requests / 30), requests_per_second: row.requests / 30, pods: 1 }, 'a pod under one Service: its own figures')
})

t.test('a stream broken mid-way leaves the published exposition byte-identical; the next run counts on', async (t) => {
  const config = httpConfig({ bucketsSeconds: [0.005, 0.05, 0.5, 5] })
  const tables = [answer(pods(1), 4), answer(pods(2), 4), answer(pods(3), 4)]
  const broken: FakeScript = { responses: tableResponses(tables[1]!, { batchRows: 7, breakAfter: 5 }), end: { code: grpc.status.UNAVAILABLE, details: 'connection reset (test)' } }
  const { collector, registry } = collectorPair(t, (await vizier(t, [ok(tables[0]!), broken, ok(tables[2]!)])).address, config)
  collector.wantProtobuf()
  await run(collector)
  const before = await served(registry)
  await t.rejects(run(collector), PixieUnavailableError, 'the broken stream fails the run, with the class of the error thrown in the worker')
  const after = await served(registry)
  t.equal(after.text, before.text, 'text unchanged')
  t.ok(after.gzip.equals(before.gzip), 'gzip unchanged')
  t.ok(after.protobuf.equals(before.protobuf), 'protobuf unchanged')
  await run(collector)
  const requests = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('pixie_http_requests_total{'))
      .reduce((a, l) => a + Number(l.split(' ').pop()), 0)
  const want = [...pods(1), ...pods(3)].reduce((a, p) => a + p.requests, 0)
  t.equal(requests((await served(registry)).text), want, 'the counters hold runs 1 and 3, nothing of the broken run')
})

t.test('an uncaught error in the worker fails the run with PXE_ERR_COLLECTOR_WORKER; the next run starts a new worker', async (t) => {
  const config = httpConfig({ bucketsSeconds: [0.005, 0.05, 0.5, 5] })
  const tables = [answer(pods(1), 4), answer(pods(2), 4), answer(pods(3), 4)]
  // The second run's answer hangs: only the crash ends that run.
  const fake = await vizier(t, [ok(tables[0]!), { end: 'hang' }, ok(tables[2]!)])
  const { collector, registry, runner } = collectorPair(t, fake.address, config, new URL('../fixtures/crashing-http-worker.ts', import.meta.url))
  await run(collector)
  const before = (await new Exposition(registry).render()).text()
  const first = runner.threadId
  await t.rejects(run(collector), { code: 'PXE_ERR_COLLECTOR_WORKER', name: 'CollectorWorkerError', message: /injected fault/ }, 'the run fails with the coded error, naming the cause')
  t.equal((await new Exposition(registry).render()).text(), before, 'the published exposition is untouched')
  t.equal(runner.threadId, undefined, 'the dead worker is gone')
  await run(collector)
  t.equal(runner.workersStarted, 2, 'a new worker served the next run')
  t.not(runner.threadId, first, 'on a new thread')
  t.match((await new Exposition(registry).render()).text(), /pixie_http_requests_per_second\{namespace="ns-0",pod="web-6d8c6b9c8f-00000",service="web,web-v2"\} 3\.4/, 'with the new answer (104 requests / 30 s)')
})

t.test('text rendered piece by piece is the same bytes as the whole string', async (t) => {
  const { formatFamilyText, renderFamilyText, LabelTextCache } = await import('../../src/metrics/snapshot-metric.js')
  const labels = Array.from({ length: 3000 }, (_, i) => ({ namespace: `ns-${i % 7}`, pod: `pöd-${i}-"x"\\`, service: 'svc\nnext' }))
  const samples = labels.flatMap((l, i) => ['0.005', '0.05', '+Inf'].map((le, j) => ({ labels: l, extra: ['le', le] as const, value: i * 3 + j + 0.25, metricName: 'x_bucket' })))
  const meta = { name: 'x', help: 'Help with \\ and\nnewline.', type: 'histogram' as const }
  const whole = Buffer.from(formatFamilyText(meta, samples, new LabelTextCache()), 'utf8')
  const pieces = renderFamilyText(meta, samples, new LabelTextCache())
  t.ok(whole.length > 1 << 19, `more than two pieces (${whole.length} bytes)`)
  t.ok(pieces.equals(whole), 'identical bytes')
})

t.test('replaced buffers are freed only once every response that started before has ended', async (t) => {
  const { BufferReleaser } = await import('../../src/metrics/buffer-release.js')
  const releaser = new BufferReleaser()
  const own = (n: number) => Buffer.from(new Uint8Array(n).fill(7).buffer)
  const early = releaser.acquire()
  const a = own(1 << 16)
  releaser.release([a])
  const late = releaser.acquire()
  t.equal(a.length, 1 << 16, 'a response in flight still reads the buffer: kept')
  late()
  t.equal(a.length, 1 << 16, 'a response that started after the release does not hold it')
  early()
  t.equal(a.length, 0, 'freed (detached) once the earlier response ended')
  early()
  const pooled = Buffer.from('small, from the shared pool')
  const b = own(1 << 10)
  releaser.release([pooled, b])
  t.equal(pooled.toString(), 'small, from the shared pool', 'a slice of the shared pool is never touched')
  t.equal(b.length, 0, 'with no response in flight: freed at once')
  t.equal(releaser.freedBytes, (1 << 16) + (1 << 10), 'bytes freed counted')
})

t.test('the pipeline serves the families the config schema lists, in its order', async (t) => {
  const { httpFamilies } = await import('../../src/collectors/http-pipeline.js')
  const { HTTP_METRIC_FAMILIES } = await import('../../src/config/schema.js')
  t.same(httpFamilies(httpConfig()).map((f) => f.name), [...HTTP_METRIC_FAMILIES], 'every family by default, in the documented order')
  t.same(httpFamilies(httpConfig({ metrics: ['pixie_http_request_duration_seconds', 'pixie_http_error_ratio'] })).map((f) => f.name), ['pixie_http_error_ratio', 'pixie_http_request_duration_seconds'], 'a subset keeps the exposition order')
})

t.test("after each run the worker's heap holds only what the next run needs: the run's garbage is collected", async (t) => {
  const many = (run: number): PodRow[] =>
    Array.from({ length: 6000 }, (_, i) => ({
      namespace: `ns-${i % 7}`,
      pod: `ns-${i % 7}/api-5c4b3a2918-${String(i).padStart(5, '0')}`,
      service: `ns-${i % 7}/api`,
      requests: 100 + run,
      errors: i % 3,
      p50: 20e6,
      p90: 50e6,
      p99: 80e6,
    }))
  const config = httpConfig({ bucketsSeconds: [0.025, 0.1, 0.25, 0.5, 1] })
  const scripts = [answer(pods(1), 5), answer(pods(2), 5), answer(many(3), 5), answer(many(4), 5), answer(many(5), 5), answer(many(6), 5), answer(many(7), 5), answer(many(8), 5)].map(ok)
  const { collector, runner } = collectorPair(t, (await vizier(t, scripts)).address, config)
  const used = async () => (await runner.heapStatistics())?.usedBytes ?? Number.NaN
  await run(collector)
  await run(collector)
  const small = await used()
  t.ok(Number.isFinite(small), `the worker reports its heap (${(small / 1048576).toFixed(1)} MiB after two 42-pod runs)`)
  const after: number[] = []
  for (let i = 0; i < 6; i++) {
    await run(collector)
    after.push(await used())
  }
  t.equal(collector.pods.length, 6000, 'the 6,000-pod runs were published')
  // What the next run needs for 6,000 pods (their running totals and label
  // text) is a few MiB; one run's decoded rows, text pieces and gzip output
  // are tens of MiB, and without the collection they stay on the heap.
  const grown = Math.max(...after) - small
  t.ok(grown < 12 * 1048576, `heap after a 6,000-pod run: ${after.map((b) => (b / 1048576).toFixed(1)).join(', ')} MiB, at most 12 MiB above the 42-pod runs (grew ${(grown / 1048576).toFixed(1)} MiB)`)
})
