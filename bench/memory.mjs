// Benchmark: memory and serving-thread stalls of the real exporter (dist/,
// in its own process: bench/exporter-child.mjs) polling a simulated cluster
// over real gRPC while being scraped. Prints figures; asserts nothing.
//   npm run bench:memory [-- PODS MAX_ROWS POLLS [ignore-row-limit]]
// PODS pods are simulated; the exporter runs with collectors.http.maxRows
// MAX_ROWS. With `ignore-row-limit` the simulator sends every pod whatever the
// pragma says (a Pixie or proxy that ignores it): the exporter must cut the
// stream at MAX_ROWS rows, so its memory is bounded by MAX_ROWS, not PODS.
// Environment: RUNTIME (deploy, the default: the exporter runs with
// deploy/base's NODE_OPTIONS and malloc settings; defaults: Node.js' own),
// INTERVAL (default 5s, as deploy/base), METRICS (a
// comma-separated collectors.http.metrics list, e.g. the lean set),
// PIPELINE=in-process (poll and render on the serving thread, to compare),
// EXPORTER_NODE_OPTIONS (NODE_OPTIONS of the exporter, replacing the
// runtime's),
// CHURN=SHARE:LIFETIME (e.g. 0.25:5m: a quarter of the pods replaced by
// new ones every 5 minutes, as rollouts do, for soaks), PRINT_EVERY=N (one
// table line every N polls; the summary covers every poll), LIBRARY=a,b
// (library collectors too, polling every INTERVAL in their worker thread),
// SCRAPES=gzip (every scrape asks for gzip, as Prometheus does; default:
// plain and gzip in turn).
//
// Per poll: the poll's duration; the longest event-loop stall of the serving
// thread since the previous poll (monitorEventLoopDelay, 1 ms resolution);
// RSS of the process; the main thread's V8 heap used, `external` (memory
// outside the heaps held by JS objects of the main thread: mostly the
// published exposition buffers) and `arrayBuffers` (the part of external in
// ArrayBuffers); the worker thread's V8 heap used and external; the exposition
// size; and the first plain and gzip scrape after the poll. Scrapes run once
// a second throughout (alternating plain and gzip unless SCRAPES=gzip, bodies read in full, not
// inflated); their p50 is printed at the end. Peak RSS is VmHWM (Linux).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { request } from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describeEnv, runtimeEnv } from './lib.mjs'

const pods = Number(process.argv[2] ?? 10000)
const maxRows = Number(process.argv[3] ?? 100000)
const polls = Number(process.argv[4] ?? 4)
const ignoreRowLimit = process.argv[5] === 'ignore-row-limit'
const interval = process.env.INTERVAL ?? '5s'
const metrics = process.env.METRICS?.split(',').filter((m) => m !== '')
// RUNTIME=deploy (default): deploy/base's NODE_OPTIONS and malloc settings; RUNTIME=defaults: Node.js' own.
const runtime = runtimeEnv(process.env.RUNTIME ?? 'deploy')
const printEvery = Number(process.env.PRINT_EVERY ?? 1)
// LIBRARY=resources,network: library collectors too (they poll in their worker thread, every INTERVAL; PIPELINE=in-process: on the serving thread).
const library = process.env.LIBRARY?.split(',').filter((m) => m !== '')
const churnText = process.env.CHURN
const churnMatch = churnText === undefined ? undefined : /^(0(?:\.\d+)?|1):(\d+)([sm])$/.exec(churnText)
if (churnText !== undefined && churnMatch === null) throw new Error(`CHURN must be SHARE:LIFETIME, e.g. 0.25:5m, got ${churnText}`)
// The simulator's clock starts an hour back (simulator-child.mjs): generations cover that hour, the run and a margin.
const churnArg =
  churnMatch === null || churnMatch === undefined
    ? ''
    : `${churnMatch[1]}:${Number(churnMatch[2]) * (churnMatch[3] === 'm' ? 60 : 1)}:${3600 + Math.ceil((polls * Number(/^(\d+)s$/.exec(process.env.INTERVAL ?? '5s')?.[1] ?? 5) * 2) + 600)}`

const children = []
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')))
// The machine's noise floor: an idle Node.js process measuring its own
// event-loop delay the same way, at the same time (other processes on the
// machine delay every thread, the exporter's included).
const probe = spawn(
  process.execPath,
  ['-e', "const h = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 1 }); h.enable(); process.stdin.on('data', () => { process.stdout.write(String(h.max / 1e6) + '\\n'); h.reset() })"],
  { stdio: ['pipe', 'pipe', 'inherit'] },
)
children.push(probe)
const probeLines = createInterface({ input: probe.stdout })[Symbol.asyncIterator]()
const probeMax = async () => {
  probe.stdin.write('\n')
  return Number((await probeLines.next()).value)
}
const sim = spawn(process.execPath, [join(import.meta.dirname, 'simulator-child.mjs'), String(pods), ignoreRowLimit ? 'ignore-row-limit' : '', churnArg], { stdio: ['ignore', 'pipe', 'inherit'] })
children.push(sim)
const [line] = await once(sim.stdout, 'data')
const simAddress = line.toString().trim()

const dir = mkdtempSync(join(tmpdir(), 'pxe-bench-memory-'))
const config = join(dir, 'config.yaml')
writeFileSync(
  config,
  [
    'collectors:',
    '  http:',
    `    interval: ${interval}`,
    '    window: 10s',
    '    timeout: 60s',
    `    maxRows: ${maxRows}`,
    ...(metrics === undefined ? [] : [`    metrics: [${metrics.join(', ')}]`]),
    ...(library === undefined ? [] : [`  library: [${library.join(', ')}]`, '  libraryOptions:', ...library.flatMap((name) => [`    ${name}:`, `      interval: ${interval}`])]),
    '',
  ].join('\n'),
)
const port = 20000 + Math.floor(Math.random() * 20000)
const exporter = spawn(
  process.execPath,
  [join(import.meta.dirname, 'exporter-child.mjs'), String(port), '--', '--config', config, '--pixie.address', simAddress, '--pixie.tls', 'plaintext'],
  {
    env: {
      ...process.env,
      PX_CLUSTER_ID: '00000000-0000-0000-0000-000000000001',
      ...runtime,
      ...(process.env.EXPORTER_NODE_OPTIONS !== undefined && { NODE_OPTIONS: process.env.EXPORTER_NODE_OPTIONS }),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
children.push(exporter)
const peakRss = () => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${exporter.pid}/status`, 'utf8'))?.[1]) / 1024

/** One scrape: ms to the last byte, and the body size. */
function scrape(gzip) {
  return new Promise((resolve) => {
    const started = performance.now()
    const req = request({ host: '127.0.0.1', port, path: '/metrics', headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      let bytes = 0
      res.on('data', (d) => (bytes += d.length))
      res.on('end', () => resolve({ ms: performance.now() - started, bytes, ok: res.statusCode === 200 }))
    })
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

const scrapes = { plain: [], gzip: [] }
// SCRAPES=gzip: every scrape asks for gzip, as Prometheus does (default: plain and gzip in turn).
const gzipOnly = process.env.SCRAPES === 'gzip'
let firstAfterPoll = false
let stop = false
let pending = []
const scraper = (async () => {
  let gzip = false
  while (!stop) {
    await new Promise((r) => setTimeout(r, firstAfterPoll ? 0 : 1000))
    if (firstAfterPoll) {
      firstAfterPoll = false
      const plain = gzipOnly ? undefined : await scrape(false)
      const zipped = await scrape(true)
      pending.push({ plain, zipped })
      if (plain?.ok) scrapes.plain.push(plain.ms)
      if (zipped?.ok) scrapes.gzip.push(zipped.ms)
      continue
    }
    const s = await scrape(gzip || gzipOnly)
    if (s?.ok) scrapes[gzip || gzipOnly ? 'gzip' : 'plain'].push(s.ms)
    gzip = !gzip
  }
})()

console.log(
  `memory: ${process.env.PIPELINE === 'in-process' ? 'IN-PROCESS pipeline' : 'worker pipeline'}, ${describeEnv(runtime)}${process.env.EXPORTER_NODE_OPTIONS === undefined ? '' : `, NODE_OPTIONS=${process.env.EXPORTER_NODE_OPTIONS}`}, ${pods} simulated pods${ignoreRowLimit ? ' (simulator IGNORES max_output_rows_per_table)' : ''}, maxRows ${maxRows}, ${polls} polls every ${interval}${metrics === undefined ? '' : `, metrics ${metrics.join(',')}`}${churnArg === '' ? '' : `, churn ${churnText} (a share of the pods replaced by new names every period)`}${library === undefined ? '' : `, library collectors ${library.join(',')} (${process.env.PIPELINE === 'in-process' ? 'on the serving thread' : 'in their worker thread'})`}${gzipOnly ? ', gzip scrapes only' : ''}`,
)
console.log('  poll | outcome | poll s | stall ms | RSS MiB | main heap MiB | main external (arrayBuffers) MiB | worker heap MiB | worker external MiB | /metrics plain / gzip MiB | first scrape after poll plain / gzip ms | idle probe stall ms')
const stalls = []
const floors = []
const rssAfter = []
const lines = createInterface({ input: exporter.stdout })
let done = 0
const deadline = setTimeout(() => lines.close(), polls * 120_000 + 60_000)
for await (const text of lines) {
  const p = JSON.parse(text)
  done++
  stalls.push(p.stallMs)
  const floor = await probeMax()
  floors.push(floor)
  rssAfter.push(p.rssMiB)
  firstAfterPoll = true
  await new Promise((r) => setTimeout(r, 50))
  while (pending.length === 0 && !stop) await new Promise((r) => setTimeout(r, 20))
  const { plain, zipped } = pending.shift()
  const f = (s) => (s === undefined ? '-' : s.ms.toFixed(1))
  if (p.poll % printEvery === 0 || p.poll === 1) console.log(
    `  ${String(p.poll).padStart(4)} | ${p.outcome} | ${(p.durationMs / 1000).toFixed(2)} | ${p.stallMs.toFixed(1)} | ${p.rssMiB} | ${p.mainHeapUsedMiB} | ${p.externalMiB} (${p.arrayBuffersMiB}) | ${p.workerHeapUsedMiB ?? '-'} | ${p.workerExternalMiB ?? '-'} | ${plain === undefined ? '-' : (plain.bytes / 1048576).toFixed(1)} / ${zipped === undefined ? '-' : (zipped.bytes / 1048576).toFixed(2)} | ${f(plain)} / ${f(zipped)} | ${floor.toFixed(1)}`,
  )
  if (done >= polls) break
}
clearTimeout(deadline)
stop = true
await scraper
const p50 = (xs) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)])
const sorted = [...stalls].sort((a, b) => a - b)
console.log(`stall per poll (ms): min ${sorted[0]?.toFixed(1)}, median ${p50(stalls).toFixed(1)}, max ${sorted.at(-1)?.toFixed(1)} over ${stalls.length} polls`)
const floorSorted = [...floors].sort((a, b) => a - b)
console.log(`idle probe process, same periods (the machine's noise floor, ms): median ${p50(floors).toFixed(1)}, max ${floorSorted.at(-1)?.toFixed(1)}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`)
console.log(`GET /metrics p50 while polling: plain ${p50(scrapes.plain).toFixed(1)} ms (${scrapes.plain.length} scrapes), gzip ${p50(scrapes.gzip).toFixed(1)} ms (${scrapes.gzip.length} scrapes)`)
console.log(`RSS after the last poll ${rssAfter.at(-1)} MiB; peak RSS (VmHWM) ${peakRss().toFixed(0)} MiB after ${done} polls`)
// Flatness (soaks): the median RSS after a poll in each quarter of the run.
const quarters = [0, 1, 2, 3].map((q) => rssAfter.slice(Math.floor((q * rssAfter.length) / 4), Math.floor(((q + 1) * rssAfter.length) / 4)))
if (rssAfter.length >= 8) console.log(`RSS after a poll, median by quarter of the run (MiB): ${quarters.map((q) => p50(q).toFixed(1)).join(' | ')}; max ${Math.max(...rssAfter).toFixed(1)}`)
exporter.kill('SIGTERM')
sim.kill('SIGTERM')
probe.kill('SIGTERM')
await once(exporter, 'exit')
process.exit(0)
