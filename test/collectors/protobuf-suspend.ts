/**
 * When the HTTP collector's worker runs out of heap in a run that rendered
 * the protobuf forms, the collector goes on in text only, rather than
 * failing every run the same way (a Prometheus with native histograms must
 * not turn a working exporter into a stale one).
 */
import t from 'tap'
import { Worker } from 'node:worker_threads'
import { Registry } from 'prom-client'
import { HttpCollector } from '../../src/collectors/http.js'
import type { HttpRunner } from '../../src/collectors/http-runner.js'
import type { PublishedRun } from '../../src/collectors/http-pipeline.js'
import { CollectorWorkerError } from '../../src/errors.js'
import type { RunContext } from '../../src/collectors/collector.js'
import { ScriptedPixie, httpConfig, podCountsTable, podStatsTable } from '../fixtures/http-fixtures.js'
import { httpParamsOfCall } from '../fixtures/http-call.js'
import { sinkLogger } from '../fixtures/logger.js'
import { HttpPipeline } from '../../src/collectors/http-pipeline.js'
import { HTTP_POD_NATIVE_BUCKETS_COLUMNS, HTTP_POD_NATIVE_BUCKETS_TABLE } from '../../src/pixie/scripts/http-pod-stats.js'
import type { PixieTable } from '../../src/pixie/types.js'
import { memoryLogger } from '../fixtures/fake-vizier.js'

const context = (): RunContext => ({ signal: new AbortController().signal, timeoutMs: 5_000 })
const emptyRun: PublishedRun = { rows: 0, skippedSeconds: 0, counterPods: 0, families: [], rates: { keys: '[]', requestsPerSecond: new Float64Array(0), errorsPerSecond: new Float64Array(0) } }

/** A runner that fails with `failure` while asked for protobuf, and succeeds in text. */
function runner(failure: () => Error): HttpRunner & { asked: boolean[] } {
  const asked: boolean[] = []
  return {
    asked,
    run(_context: RunContext, protobuf: boolean) {
      asked.push(protobuf)
      return protobuf ? Promise.reject(failure()) : Promise.resolve(emptyRun)
    },
    close: () => Promise.resolve(),
  }
}

t.test('Node.js reports a worker out of heap as ERR_WORKER_OUT_OF_MEMORY (what the collector recognises)', async (t) => {
  const worker = new Worker('const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length))', { eval: true, resourceLimits: { maxOldGenerationSizeMb: 16 } })
  const err = await new Promise<Error & { code?: string }>((resolve) => worker.once('error', resolve))
  t.equal(err.code, 'ERR_WORKER_OUT_OF_MEMORY')
})

t.test('out of heap in a protobuf run: the next runs render text only, for good, and the log says why', async (t) => {
  const oom = () => new CollectorWorkerError('the http collector\'s worker thread failed: out of memory', { cause: Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' }) })
  const r = runner(oom)
  const { logger, lines } = memoryLogger()
  const collector = new HttpCollector({ pixie: undefined as never, registry: new Registry(), logger, now: Date.now, config: httpConfig({ nativeHistogram: { schema: 3, classicBuckets: 'separate' } }), runner: r })
  await t.rejects(collector.run(context()), CollectorWorkerError, 'the run that ran out of heap fails, as it did')
  t.equal(collector.protobufSuspended, true)
  t.ok(lines.some((l) => l.includes('renders the text exposition only')), 'an error line says what happened and what to do')
  await collector.run(context())
  t.same(r.asked, [true, false], 'the next run asks for text only')
  collector.wantProtobuf()
  await collector.run(context())
  t.same(r.asked, [true, false, false], 'a later protobuf scrape does not bring the protobuf forms back')
})

t.test('other failures of a protobuf run change nothing', async (t) => {
  const r = runner(() => new CollectorWorkerError('the worker exited with code 1'))
  const collector = new HttpCollector({ pixie: undefined as never, registry: new Registry(), logger: memoryLogger().logger, now: Date.now, config: httpConfig(), runner: r })
  collector.wantProtobuf()
  await t.rejects(collector.run(context()))
  await t.rejects(collector.run(context()))
  t.same(r.asked, [true, true], 'protobuf is still asked for')
  t.equal(collector.protobufSuspended, false)
})

t.test('once the protobuf forms are given up, the native buckets are no longer asked of Pixie (their decode may be what ran out of heap)', async (t) => {
  const emptyNative: PixieTable = {
    id: '20000000-0000-0000-0000-000000000003',
    name: HTTP_POD_NATIVE_BUCKETS_TABLE,
    columns: HTTP_POD_NATIVE_BUCKETS_COLUMNS.map((c) => ({ name: c.name, type: c.type, semanticType: 1 })),
    data: HTTP_POD_NATIVE_BUCKETS_COLUMNS.map((c) => (c.type === 'STRING' ? { type: 'STRING', values: [] } : { type: 'INT64', values: [] })),
    numRows: 0,
  }
  const pixie = new ScriptedPixie([
    [podStatsTable([]), podCountsTable([], 2), emptyNative],
    [podStatsTable([]), podCountsTable([], 2)],
  ])
  const pipeline = new HttpPipeline({
    config: httpConfig({ bucketsSeconds: [0.1, 1], nativeHistogram: { schema: 3, classicBuckets: 'separate' } }),
    log: sinkLogger().logger,
    now: Date.now,
    monotonic: () => performance.now(),
  })
  await pipeline.run(pixie, context(), true)
  await new Promise((resolve) => setTimeout(resolve, 5))
  await pipeline.run(pixie, context(), false)
  t.same(httpParamsOfCall(pixie.calls[0])?.counts?.native, { schema: 3 }, 'the control: a protobuf run asks for them')
  t.same(httpParamsOfCall(pixie.calls[1])?.counts?.native, undefined, 'a text-only run does not ask for the native buckets')
  t.equal(pixie.calls[1]?.execFuncs?.length, 2, 'two functions called: stats and counts')
})
