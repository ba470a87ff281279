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
import { httpConfig } from '../fixtures/http-fixtures.js'
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
