#!/usr/bin/env node
// `npm run test:e2e`: the slow tier. Runs the test files listed in .taprc's
// `exclude` (the files `npm test` leaves out) with tap, next to ONE real
// Prometheus shared by the whole tier.
//
//   node scripts/test-e2e.mjs [tap options, e.g. --reporter=tap] [FILE...]
//
// With FILEs, runs only those (beside the shared Prometheus) instead of the
// tier; give tap options in the --name=value form.
//
// The shared Prometheus scrapes every second and finds its targets through
// file_sd: a test adds a JSON file to $PIXIE_E2E_PROMETHEUS_SD and removes it
// at teardown (test/fixtures/tools.ts, scrapeWithPrometheus); each test's
// targets get a `job` label of their own, which the test selects on. Its
// address is in $PIXIE_E2E_PROMETHEUS_URL. Tests that need other flags or rule
// files start their own (startPrometheus). Without `prometheus` on PATH no
// shared one is started: the tests that need it fail and say how to install it.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'

const ROOT = join(import.meta.dirname, '..')

/** The e2e tier: the entries of .taprc's `exclude` that name test files. */
export function e2eFiles() {
  const rc = parse(readFileSync(join(ROOT, '.taprc'), 'utf8'))
  return (rc.exclude ?? []).filter((p) => typeof p === 'string' && p.startsWith('test/'))
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Starts the shared Prometheus; resolves with its url, file_sd folder and a stop function. */
async function startSharedPrometheus(bin) {
  const dir = mkdtempSync(join(tmpdir(), 'pxe-e2e-prom-'))
  const sd = join(dir, 'targets')
  mkdirSync(sd)
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: pixie-exporter',
      '    honor_labels: true',
      `    file_sd_configs: [{ files: [${JSON.stringify(join(sd, '*.json'))}], refresh_interval: 1s }]`,
      '',
    ].join('\n'),
  )
  const port = await freePort()
  const proc = spawn(
    bin,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  )
  const exited = new Promise((resolve) => proc.on('exit', resolve))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the shared Prometheus exited with ${proc.exitCode}`)
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the shared Prometheus on ${url} was not ready within 30 s`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    url,
    sd,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function main() {
  const args = process.argv.slice(2)
  const named = args.filter((a) => !a.startsWith('-'))
  const files = named.length > 0 ? [] : e2eFiles()
  const which = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' })
  const bin = which.status === 0 ? which.stdout.trim() : ''
  const prom = bin === '' ? undefined : await startSharedPrometheus(bin)
  if (prom === undefined) console.error('test-e2e: prometheus is not installed; no shared Prometheus (apt-get install -y prometheus)')
  const env = { ...process.env, ...(prom !== undefined && { PIXIE_E2E_PROMETHEUS_URL: prom.url, PIXIE_E2E_PROMETHEUS_SD: prom.sd }) }
  const tap = spawn(process.execPath, [join(ROOT, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), ...args, ...files], { stdio: 'inherit', env })
  const stopTap = (signal) => tap.kill(signal)
  process.on('SIGINT', stopTap)
  process.on('SIGTERM', stopTap)
  const code = await new Promise((resolve) => tap.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))))
  await prom?.stop()
  process.exitCode = code
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
