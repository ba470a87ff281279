// Shared parts of the benchmarks that measure the exporter from OUTSIDE: the
// compiled CLI (dist/cli.js) runs in its own process against the simulator
// (bench/simulator-child.mjs, another process, real gRPC on loopback), so the
// figures hold whatever runs inside the exporter (one thread or workers).
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { createServer } from 'node:net'
import { loadavg, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { parseAllDocuments } from 'yaml'

export const ROOT = join(import.meta.dirname, '..')
export const CLI = join(ROOT, 'dist', 'cli.js')
export const CLUSTER_ID = '00000000-0000-0000-0000-000000000001'
export const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'

/**
 * The runtime environment deploy/base gives the exporter container (its env
 * entries with a literal value: NODE_OPTIONS and the malloc settings), read
 * from the Deployment so that the benchmarks measure what is shipped.
 */
export function deployEnv() {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'base', 'deployment.yaml'), 'utf8')).map((d) => d.toJS())
  const deployment = docs.find((d) => d?.kind === 'Deployment')
  const container = deployment?.spec?.template?.spec?.containers?.find((c) => c.name === 'pixie-exporter')
  if (container === undefined) throw new Error('deploy/base/deployment.yaml has no pixie-exporter container')
  return Object.fromEntries((container.env ?? []).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]))
}

/**
 * `--runtime deploy` (the default): the exporter runs with {@link deployEnv};
 * `--runtime defaults`: with Node.js' own defaults (no heap or malloc settings).
 */
export function runtimeEnv(runtime = 'deploy') {
  if (runtime === 'defaults') return {}
  if (runtime === 'deploy') return deployEnv()
  throw new Error(`--runtime must be deploy or defaults, got ${runtime}`)
}

/** The runtime settings as printed in a benchmark's header. */
export function describeEnv(env) {
  const entries = Object.entries(env)
  return entries.length === 0 ? 'Node.js defaults (no NODE_OPTIONS, no malloc settings)' : `deploy/base's ${entries.map(([k, v]) => `${k}=${v}`).join(' ')}`
}

const children = new Set()
/** Never leave a child running, whatever happens here. */
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
export const median = (xs) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)])
export const mib = (bytes) => (bytes / 1048576).toFixed(1)

/** `--name value` and `--flag` arguments; bare words are returned in `_`. */
export function parseArgs(argv, defaults) {
  const out = { ...defaults, _: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) {
      out._.push(a)
      continue
    }
    const key = a.slice(2)
    const next = argv[i + 1]
    if (next === undefined || next.startsWith('--')) out[key] = true
    else {
      out[key] = next
      i++
    }
  }
  return out
}

/** `1k,10k,50k` or `1000,10000` → [1000, 10000]. */
export function podCounts(text) {
  return String(text)
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
    .map((s) => {
      const n = s.endsWith('k') ? Number(s.slice(0, -1)) * 1000 : Number(s)
      if (!Number.isInteger(n) || n < 1) throw new Error(`not a pod count: ${s}`)
      return n
    })
}

/** The machine the figures were taken on. */
export function machine() {
  const [one, five] = loadavg()
  return `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${one.toFixed(2)} / ${five.toFixed(2)} (1 / 5 min), Node ${process.version}`
}

export async function freePort() {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  await once(server, 'close')
  return port
}

function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Starts the simulator with `pods` generated pods in its own process; resolves with its address. */
export async function startSimulator(pods) {
  const child = track(spawn(process.execPath, [join(import.meta.dirname, 'simulator-child.mjs'), String(pods)], { stdio: ['ignore', 'pipe', 'inherit'] }))
  const [line] = await once(child.stdout, 'data')
  return {
    address: line.toString().trim(),
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

/**
 * Starts dist/cli.js against the simulator at `simAddress` with the YAML
 * `configText`; resolves once `/-/healthy` answers.
 */
export async function startExporter(simAddress, configText, env = deployEnv()) {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-bench-'))
  const config = join(dir, 'config.yaml')
  writeFileSync(config, configText)
  const port = await freePort()
  const child = track(
    spawn(
      process.execPath,
      [CLI, '--config', config, '--pixie.address', simAddress, '--pixie.tls', 'plaintext', '--web.listen-address', `127.0.0.1:${port}`, '--log.level', 'warn'],
      { env: { ...process.env, PX_CLUSTER_ID: CLUSTER_ID, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  )
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  // The log (warnings and errors, JSON on stdout): its last 16 KiB go into error messages.
  let log = ''
  child.stdout.on('data', (d) => (log = (log + d).slice(-16_384)))
  const url = `http://127.0.0.1:${port}`
  const until = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the exporter exited (${child.exitCode}):\n${stderr}${log}`)
    try {
      if ((await fetch(`${url}/-/healthy`)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`the exporter did not answer on ${url}:\n${stderr}`)
    await sleep(100)
  }
  return {
    url,
    port,
    pid: child.pid,
    /** Standard error, then the end of the log. */
    stderr: () => `${stderr}${log}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** collectors.http lines of the series set before issue 15: every family, the former 11 buckets, _sum and _count. */
export const LEGACY = [
  'metrics: [pixie_http_requests_per_second, pixie_http_errors_per_second, pixie_http_error_ratio, pixie_http_latency_seconds, pixie_http_requests_total, pixie_http_request_duration_seconds]',
  'buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]',
  'histogramSumAndCount: true',
]

/** The exporter's YAML for a benchmark: `interval`, a 10s window, room for every pod, plus `extra` lines under collectors.http. */
export function exporterConfig({ interval = '5s', extra = [] } = {}) {
  return ['collectors:', '  http:', `    interval: ${interval}`, '    window: 10s', '    timeout: 120s', '    maxRows: 1000000', ...extra.map((l) => `    ${l}`), ''].join('\n')
}

/** VmRSS and VmHWM (peak) of a process, bytes (Linux /proc). */
export function processMemory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), peak: kb('VmHWM') }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })

/**
 * One GET, timed to the last byte. `encoding`: `plain`, `gzip` (the raw
 * compressed bytes are counted) or `protobuf`. Resolves with the status, the
 * body's size on the wire, the body as text (plain and gzip) and the time.
 */
export function get(url, encoding = 'plain', timeoutMs = 120_000) {
  const headers =
    encoding === 'gzip' ? { 'accept-encoding': 'gzip' } : encoding === 'protobuf' ? { accept: PROTOBUF_ACCEPT, 'accept-encoding': 'identity' } : { 'accept-encoding': 'identity' }
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers, timeout: timeoutMs }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const ms = performance.now() - t0
        const body = Buffer.concat(chunks)
        const gz = res.headers['content-encoding'] === 'gzip'
        resolve({
          status: res.statusCode,
          bytes: body.length,
          contentType: String(res.headers['content-type'] ?? ''),
          ms,
          text: () => (encoding === 'protobuf' ? '' : (gz ? gunzipSync(body) : body).toString('utf8')),
        })
      })
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
  })
}

/**
 * One GET by curl (a native HTTP client, as Prometheus' is), when curl is
 * installed: resolves with the status, bytes and curl's own time_total in
 * ms (connect to last byte; starting curl is not counted); undefined
 * without curl. Node.js' http client spends longer than the server on a
 * 13 MiB body (bench/README), so both are printed.
 */
export function curlGet(url, encoding = 'plain') {
  const headers = encoding === 'gzip' ? ['-H', 'accept-encoding: gzip'] : ['-H', 'accept-encoding: identity']
  return new Promise((resolve) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', ...headers, url], (err, stdout) => {
      if (err !== null) return resolve(undefined)
      const [status, bytes, seconds] = stdout.trim().split(' ').map(Number)
      resolve({ status, bytes, ms: seconds * 1000 })
    })
  })
}

/** The value of the first sample of `name` (with optional label text) in an exposition, NaN when absent. */
export function sampleValue(text, name, labels = '') {
  const escaped = `${name}${labels}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const m = new RegExp(`^${escaped}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)
  return m === null ? NaN : Number(m[1])
}

/** Successful + failed runs of the http collector in an exposition. */
export function httpRuns(text) {
  return ['success', 'error', 'timeout'].reduce((a, r) => a + (sampleValue(text, 'pixie_exporter_collector_runs_total', `{collector="http",result="${r}"}`) || 0), 0)
}

/** Series of the built-in HTTP collector's families in a text exposition. */
export function httpSeries(text) {
  let n = 0
  let i = 0
  while ((i = text.indexOf('\npixie_http_', i)) !== -1) {
    n++
    i++
  }
  return n
}
