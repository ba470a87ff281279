// Benchmark: peak resident memory of the real exporter process (dist/cli.js)
// polling a simulated cluster and being scraped, to size the container's
// memory limit (deploy/base). Prints figures; asserts nothing.
//   npm run bench:memory [-- PODS MAX_ROWS POLLS [ignore-row-limit]]
// PODS pods are simulated; the exporter runs with collectors.http.maxRows
// MAX_ROWS. With `ignore-row-limit` the simulator sends every pod whatever the
// pragma says (a Pixie or proxy that ignores it): the exporter must cut the
// stream at MAX_ROWS rows, so its memory is bounded by MAX_ROWS, not PODS.
// Peak RSS is VmHWM from /proc/PID/status (Linux). EXPORTER_NODE_OPTIONS is
// passed to the exporter process only as NODE_OPTIONS (e.g. the heap cap the
// Deployment sets: EXPORTER_NODE_OPTIONS=--max-old-space-size=192).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const pods = Number(process.argv[2] ?? 10000)
const maxRows = Number(process.argv[3] ?? 100000)
const polls = Number(process.argv[4] ?? 4)
const ignoreRowLimit = process.argv[5] === 'ignore-row-limit'
// deploy/base polls every 5s over a 10s window.
const interval = process.env.INTERVAL ?? '5s'
const mib = (kb) => (kb / 1024).toFixed(0)

const children = []
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')))
const sim = spawn(process.execPath, [join(import.meta.dirname, 'simulator-child.mjs'), String(pods), ignoreRowLimit ? 'ignore-row-limit' : ''], { stdio: ['ignore', 'pipe', 'inherit'] })
children.push(sim)
const [line] = await once(sim.stdout, 'data')
const simAddress = line.toString().trim()

const dir = mkdtempSync(join(tmpdir(), 'pxe-bench-memory-'))
const config = join(dir, 'config.yaml')
writeFileSync(config, `collectors:\n  http:\n    interval: ${interval}\n    window: 10s\n    timeout: 60s\n    maxRows: ${maxRows}\n`)
const port = 20000 + Math.floor(Math.random() * 20000)
const exporter = spawn(
  process.execPath,
  [join(import.meta.dirname, '..', 'dist', 'cli.js'), '--config', config, '--pixie.address', simAddress, '--pixie.tls', 'plaintext', '--web.listen-address', `127.0.0.1:${port}`, '--log.level', 'warn'],
  {
    env: {
      ...process.env,
      PX_CLUSTER_ID: '00000000-0000-0000-0000-000000000001',
      ...(process.env.EXPORTER_NODE_OPTIONS !== undefined && { NODE_OPTIONS: process.env.EXPORTER_NODE_OPTIONS }),
    },
    stdio: ['ignore', 'ignore', 'pipe'] },
)
children.push(exporter)
let stderr = ''
exporter.stderr.on('data', (d) => (stderr += d))
const base = `http://127.0.0.1:${port}`
const status = () => {
  const text = readFileSync(`/proc/${exporter.pid}/status`, 'utf8')
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1])
  return { rss: kb('VmRSS'), peak: kb('VmHWM') }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const metricValue = (text, re) => Number(re.exec(text)?.[1] ?? NaN)

console.log(`memory: NODE_OPTIONS=${process.env.EXPORTER_NODE_OPTIONS ?? ''}, ${pods} simulated pods${ignoreRowLimit ? ' (simulator IGNORES max_output_rows_per_table)' : ''}, maxRows ${maxRows}, ${polls} polls every ${interval}, scraped twice after each`)
let seen = -1
let done = 0
const deadline = Date.now() + polls * 60_000 + 60_000
while (done < polls && Date.now() < deadline) {
  await sleep(500)
  let text
  try {
    text = await (await fetch(`${base}/metrics`)).text()
  } catch {
    continue
  }
  const runs = ['success', 'error', 'timeout'].reduce((a, r) => a + metricValue(text, new RegExp(`^pixie_exporter_collector_runs_total\\{collector="http",result="${r}"\\} (\\S+)`, 'm')), 0)
  if (runs === seen || runs === 0) continue
  seen = runs
  done++
  // fetch asks for gzip and inflates it: the exporter serves (and caches) the compressed form too.
  const plain = await (await fetch(`${base}/metrics`)).text()
  const series = plain.split('\n').filter((l) => l.startsWith('pixie_http_')).length
  const up = metricValue(plain, /^pixie_exporter_collector_up\{collector="http"\} (\S+)/m)
  const rows = metricValue(plain, /^pixie_exporter_collector_rows\{collector="http"\} (\S+)/m)
  const oversize = metricValue(plain, /^pixie_exporter_collector_oversize_results_total\{collector="http"\} (\S+)/m)
  const s = status()
  console.log(
    `  poll ${done}: up ${up}, rows ${rows}, oversize runs ${oversize}, pixie_http_ series ${series}, /metrics ${(Buffer.byteLength(plain) / 1048576).toFixed(1)} MiB, RSS ${mib(s.rss)} MiB, peak RSS ${mib(s.peak)} MiB`,
  )
}
const final = status()
console.log(`peak RSS (VmHWM) ${mib(final.peak)} MiB after ${done} polls`)
if (stderr.includes('heap out of memory')) console.log('the exporter ran out of heap')
exporter.kill('SIGTERM')
sim.kill('SIGTERM')
await once(exporter, 'exit')
process.exit(0)
