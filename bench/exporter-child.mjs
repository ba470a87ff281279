// The exporter (dist/, wired by createExporter as the CLI does) in its own
// process, instrumented for bench/memory.mjs: after every poll it prints one
// JSON line with the poll's duration, the longest event-loop stall of the
// serving thread since the previous poll ended (perf_hooks
// monitorEventLoopDelay at 1 ms resolution), and the memory of the process,
// of the main thread's heap and of the worker's heap.
//   node bench/exporter-child.mjs PORT -- <exporter flags>
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { pino } from 'pino'
import { loadConfigAsync } from '../dist/config/load.js'
import { createExporter } from '../dist/exporter.js'

const port = Number(process.argv[2])
const argv = process.argv.slice(process.argv.indexOf('--') + 1)
const { config } = await loadConfigAsync({ argv, env: process.env })
// PIPELINE=in-process polls and renders on the serving thread (for comparison).
const httpPipeline = process.env.PIPELINE === 'in-process' ? 'in-process' : 'worker'
const exporter = await createExporter({ config, logger: pino({ level: 'warn' }, pino.destination(2)), httpPipeline })
await exporter.app.listen({ host: '127.0.0.1', port })
const delay = monitorEventLoopDelay({ resolution: 1 })
delay.enable()
exporter.start()
let wasRunning = false
let polls = 0
const mib = (b) => Math.round((b / 1048576) * 10) / 10
setInterval(async () => {
  const job = exporter.jobs.find((j) => j.name === 'http')
  const status = job?.status()
  if (status === undefined) return
  if (status.running) {
    wasRunning = true
    return
  }
  if (!wasRunning) return
  wasRunning = false
  polls++
  const stallMs = delay.max / 1e6
  delay.reset()
  const m = process.memoryUsage()
  const worker = await job.collector?.workerHeap?.()
  process.stdout.write(
    `${JSON.stringify({
      poll: polls,
      outcome: status.lastOutcome,
      rows: status.lastRows,
      durationMs: status.lastDurationMs,
      stallMs,
      rssMiB: mib(m.rss),
      mainHeapUsedMiB: mib(m.heapUsed),
      mainHeapTotalMiB: mib(m.heapTotal),
      externalMiB: mib(m.external),
      arrayBuffersMiB: mib(m.arrayBuffers),
      workerHeapUsedMiB: worker === undefined ? null : mib(worker.usedBytes),
      workerHeapTotalMiB: worker === undefined ? null : mib(worker.totalBytes),
      workerExternalMiB: worker === undefined ? null : mib(worker.externalBytes),
    })}\n`,
  )
}, 5).unref()
process.on('SIGTERM', () => exporter.close().then(() => process.exit(0)))
