/**
 * The HTTP collector's worker thread (started by WorkerHttpRunner): it owns a
 * gRPC connection to Pixie and the poll pipeline (decode, aggregate, render,
 * compress), and posts each run's finished buffers to the main thread,
 * transferring their memory instead of copying it. Runs are served one at a
 * time, in order. Log lines go to the main thread's logger as pino JSON.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parentPort, workerData } from 'node:worker_threads'
import { pino } from 'pino'
import { routeProcessWarnings } from '../log.js'
import { PixieClient } from '../pixie/client.js'
import { HttpPipeline, type PublishedRun } from './http-pipeline.js'
import type { FromWorker, HttpWorkerData, ToWorker } from './http-runner.js'
import { errorData, ownFamilies, ownView } from './worker-wire.js'

const port = parentPort
if (port === null) throw new TypeError('http-worker.ts runs as a worker thread')
const data = workerData as HttpWorkerData
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer)

const logger = pino({ level: data.logLevel, base: null }, { write: (line: string) => post({ type: 'log', line }) })
routeProcessWarnings(logger)
const pixie = new PixieClient({
  ...data.pixie,
  ca: data.pixie.ca === undefined ? undefined : Buffer.from(data.pixie.ca),
  logger,
})
/**
 * A full garbage collection of this thread's heap, run after each poll. The
 * worker serves nothing, so the pause (tens of ms at 10,000 pods) delays no
 * scrape or probe; without it V8 lets a poll's garbage (decoded batches,
 * text pieces, gzip output) pile up over several polls before collecting,
 * and the process' RSS follows (see bench/memory.mjs). The flag only makes
 * `gc` available to contexts created after it; the main thread's global has
 * none.
 */
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void
const pipeline = new HttpPipeline({ config: data.config, log: logger, now: Date.now, monotonic: () => performance.now() })

/** Runs not yet finished, by id (aborted through their controller). */
const controllers = new Map<number, AbortController>()
let queue: Promise<void> = Promise.resolve()

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') {
    controllers.get(message.id)?.abort()
    return
  }
  const controller = new AbortController()
  controllers.set(message.id, controller)
  queue = queue.then(async () => {
    let reply: FromWorker
    let transfer: ArrayBuffer[] = []
    try {
      const run = await pipeline.run(pixie, { signal: controller.signal, timeoutMs: message.timeoutMs }, message.protobuf)
      const owned = ownBuffers(run)
      reply = { type: 'done', id: message.id, run: owned.run }
      transfer = owned.transfer
    } catch (err) {
      reply = { type: 'failed', id: message.id, error: errorData(err) }
    } finally {
      controllers.delete(message.id)
    }
    // Before the reply, so that the main thread (and anything it asks the
    // worker, e.g. its heap statistics) never sees this run's garbage.
    collectGarbage()
    post(reply, transfer)
  })
})

/** The run with every buffer on an ArrayBuffer of its own, and the list to transfer (see ownFamilies). */
function ownBuffers(run: PublishedRun): { run: PublishedRun; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = []
  const families = ownFamilies(run.families, transfer)
  const floats = (a: Float64Array) => ownView<Float64Array>(a, (v) => new Float64Array(v), transfer)
  const rates = { keys: run.rates.keys, requestsPerSecond: floats(run.rates.requestsPerSecond), errorsPerSecond: floats(run.rates.errorsPerSecond) }
  return { run: { ...run, families, rates }, transfer }
}
