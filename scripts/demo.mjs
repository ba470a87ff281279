#!/usr/bin/env node
// `npm run demo`: the Pixie API simulator (`pixie-exporter simulate`) and the
// exporter, as two processes of the built CLI, wired together over loopback
// gRPC. Run `npm run build` first (the npm script does).
//
//   node scripts/demo.mjs [--scenario FILE] [--web.listen-address HOST:PORT] [--restart-after SECONDS]
//
// The exporter polls on the same schedule as `pixie-exporter demo` (every 5s,
// src/demo.ts) and prints the same URL block, again once the first poll has
// succeeded (log lines push it out of sight).
//
// Outage drill: kill the simulator (its pid is printed). The exporter keeps
// running and reports the outage (pixie_exporter_collector_up 0, /-/ready
// 503, one log line per failed poll); this script starts the simulator again
// on the same address after --restart-after seconds (default 30), and the
// exporter logs how long the outage lasted.
// Ctrl-C or SIGTERM stops both children. If the exporter exits, the simulator
// is stopped and this script exits with the exporter's status.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEMO_CLUSTER_ID, DEMO_CONFIG_YAML, browseBase, demoBanner } from '../dist/demo.js'

const ROOT = join(import.meta.dirname, '..')
const CLI = join(ROOT, 'dist', 'cli.js')
/** How long the simulator may take to print its address, ms. */
const START_TIMEOUT_MS = 20_000
const ADDRESS_LINE = /listening on (\S+)/

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    scenario: { type: 'string', default: join(ROOT, 'scenarios', 'argo-canary.yaml') },
    'web.listen-address': { type: 'string', default: '127.0.0.1:10049' },
    'restart-after': { type: 'string', default: '30' },
  },
})
const restartAfterMs = Number(args['restart-after']) * 1000
if (!Number.isFinite(restartAfterMs) || restartAfterMs < 0) {
  process.stderr.write('demo: --restart-after must be a number of seconds\n')
  process.exit(2)
}

const dir = mkdtempSync(join(tmpdir(), 'pixie-exporter-demo-'))
const configFile = join(dir, 'config.yaml')
writeFileSync(configFile, DEMO_CONFIG_YAML)

let exiting = false
/** @type {import('node:child_process').ChildProcess | undefined} */
let simulator
/** @type {import('node:child_process').ChildProcess | undefined} */
let exporter
/** @type {NodeJS.Timeout | undefined} */
let restartTimer

const alive = (child) => child !== undefined && child.exitCode === null && child.signalCode === null

function stopAll(signal) {
  clearTimeout(restartTimer)
  for (const child of [simulator, exporter]) if (alive(child)) child.kill(signal)
}

/** The exit status of a child: its code, or 128 + the signal number as a shell reports it. */
function statusOf(code, signal) {
  if (code !== null) return code
  const signals = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
  return 128 + (signals[signal] ?? 0)
}

/** Stops whatever still runs, then exits with `status`. */
function finish(status) {
  if (exiting) return
  exiting = true
  stopAll('SIGTERM')
  const others = [simulator, exporter].filter(alive)
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

function spawnCli(argv, env = {}) {
  return spawn(process.execPath, [CLI, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
}

/** Starts the simulator on `listen`; resolves with the address it printed. */
function startSimulator(listen) {
  const child = spawnCli(['simulate', '--scenario', args.scenario, '--listen', listen])
  simulator = child
  child.on('exit', (code, signal) => onSimulatorExit(child, code, signal))
  return new Promise((resolve) => {
    let buffered = ''
    const timer = setTimeout(() => {
      process.stderr.write(`demo: the simulator printed no address within ${START_TIMEOUT_MS} ms\n`)
      child.kill('SIGTERM')
    }, START_TIMEOUT_MS)
    child.stdout.on('data', (chunk) => {
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
}

let simAddress = ''
let started = false

function onSimulatorExit(child, code, signal) {
  if (exiting || child !== simulator) return
  if (!started) {
    process.stderr.write(`demo: simulator exited (${signal ?? `code ${code}`}) before it started; stopping\n`)
    return finish(statusOf(code, signal))
  }
  process.stderr.write(
    `demo: simulator exited (${signal ?? `code ${code}`}); the exporter keeps running and reports the outage. ` +
      `Starting the simulator again on ${simAddress} in ${restartAfterMs / 1000}s.\n`,
  )
  restartTimer = setTimeout(() => {
    void startSimulator(simAddress).then((address) => process.stdout.write(`demo: simulator is back on ${address} (pid ${simulator?.pid})\n`))
  }, restartAfterMs)
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (exiting) return
    exiting = true
    clearTimeout(restartTimer)
    const others = [simulator, exporter].filter(alive)
    if (others.length === 0) process.exit(0)
    let left = others.length
    let status = 0
    for (const child of others) {
      child.once('exit', (code, sig) => {
        if (child === exporter) status = statusOf(code, sig)
        if (--left === 0) {
          rmSync(dir, { recursive: true, force: true })
          process.exit(status)
        }
      })
      child.kill(signal)
    }
  })
}

simAddress = await startSimulator('127.0.0.1:0')
started = true

const listen = args['web.listen-address']
exporter = spawnCli(['--config', configFile, '--pixie.address', simAddress, '--pixie.tls', 'plaintext', '--web.listen-address', listen], {
  PX_CLUSTER_ID: DEMO_CLUSTER_ID,
})
exporter.on('exit', (code, signal) => {
  if (exiting) return
  process.stderr.write(`demo: exporter exited (${signal ?? `code ${code}`}); stopping\n`)
  finish(statusOf(code, signal))
})
exporter.stdout.pipe(process.stdout)

const colon = listen.lastIndexOf(':')
const base = browseBase(listen.slice(0, colon).replace(/^\[|\]$/g, ''), Number(listen.slice(colon + 1)))
const banner = () =>
  demoBanner({
    scenario: args.scenario,
    simulator: simAddress,
    base,
    notes: [
      `  outage drill:      kill ${simulator?.pid}   (stops the simulator; this demo starts it again after ${restartAfterMs / 1000}s)`,
    ],
  })

/** Polls `url` until it answers 200 (or the deadline passes). */
async function waitOk(url, timeoutMs) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && !exiting; ) {
    const ok = await fetch(url).then((r) => r.ok, () => false)
    if (ok) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return false
}

// The URLs once they answer, and again once the first poll succeeded.
if (await waitOk(`${base}/-/healthy`, START_TIMEOUT_MS)) process.stdout.write(banner())
if (await waitOk(`${base}/-/ready`, 60_000)) process.stdout.write(banner())
