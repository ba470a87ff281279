// Benchmark: a real Prometheus 2.42 (Debian's /usr/bin/prometheus) scraping
// the real exporter (dist/cli.js) that polls the simulator, at 10,000 pods by
// default. Prints scrape_duration_seconds (median, min, max, after the first
// scrape) and the samples per scrape, for the classic configuration and for
// native histograms (the exporter with collectors.http.nativeHistogram
// enabled, Prometheus with --enable-feature=native-histograms, which
// negotiates the protobuf exposition). Asserts nothing.
//
//   npm run bench:prometheus [-- --pods 10k] [--scrapes 8] [--scrape-interval 15s] [--poll-interval 5s] [--configs classic,native,native-only] [--legacy] [--runtime deploy|defaults]
//
// native: classicBuckets separate (the default: the classic series stay
// beside the native histogram); native-only: classicBuckets none; static:
// Prometheus' own floor for the classic exposition, a plain Node server
// answering every scrape with the body the exporter served once (gzip when
// asked), with the exporter and simulator stopped (no poll, no other CPU);
// static-identity: the same, never compressed (what gunzip costs Prometheus).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { gzipSync } from 'node:zlib'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LEGACY, describeEnv, exporterConfig, httpRuns, httpSeries, runtimeEnv, freePort, machine, median, mib, parseArgs, podCounts, processMemory, sleep, startExporter, startSimulator } from './lib.mjs'

const args = parseArgs(process.argv.slice(2), { pods: '10k', scrapes: '8', 'scrape-interval': '15s', configs: 'classic,native', runtime: 'deploy', 'poll-interval': '5s' })
const env = runtimeEnv(args.runtime)
const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus'
if (!existsSync(PROMETHEUS)) {
  console.error(`${PROMETHEUS} not found: install Debian's prometheus package (or set PROMETHEUS)`)
  process.exit(1)
}
const CONFIGS = {
  classic: { exporter: [], flags: [] },
  native: { exporter: ['nativeHistogram:', '  enabled: true'], flags: ['--enable-feature=native-histograms'] },
  'native-only': { exporter: ['nativeHistogram:', '  enabled: true', '  classicBuckets: none'], flags: ['--enable-feature=native-histograms'] },
  static: { exporter: [], flags: [], static: 'gzip' },
  'static-identity': { exporter: [], flags: [], static: 'identity' },
}
const extra = []
if (typeof args.metrics === 'string') extra.push(`metrics: [${args.metrics}]`)
if (typeof args.buckets === 'string') extra.push(`buckets: [${args.buckets}]`)
// --legacy: the series set before issue 15 (every family, 11 buckets, _sum and _count), for comparison.
if (args.legacy === true) extra.push(...LEGACY)
const scrapes = Number(args.scrapes)
const interval = args['scrape-interval']
const intervalSeconds = Number(/^(\d+)s$/.exec(interval)?.[1] ?? NaN)
if (!(intervalSeconds > 0)) throw new Error(`--scrape-interval must be whole seconds (e.g. 15s), got ${interval}`)
const timeout = `${Math.min(10, intervalSeconds)}s`

console.log(`bench:prometheus: ${PROMETHEUS} scraping the exporter every ${interval} (timeout ${timeout}), the exporter polling the simulator every ${args['poll-interval']}${extra.length > 0 ? `, ${extra.join(' ')}` : ' (default series set)'}`)
console.log(`machine: ${machine()}`)
console.log(`exporter runtime: ${describeEnv(env)}`)
console.log('')
console.log('| pods | configuration | samples per scrape (per pod) | scrape_duration_seconds median (min–max) over N scrapes | failed scrapes / scrapes without the pods | first scrape | Prometheus RSS peak |')
console.log('|---|---|---|---|---|---|---|')
for (const pods of podCounts(args.pods)) {
  for (const name of String(args.configs).split(',')) {
    const config = CONFIGS[name]
    if (config === undefined) throw new Error(`unknown configuration ${name}: one of ${Object.keys(CONFIGS).join(', ')}`)
    console.log(await measure(pods, name, config))
  }
}
process.exit(0)

async function query(url, q) {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`)
  const body = await r.json()
  if (body.status !== 'success') throw new Error(`${q}: ${JSON.stringify(body)}`)
  return body.data.result
}

/** The exporter's plain and gzip bodies once its first poll with the pods is published (then the exporter and simulator stop). */
async function capture(pods) {
  const sim = await startSimulator(pods)
  const exporter = await startExporter(sim.address, exporterConfig({ interval: args['poll-interval'], extra }), env)
  try {
    for (const until = Date.now() + 300_000; Date.now() < until; await sleep(1000)) {
      const plain = Buffer.from(await (await fetch(`${exporter.url}/metrics`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer())
      const text = plain.toString('utf8')
      // A steady poll: the counters (from the second poll on) and every pod.
      if (httpRuns(text) >= 3 && httpSeries(text) >= pods) return { plain, gzip: gzipSync(plain) }
    }
    throw new Error(`no poll with ${pods} pods in 5 minutes:\n${exporter.stderr()}`)
  } finally {
    await exporter.stop()
    await sim?.stop()
  }
}

/** A server that answers every request with `bodies` (gzip when accepted), like an exporter that does no work. */
async function staticServer(bodies, compress) {
  const server = createServer((req, res) => {
    const gzip = compress && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', ...(gzip && { 'content-encoding': 'gzip' }) })
    res.end(gzip ? bodies.gzip : bodies.plain)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: server.address().port, stop: () => new Promise((r) => server.close(r)) }
}

async function measure(pods, name, config) {
  let sim
  let exporter
  if (config.static !== undefined) {
    exporter = await staticServer(await capture(pods), config.static === 'gzip')
  } else {
    sim = await startSimulator(pods)
    exporter = await startExporter(sim.address, exporterConfig({ interval: args['poll-interval'], extra: [...extra, ...config.exporter] }), env)
  }
  const dir = mkdtempSync(join(tmpdir(), 'pxe-bench-prom-'))
  const port = await freePort()
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${timeout}`,
      'scrape_configs:',
      '  - job_name: pixie-exporter',
      '    honor_labels: true',
      `    static_configs: [{ targets: ["127.0.0.1:${exporter.port}"] }]`,
      '',
    ].join('\n'),
  )
  const prom = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...config.flags],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  process.on('exit', () => prom.kill('SIGKILL'))
  let stderr = ''
  prom.stderr.on('data', (d) => (stderr += d))
  const url = `http://127.0.0.1:${port}`
  try {
    // Prometheus starts scraping at once; the exporter's first poll may come later.
    // Wait for the first scrape that holds the pods, then for `scrapes` more.
    const until = Date.now() + 120_000 + scrapes * 30_000
    let first
    let samples = []
    for (;;) {
      if (prom.exitCode !== null) throw new Error(`prometheus exited:\n${stderr}`)
      await sleep(2000)
      if (Date.now() > until) throw new Error(`not enough scrapes in time:\n${stderr}`)
      let result
      try {
        result = await query(url, `scrape_duration_seconds{job="pixie-exporter"}[30m]`)
      } catch {
        continue
      }
      const durations = result[0]?.values ?? []
      const counted = await query(url, `scrape_samples_scraped{job="pixie-exporter"}[30m]`)
      const sampleValues = counted[0]?.values ?? []
      // The first scrape that carries the pods' series.
      const start = sampleValues.findIndex(([, v]) => Number(v) >= pods)
      if (start === -1) continue
      first = Number(durations[start]?.[1])
      samples = sampleValues.slice(start + 1).map(([, v]) => Number(v))
      const later = durations.slice(start + 1).map(([, v]) => Number(v))
      if (later.length >= scrapes) {
        const peak = processMemory(prom.pid).peak
        const perScrape = median(samples)
        // A failed scrape (timeout, error) has up 0; one that found the data stale has few samples.
        const upValues = ((await query(url, `up{job="pixie-exporter"}[30m]`))[0]?.values ?? []).slice(start + 1)
        const failed = upValues.filter(([, v]) => Number(v) === 0).length
        const withoutPods = samples.filter((n) => n < pods).length
        return [
          '',
          pods.toLocaleString('en-US'),
          name,
          `${perScrape.toLocaleString('en-US')} (${(perScrape / pods).toFixed(1)})`,
          `${median(later).toFixed(3)} s (${Math.min(...later).toFixed(3)}–${Math.max(...later).toFixed(3)}) over ${later.length}`,
          `${failed} / ${withoutPods}`,
          `${first.toFixed(2)} s`,
          `${mib(peak)} MiB`,
          '',
        ].join(' | ').trim()
      }
    }
  } finally {
    prom.kill('SIGTERM')
    await new Promise((r) => (prom.exitCode !== null ? r() : prom.once('exit', r)))
    rmSync(dir, { recursive: true, force: true })
    await exporter.stop()
    await sim?.stop()
  }
}
