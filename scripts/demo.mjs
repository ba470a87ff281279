#!/usr/bin/env node
// `npm run demo`: the Pixie API simulator (`pixie-exporter simulate`) and the
// exporter, as two processes of the built CLI, wired together over loopback
// gRPC. Run `npm run build` first (the npm script does).
//
//   node scripts/demo.mjs [--scenario FILE] [--web.listen-address HOST:PORT]
//
// The exporter has no flag saying its Pixie is the simulator (only the
// in-process `pixie-exporter demo` command shows the "simulated" banner on
// the landing page), so this script prints the SIMULATED DATA warning itself.
// Ctrl-C or SIGTERM stops both children; if either one exits, the other is
// stopped and this script exits with the status of the one that exited first.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const ROOT = join(import.meta.dirname, '..')
const CLI = join(ROOT, 'dist', 'cli.js')
/** The simulator accepts any cluster id; this is the one `pixie-exporter demo` uses. */
const CLUSTER_ID = '00000000-0000-0000-0000-000000000001'
/** How long the simulator may take to print its address, ms. */
const START_TIMEOUT_MS = 20_000
const ADDRESS_LINE = /listening on (\S+)/

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    scenario: { type: 'string', default: join(ROOT, 'scenarios', 'argo-canary.yaml') },
    'web.listen-address': { type: 'string', default: '127.0.0.1:10049' },
  },
})

// Runs every 5 s over a 30 s window, so the demo shows data within seconds.
const dir = mkdtempSync(join(tmpdir(), 'pixie-exporter-demo-'))
const configFile = join(dir, 'config.yaml')
writeFileSync(configFile, ['collectors:', '  http:', '    interval: 5s', '    window: 30s', ''].join('\n'))

/** @type {import('node:child_process').ChildProcess[]} */
const children = []
let exiting = false

function stopAll(signal) {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
}

/** The exit status of a child: its code, or 128 + the signal number as a shell reports it. */
function statusOf(code, signal) {
  if (code !== null) return code
  const signals = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
  return 128 + (signals[signal] ?? 0)
}

/** Called when a child exits: stops the other one, then exits with the first child's status. */
function onChildExit(name, code, signal) {
  if (exiting) return
  exiting = true
  process.stderr.write(`demo: ${name} exited (${signal ?? `code ${code}`}); stopping\n`)
  const status = statusOf(code, signal)
  stopAll('SIGTERM')
  const others = children.filter((c) => c.exitCode === null && c.signalCode === null)
  const done = () => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(status)
  }
  if (others.length === 0) return done()
  let left = others.length
  for (const other of others) other.once('exit', () => --left === 0 && done())
  setTimeout(() => {
    stopAll('SIGKILL')
    done()
  }, 12_000).unref()
}

function start(name, argv, env = {}) {
  const child = spawn(process.execPath, [CLI, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  child.on('exit', (code, signal) => onChildExit(name, code, signal))
  return child
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  // The children exit on the signal; onChildExit then ends this process.
  process.on(signal, () => stopAll(signal))
}

const simulator = start('simulator', ['simulate', '--scenario', args.scenario, '--listen', '127.0.0.1:0'])
const simAddress = await new Promise((resolve) => {
  let buffered = ''
  const timer = setTimeout(() => {
    process.stderr.write(`demo: the simulator printed no address within ${START_TIMEOUT_MS} ms\n`)
    simulator.kill('SIGTERM')
  }, START_TIMEOUT_MS)
  simulator.stdout.on('data', (chunk) => {
    process.stdout.write(chunk)
    if (buffered === undefined) return
    buffered += chunk.toString('utf8')
    const match = ADDRESS_LINE.exec(buffered)
    if (match?.[1]) {
      buffered = undefined
      clearTimeout(timer)
      resolve(match[1])
    }
  })
})

const listen = args['web.listen-address']
const exporter = start(
  'exporter',
  ['--config', configFile, '--pixie.address', simAddress, '--pixie.tls', 'plaintext', '--web.listen-address', listen],
  { PX_CLUSTER_ID: CLUSTER_ID },
)
exporter.stdout.pipe(process.stdout)

const host = listen.slice(0, listen.lastIndexOf(':'))
const base = `http://${host === '0.0.0.0' || host === '' ? '127.0.0.1' : host}:${listen.slice(listen.lastIndexOf(':') + 1)}`
// Print the URLs once they answer (onChildExit ends the script if the exporter dies first).
for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline; ) {
  const healthy = await fetch(`${base}/-/healthy`).then((r) => r.ok, () => false)
  if (healthy) break
  await new Promise((resolve) => setTimeout(resolve, 200))
}
process.stdout.write(
  [
    '',
    '*** SIMULATED DATA: the exporter is connected to the Pixie API simulator, not to a Pixie cluster ***',
    `  scenario:          ${args.scenario}`,
    `  Pixie simulator:   ${simAddress} (gRPC, plaintext)`,
    `  landing page:      ${base}/`,
    `  metrics:           ${base}/metrics`,
    `  readiness:         ${base}/-/ready`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
)
