/**
 * The PxL-engine collectors (library and custom) off the serving thread
 * (issue 15): one worker thread hosts them all, with its own gRPC connection
 * to a fake Vizier on loopback; the serving thread serves the families it
 * hands back through the real Exposition.
 */
import t, { type Test } from 'tap'
import * as grpc from '@grpc/grpc-js'
import { gunzipSync } from 'node:zlib'
import { Registry } from 'prom-client'
import { PxlCollector } from '../../src/collectors/pxl.js'
import { PxlWorkerHost, WorkerPxlCollector } from '../../src/collectors/pxl-host.js'
import type { PxlCollectorSpec } from '../../src/collectors/pxl-spec.js'
import { PixieCancelledError } from '../../src/errors.js'
import { Exposition } from '../../src/metrics/exposition.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { PixieClient } from '../../src/pixie/client.js'
import type { PixieTable } from '../../src/pixie/types.js'
import { startFakeVizier, type FakeScript, type FakeVizier } from '../fixtures/fake-vizier.js'
import { sinkLogger } from '../fixtures/logger.js'
import { pxlSpec, pxlTable } from '../fixtures/pxl-fixtures.js'
import { tableResponses } from '../fixtures/wire-tables.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'

/** A gauge and a counter per pod and namespace, with awkward label values. */
const SPEC: PxlCollectorSpec = pxlSpec({
  name: 'shop_stats',
  table: 'shop_stats',
  labels: [
    { column: 'namespace', label: 'namespace' },
    { column: 'pod', label: 'pod', transform: 'strip-namespace' },
  ],
  staticLabels: { team: 'shop' },
  metrics: [
    { column: 'inflight', name: 'shop_inflight', help: 'Requests in flight.', type: 'gauge' },
    { column: 'requests', name: 'shop_requests_total', help: 'Requests.', type: 'counter' },
  ],
})

function table(run: number, pods = 30): PixieTable {
  const names = Array.from({ length: pods }, (_, i) => (i === 0 ? 'ns-0/a "quoted" \\ pod\nnext' : i === 1 ? 'ns-1/käse-0' : `ns-${i % 3}/web-${String(i).padStart(4, '0')}`))
  return pxlTable('shop_stats', [
    { name: 'namespace', type: 'STRING', values: names.map((n) => n.split('/')[0] ?? '') },
    { name: 'pod', type: 'STRING', values: names },
    { name: 'inflight', type: 'FLOAT64', values: names.map((_, i) => i / 4 + run) },
    { name: 'requests', type: 'INT64', values: names.map((_, i) => BigInt(10 * i + run)) },
  ])
}

const ok = (tables: readonly PixieTable[]): FakeScript => ({ responses: tableResponses(tables, { batchRows: 7 }) })

/** A fake Vizier answering call n with `scripts[n]`. */
async function vizier(t: Test, scripts: readonly FakeScript[]): Promise<FakeVizier> {
  let call = 0
  const fake = await startFakeVizier({ executeScript: () => scripts[call++] ?? { end: { code: grpc.status.INTERNAL, details: 'no script left' } } })
  t.teardown(() => fake.close())
  return fake
}

function host(t: Test, address: string, workerUrl?: URL) {
  const log = sinkLogger('debug')
  const h = new PxlWorkerHost({ pixie: { address, clusterId: CLUSTER, tls: 'plaintext' }, logger: log.logger, ...(workerUrl !== undefined && { workerUrl }) })
  t.teardown(() => h.close())
  return { host: h, log }
}

function workerCollector(t: Test, h: PxlWorkerHost, spec: PxlCollectorSpec = SPEC, clock?: { now: () => number }) {
  const registry = new Registry()
  const self = createSelfMetrics(registry, { version: 'test' })
  self.addCollector(spec.name)
  const collector = new WorkerPxlCollector({ spec, host: h, registry, now: Date.now, ...(clock !== undefined && { monotonic: clock.now }), seriesDropped: self.seriesDropped })
  t.teardown(() => collector.close())
  return { collector, registry }
}

const run = (c: { run: PxlCollector['run'] }) => c.run({ signal: new AbortController().signal, timeoutMs: 10_000 })

/** The collector's own families as served (the registry's self-metrics left out). */
async function served(registry: Registry, names: readonly string[]) {
  const only = new Registry()
  for (const name of names) {
    const metric = registry.getSingleMetric(name)
    if (metric !== undefined) only.registerMetric(metric)
  }
  const exposition = new Exposition(only)
  const rendered = await exposition.render()
  const proto = await exposition.renderProtobufParts()
  return { text: rendered.text(), gzip: gunzipSync(await rendered.gzip()).toString('utf8'), protobuf: proto === undefined ? undefined : Buffer.concat(proto.chunks) }
}

const FAMILIES = ['shop_inflight', 'shop_requests_total']

t.test('a collector in the worker serves exactly what it serves in-process, text, gzip and protobuf, run after run', async (t) => {
  const tables = [1, 2, 3].map((n) => table(n))
  const { host: h } = host(t, (await vizier(t, tables.map((x) => ok([x])))).address)
  const inWorker = workerCollector(t, h)
  inWorker.collector.wantProtobuf()
  const fake = await vizier(t, tables.map((x) => ok([x])))
  const logger = sinkLogger('warn').logger
  const pixie = new PixieClient({ address: fake.address, clusterId: CLUSTER, tls: 'plaintext', logger })
  t.teardown(() => pixie.close())
  const registry = new Registry()
  const self = createSelfMetrics(registry, { version: 'test' })
  const inProcess = new PxlCollector({ spec: SPEC, pixie, registry, logger, now: Date.now, seriesDropped: self.seriesDropped })

  for (let i = 0; i < tables.length; i++) {
    const [a, b] = await Promise.all([run(inWorker.collector), run(inProcess)])
    t.same(a, b, `run ${i + 1}: the same summary`)
    const [w, p] = await Promise.all([served(inWorker.registry, FAMILIES), served(registry, FAMILIES)])
    t.ok(w.text.includes('pod="a \\"quoted\\" \\\\ pod\\nnext"') && w.text.includes('pod="käse-0"'), `run ${i + 1}: escaped and UTF-8 labels are there`)
    t.equal(w.text, p.text, `run ${i + 1}: text byte for byte`)
    t.equal(w.gzip, p.text, `run ${i + 1}: the gzip body inflates to the same text`)
    t.ok(w.protobuf !== undefined && p.protobuf !== undefined && w.protobuf.equals(p.protobuf), `run ${i + 1}: protobuf byte for byte`)
  }
  // The counter adds up the three runs: pod web-0029 (i = 29) counted 291 + 292 + 293.
  t.match((await served(inWorker.registry, FAMILIES)).text, /shop_requests_total\{namespace="ns-2",pod="web-0029",team="shop"\} 876\n/, 'the worker keeps the counter totals between runs')
  t.equal(h.workersStarted, 1, 'one worker served every run')
})

t.test('a failed run rejects with the error an in-process run gets, same class and code, and leaves the published families byte-identical', async (t) => {
  const scripts: FakeScript[] = [
    ok([table(1)]),
    { responses: tableResponses([table(2)], { batchRows: 7, breakAfter: 2 }), end: { code: grpc.status.UNAVAILABLE, details: 'connection reset' } },
    { end: { code: grpc.status.INVALID_ARGUMENT, details: 'Compilation failed: name "px.nope" is not available' } },
    ok([pxlTable('other_table', [{ name: 'pod', type: 'STRING', values: ['ns/x'] }])]),
    ok([table(3)]),
  ]
  const { host: h } = host(t, (await vizier(t, scripts)).address)
  const { collector, registry } = workerCollector(t, h)
  const fake = await vizier(t, scripts)
  const logger = sinkLogger('silent').logger
  const pixie = new PixieClient({ address: fake.address, clusterId: CLUSTER, tls: 'plaintext', logger })
  t.teardown(() => pixie.close())
  const inProcess = new PxlCollector({ spec: SPEC, pixie, registry: new Registry(), logger, now: Date.now, seriesDropped: createSelfMetrics(new Registry(), { version: 'test' }).seriesDropped })
  await Promise.all([run(collector), run(inProcess)])
  const before = (await served(registry, FAMILIES)).text
  for (const what of ['a stream broken mid-way', 'a script that does not compile', 'an answer without the table']) {
    const [w, p] = await Promise.all([run(collector).then(() => undefined, (err: unknown) => err), run(inProcess).then(() => undefined, (err: unknown) => err)])
    t.ok(w instanceof Error && p instanceof Error, `${what}: both runs fail`)
    const shape = (e: unknown) => ({ cls: Object.getPrototypeOf(e)?.constructor?.name as unknown, name: (e as Error).name, code: (e as { code?: unknown }).code, message: (e as Error).message.replace(/127\.0\.0\.1:\d+/g, 'ADDR') })
    t.same(shape(w), shape(p), `${what}: the same error class, name, code and message (${shape(p).name}, ${String(shape(p).code)})`)
    t.equal((await served(registry, FAMILIES)).text, before, `${what}: nothing is published`)
  }
  await run(collector)
  // The failed runs counted nothing: 1 then 3 (web-0029: 291 + 293).
  t.match((await served(registry, FAMILIES)).text, /shop_requests_total\{namespace="ns-2",pod="web-0029",team="shop"\} 584\n/, 'the next run counts on from the last success')
})

t.test('series beyond maxSeries are counted in the serving thread\'s self-metrics; the warning carries the collector', async (t) => {
  const spec = { ...SPEC, maxSeries: 10 }
  const { host: h, log } = host(t, (await vizier(t, [ok([table(1)])])).address)
  const { collector, registry } = workerCollector(t, h, spec)
  await run(collector)
  const dropped = (await registry.getSingleMetric('pixie_exporter_series_dropped_total')?.get())?.values.find((v) => v.labels.collector === 'shop_stats')?.value
  t.equal(dropped, 40, '20 label sets dropped × 2 metrics')
  t.equal((await served(registry, FAMILIES)).text.match(/^shop_inflight\{/gm)?.length, 10, 'ten gauge series are served')
  const warning = log.lines().find((l) => l.msg === 'collector reached maxSeries; series beyond it were dropped')
  t.equal(warning?.collector, 'shop_stats', 'the worker\'s warning reaches the main logger with its collector')
  t.equal(warning?.droppedSeries, 40, 'and its figures')
})

t.test('an uncaught error in the worker fails the run with PXE_ERR_COLLECTOR_WORKER; the next run starts a new worker where the collector counts from 0', async (t) => {
  const fake = await vizier(t, [ok([table(1)]), { end: 'hang' }, ok([table(3)])])
  const { host: h } = host(t, fake.address, new URL('../fixtures/crashing-pxl-worker.ts', import.meta.url))
  const { collector, registry } = workerCollector(t, h)
  await run(collector)
  const before = (await served(registry, FAMILIES)).text
  const first = h.threadId
  await t.rejects(run(collector), { code: 'PXE_ERR_COLLECTOR_WORKER', name: 'CollectorWorkerError', message: /injected fault/ }, 'the run fails with the coded error, naming the cause')
  t.equal((await served(registry, FAMILIES)).text, before, 'the published families are untouched')
  t.equal(h.threadId, undefined, 'the dead worker is gone')
  await run(collector)
  t.equal(h.workersStarted, 2, 'a new worker served the next run')
  t.not(h.threadId, first, 'on a new thread')
  t.match((await served(registry, FAMILIES)).text, /shop_requests_total\{namespace="ns-2",pod="web-0029",team="shop"\} 293\n/, 'the collector joined the new worker and counts from 0, as after a restart')
})

t.test('collectors share one worker; it stops when the last one is closed, and starts again for a new one', async (t) => {
  const fake = await startFakeVizier({ executeScript: () => ok([table(1)]) })
  t.teardown(() => fake.close())
  const { host: h } = host(t, fake.address)
  const a = workerCollector(t, h)
  const b = workerCollector(t, h, { ...SPEC, name: 'shop_stats_b', metrics: SPEC.metrics.map((m) => ({ ...m, name: `${m.name.replace('_total', '')}_b${m.type === 'counter' ? '_total' : ''}` })) })
  await Promise.all([run(a.collector), run(b.collector), run(a.collector).catch(() => undefined)])
  t.equal(h.workersStarted, 1, 'one worker for both')
  t.equal(h.collectors, 2, 'hosting two collectors')
  t.match((await served(b.registry, ['shop_inflight_b'])).text, /shop_inflight_b\{namespace="ns-0"/, 'the second collector has its own families')
  await a.collector.close()
  t.ok(h.threadId !== undefined, 'the worker stays while a collector is left')
  const servedA = (await served(a.registry, FAMILIES)).text
  t.match(servedA, /shop_inflight\{/, 'a closed collector still serves its last data until it is stale')
  await b.collector.close()
  t.equal(h.threadId, undefined, 'the last close stops the worker')
  const c = workerCollector(t, h)
  await run(c.collector)
  t.equal(h.workersStarted, 2, 'a new collector starts a new worker')
})

t.test('an aborted run answers at once with PixieCancelledError; the worker goes on with the next run', async (t) => {
  const fake = await vizier(t, [{ end: 'hang' }, ok([table(2)])])
  const { host: h } = host(t, fake.address)
  const { collector, registry } = workerCollector(t, h)
  const controller = new AbortController()
  const pending = collector.run({ signal: controller.signal, timeoutMs: 30_000 })
  await fake.waitForCall(0)
  controller.abort()
  await t.rejects(pending, PixieCancelledError, 'cancelled')
  const call = await fake.waitForCall(0)
  t.equal(await call.done, 'cancelled', 'the worker cancelled the gRPC call')
  await run(collector)
  t.match((await served(registry, FAMILIES)).text, /shop_requests_total\{namespace="ns-2",pod="web-0029",team="shop"\} 292\n/, 'the next run publishes')
})

t.test('once stale, the families are served empty (HELP and TYPE only), on the serving thread\'s clock', async (t) => {
  let now = 1_000_000
  const clock = { now: () => now }
  const { host: h } = host(t, (await vizier(t, [ok([table(1)])])).address)
  const { collector, registry } = workerCollector(t, h, SPEC, clock)
  await run(collector)
  t.match((await served(registry, FAMILIES)).text, /shop_inflight\{/, 'fresh: served')
  now += SPEC.staleAfterMs + 1
  const text = (await served(registry, FAMILIES)).text
  t.notMatch(text, /shop_inflight\{|shop_requests_total\{/, 'stale: no samples')
  t.match(text, /# TYPE shop_inflight gauge\n/, 'HELP and TYPE stay')
})

t.test('closing a collector during its run cancels that run at once, naming the collector; the other collector\'s run goes on', async (t) => {
  const fake = await startFakeVizier({ executeScript: (request) => ((request as { query_name?: string }).query_name === 'pixie-exporter/shop_stats' ? { end: 'hang' } : ok([table(1)])) })
  t.teardown(() => fake.close())
  const { host: h } = host(t, fake.address)
  const hanging = workerCollector(t, h)
  const other = workerCollector(t, h, { ...SPEC, name: 'shop_stats_b', metrics: [{ column: 'inflight', name: 'shop_inflight_b', help: 'In flight.', type: 'gauge' }] })
  const pending = run(hanging.collector)
  await fake.waitForCall(0)
  const running = run(other.collector)
  await hanging.collector.close()
  await t.rejects(pending, { name: 'PixieCancelledError', message: /"pixie-exporter\/shop_stats" .*cancelled: the collector is closed/ }, 'the closed collector\'s run is cancelled, with its name')
  const call = await fake.waitForCall(0)
  t.equal(await call.done, 'cancelled', 'and its gRPC call with it')
  await running
  t.match((await served(other.registry, ['shop_inflight_b'])).text, /shop_inflight_b\{namespace="ns-0"/, 'the other collector published')
  t.equal(h.collectors, 1, 'one collector left in the worker')
})

t.test('a collector that replaces one of the same name counts only its own dropped series', async (t) => {
  const spec = { ...SPEC, maxSeries: 10 }
  const fake = await startFakeVizier({ executeScript: () => ok([table(1)]) })
  t.teardown(() => fake.close())
  const { host: h } = host(t, fake.address)
  const registry = new Registry()
  const self = createSelfMetrics(registry, { version: 'test' })
  self.addCollector(spec.name)
  const dropped = async () => (await registry.getSingleMetric('pixie_exporter_series_dropped_total')?.get())?.values.find((v) => v.labels.collector === 'shop_stats')?.value
  const first = new WorkerPxlCollector({ spec, host: h, registry: new Registry(), now: Date.now, seriesDropped: self.seriesDropped })
  await run(first)
  await run(first)
  t.equal(await dropped(), 80, 'two runs, 40 each')
  // A reload: the new collector of the same name comes first, the old one leaves after.
  const second = new WorkerPxlCollector({ spec: { ...spec, windowMs: 31_000 }, host: h, registry: new Registry(), now: Date.now, seriesDropped: self.seriesDropped })
  t.teardown(() => second.close())
  await run(second)
  await first.close()
  t.equal(await dropped(), 120, 'the new collector added its own 40, not the old one\'s 80 again')
})
