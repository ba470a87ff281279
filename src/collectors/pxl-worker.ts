/**
 * The PxL-engine collectors' worker thread (started by PxlWorkerHost,
 * pxl-host.ts): one thread for all of them (library and custom), with its own
 * gRPC connection to Pixie. Each collector is a {@link PxlCollector} living
 * here, with its counters and range planner; a run decodes, aggregates and
 * renders (text, gzip, and protobuf when asked) here and posts the finished
 * families to the main thread, transferring their memory instead of copying
 * it. Runs of different collectors may overlap, as on the serving thread.
 * Log lines go to the main thread's logger as pino JSON.
 */
import { promisify } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parentPort, workerData } from 'node:worker_threads'
import { gzip as gzipCallback } from 'node:zlib'
import { pino } from 'pino'
import { Counter, Registry } from 'prom-client'
import { routeProcessWarnings } from '../log.js'
import { PixieClient } from '../pixie/client.js'
import type { RenderedFamily } from '../metrics/snapshot-metric.js'
import { SnapshotMetric } from '../metrics/snapshot-metric.js'
import { PxlCollector } from './pxl.js'
import type { FromPxlWorker, PxlRunResult, PxlWorkerData, ToPxlWorker } from './pxl-host.js'
import { errorData, ownFamilies } from './worker-wire.js'

const gzip = promisify(gzipCallback)
const port = parentPort
if (port === null) throw new TypeError('pxl-worker.ts runs as a worker thread')
const data = workerData as PxlWorkerData
const post = (message: FromPxlWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer)

const logger = pino({ level: data.logLevel, base: null }, { write: (line: string) => post({ type: 'log', line }) })
routeProcessWarnings(logger)
const pixie = new PixieClient({ ...data.pixie, ca: data.pixie.ca === undefined ? undefined : Buffer.from(data.pixie.ca), logger })
// As in http-worker.ts: a full collection after each run, which delays no scrape here.
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void
interface Hosted {
  readonly collector: PxlCollector
  readonly registry: Registry
  /** The collector's own pixie_exporter_series_dropped_total (registered nowhere); each run reports its increase to the main thread. */
  readonly seriesDropped: Counter<'collector'>
  /** seriesDropped's value after the collector's last run. */
  dropped: number
}

const hosted = new Map<number, Hosted>()
const controllers = new Map<number, AbortController>()

port.on('message', (message: ToPxlWorker) => {
  switch (message.type) {
    case 'add': {
      const registry = new Registry()
      // One per collector: a collector that replaces one of the same name (a reload) starts from 0.
      const seriesDropped = new Counter({ name: 'pixie_exporter_series_dropped_total', help: 'Series dropped.', labelNames: ['collector'] as const, registers: [] })
      const collector = new PxlCollector({
        spec: message.spec,
        pixie,
        registry,
        logger: logger.child({ collector: message.spec.name }),
        now: Date.now,
        monotonic: () => performance.now(),
        seriesDropped,
      })
      hosted.set(message.key, { collector, registry, seriesDropped, dropped: 0 })
      return
    }
    case 'remove':
      hosted.delete(message.key)
      return
    case 'abort':
      controllers.get(message.id)?.abort()
      return
    case 'run':
      void run(message)
  }
})

async function run(message: Extract<ToPxlWorker, { type: 'run' }>): Promise<void> {
  const controller = new AbortController()
  controllers.set(message.id, controller)
  let reply: FromPxlWorker
  const transfer: ArrayBuffer[] = []
  try {
    const entry = hosted.get(message.key)
    if (entry === undefined) throw new TypeError(`pxl worker: no collector ${message.key}`)
    const before = entry.collector.lastSuccessMonotonic
    const summary = await entry.collector.run({ signal: controller.signal, timeoutMs: message.timeoutMs })
    const dropped = (await entry.seriesDropped.get()).values.reduce((sum, v) => sum + v.value, 0)
    const result: PxlRunResult = {
      summary,
      droppedSeries: dropped - entry.dropped,
      // A run that published nothing (the clock went back: nothing new to count) leaves the published families as they are.
      ...(entry.collector.lastSuccessMonotonic !== before && { families: ownFamilies(await render(entry.registry, message.protobuf), transfer) }),
    }
    entry.dropped = dropped
    reply = { type: 'done', id: message.id, result }
  } catch (err) {
    transfer.length = 0
    reply = { type: 'failed', id: message.id, error: errorData(err) }
  } finally {
    controllers.delete(message.id)
  }
  collectGarbage()
  post(reply, transfer)
}

/** Every family of a collector's registry, in order: text and gzip, and the protobuf forms when asked; each buffer its own copy. */
async function render(registry: Registry, protobuf: boolean): Promise<RenderedFamily[]> {
  const families: RenderedFamily[] = []
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (!(metric instanceof SnapshotMetric)) continue
    // Copies: the metric keeps what it rendered (e.g. the HELP and TYPE of an
    // empty family, shared across runs), and what is posted is transferred.
    const text = Buffer.from(metric.render())
    const pb = protobuf ? metric.protobuf() : undefined
    const encoded = pb === undefined ? undefined : Buffer.from(pb)
    families.push({
      text,
      textGzip: await gzip(text),
      ...(encoded !== undefined && { protobuf: encoded, protobufGzip: await gzip(encoded) }),
    })
  }
  return families
}
