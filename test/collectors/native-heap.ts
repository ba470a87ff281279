/**
 * Native histograms at scale under a heap cap (issue 15): the worker's heap
 * is capped by deploy/base's --max-old-space-size, and a protobuf scrape once
 * made the worker run out of it (the families built as message objects, then
 * encoded by protobufjs; every later run failed with PXE_ERR_COLLECTOR_WORKER).
 * The pipeline runs here in a process whose heap is capped far below what
 * that took, against the simulator over real gRPC.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { makeLargeScenario } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'
import { sinkLogger } from '../fixtures/logger.js'

const PODS = 3_000
/** MiB. The message-object encoder needed more than this at 3,000 pods with native histograms (checked on the code before the streaming writer). */
const HEAP_CAP_MIB = 64

t.test(`${PODS.toLocaleString('en-US')} pods with native histograms and protobuf forms run in a ${HEAP_CAP_MIB} MiB heap`, async (t) => {
  const sim = await startSimulator({ scenario: makeLargeScenario(PODS), listen: '127.0.0.1:0', logger: sinkLogger('warn').logger, startedAt: Date.now() - 3_600_000 })
  t.teardown(() => sim.close())
  const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_CAP_MIB}`, '--import=tsx', join(import.meta.dirname, '..', 'fixtures', 'native-under-cap.ts'), sim.address], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 0, `the pipeline finished within the cap${code === 0 ? '' : `:\n${stderr.slice(-2000)}`}`)
  if (code !== 0) return
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { rows: number; histograms: number; heapUsedMiB: number }
  t.ok(result.rows > PODS * 10, `a native-bucket table of many rows per pod was decoded (${result.rows} rows)`)
  t.equal(result.histograms, PODS, 'every pod has a native histogram in the protobuf exposition')
  t.ok(result.heapUsedMiB < HEAP_CAP_MIB / 2, `what stays after a run is small (${result.heapUsedMiB.toFixed(1)} MiB)`)
})
