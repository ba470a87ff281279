/**
 * Fuzzing of configuration loading with mutated copies of
 * test/fixtures/config/valid-full.yaml: deleted, renamed and unknown keys
 * (including odd ones such as "", "a: b", "__proto__"), values of the wrong
 * type, random strings and numbers, deep nesting, broken YAML, YAML tags and
 * alias bombs, other documents entirely.
 *
 * In process, `loadConfig` must either succeed or throw a ConfigError whose
 * every line is `<field>: <reason>` on one line, naming the file, a schema
 * key, a key written in the file, an environment variable or a flag; never
 * another exception, never the API key. Then a few of the files go through
 * the compiled CLI (`--check-config`): exit status 2 with each line on
 * stderr for an invalid file, 0 for a valid one. Needs a fresh `npm run build`.
 * A file is never accepted while a section of it is not a plain mapping
 * (a `!!set`, `!!omap`, `!!binary` or date would otherwise be ignored).
 *
 * Default: 1,000 files in process (about 3 s) and 20 through the CLI (each
 * child costs about 0.8 s of CPU, so about 8 s on two idle cores). Longer runs:
 *   FUZZ_ITERATIONS=<files> FUZZ_SEED=<n> npx tap test/fuzz/config.ts
 *   FUZZ_CASE_SEED=<n> replays one file from a failure message.
 * Failing files are kept in test/fixtures/fuzz-seeds/config-*.yaml and
 * replayed by test/fuzz/seeds.ts.
 *
 * "Accepted means it can run" (issue 13, defect 8): every accepted file (up
 * to RUN_LIMIT of them), pointed at the built-in simulator (a real gRPC
 * server), gets a whole exporter runtime whose every collector must succeed
 * on its first run and stay ready until its next scheduled run is due.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pino } from 'pino'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { ConfigError } from '../../src/errors.js'
import { createExporter } from '../../src/exporter.js'
import { nominalIntervalMs } from '../../src/scheduler/schedule.js'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { SIM_T0, startTestSimulator } from '../fixtures/simulator-helpers.js'
import { CLUSTER_ID, FIXTURE_API_KEY, memoryReadFile } from '../fixtures/config/helpers.js'
import { caseSeeds, mulberry32, replayHint, replayingOneCase } from '../fixtures/fuzz-random.js'
import { badErrorLine, ignoredSection, mutateConfig, VALID_FULL } from '../fixtures/fuzz-config.js'
import { saveFailure } from '../fixtures/fuzz-seeds.js'
import { CLI } from '../fixtures/tools.js'

const FILE = 'test/fuzz/config.ts'
const CONFIG_PATH = '/fuzz/config.yaml'
/** Generous: the deepest nesting takes about 0.2 s; under a loaded CI machine it must not flake. */
const CASE_TIME_LIMIT_MS = 5_000

/** What loading one file gave: `ok`, the error lines, or a problem with the outcome itself. */
type Outcome = { readonly kind: 'ok' } | { readonly kind: 'rejected'; readonly lines: readonly string[] } | { readonly kind: 'broken'; readonly problem: string }

/** Loads `text` as the configuration file, with `env`, and checks the outcome. */
function loadText(text: string, env: Readonly<Record<string, string>>, path = CONFIG_PATH): Outcome {
  const started = performance.now()
  let outcome: Outcome
  try {
    loadConfig({ argv: ['--config', path], env, readFile: memoryReadFile({ [path]: text }) })
    const ignored = ignoredSection(text)
    if (ignored !== undefined) return { kind: 'broken', problem: ignored }
    outcome = { kind: 'ok' }
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      const what = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err)
      return { kind: 'broken', problem: `threw something other than a ConfigError: ${what}` }
    }
    const bad = badErrorLine(err.errors, path, text)
    if (bad !== undefined) return { kind: 'broken', problem: bad }
    if (err.message.includes(FIXTURE_API_KEY)) return { kind: 'broken', problem: 'the error shows the API key' }
    outcome = { kind: 'rejected', lines: err.errors }
  }
  const elapsed = performance.now() - started
  if (elapsed > CASE_TIME_LIMIT_MS) return { kind: 'broken', problem: `took ${Math.round(elapsed)} ms` }
  return outcome
}

/** Accepted files kept for the run check: seed, text, what was done. */
const accepted: { seed: number; text: string; detail: string }[] = []

t.test('mutated files load or are rejected with one "<field>: <reason>" line per problem', async (t) => {
  const failures: string[] = []
  const tally = { ok: 0, rejected: 0 }
  for (const seed of caseSeeds(1_000, 0x20)) {
    const mutated = mutateConfig(mulberry32(seed))
    const outcome = loadText(mutated.text, {})
    if (outcome.kind !== 'broken') {
      tally[outcome.kind]++
      if (outcome.kind === 'ok') accepted.push({ seed, text: mutated.text, detail: mutated.detail })
      continue
    }
    const saved = saveFailure(`config-${seed}.yaml`, mutated.text)
    if (failures.length < 5) failures.push(`${replayHint(FILE, seed)} [${mutated.detail}]: ${outcome.problem}${saved === undefined ? '' : ` (saved to ${saved})`}`)
  }
  const summary = `${tally.ok} valid, ${tally.rejected} rejected`
  t.same(failures, [], `no other exception, no malformed line (${summary})`)
  if (replayingOneCase()) return
  t.ok(tally.ok > 0 && tally.rejected > tally.ok, `both outcomes are exercised, mostly rejections (${summary})`)
})

/** Runs the compiled CLI with `--check-config`; resolves with its exit status and output. */
function checkConfig(path: string, env: Readonly<Record<string, string>>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Only the variables the test means: nothing from the caller's PIXIE_EXPORTER_* environment.
    const child = spawn(process.execPath, [CLI, '--config', path, '--check-config'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

t.test('the CLI exits 2 with the lines on stderr for invalid files and 0 for valid ones', async (t) => {
  const env = { PX_CLUSTER_ID: CLUSTER_ID, PX_API_KEY: 'px-api-from-env-0002' }
  const dir = t.testdir({})
  // Pick 15 rejected and 5 accepted files (the unmutated file is one of them), deterministically.
  const picked: { name: string; text: string; detail: string; lines: readonly string[] | undefined }[] = [
    { name: 'valid-full.yaml', text: VALID_FULL, detail: 'unmutated', lines: undefined },
  ]
  let valid = 1
  let invalid = 0
  for (const seed of caseSeeds(3_000, 0x21)) {
    if (valid >= 5 && invalid >= 15) break
    const mutated = mutateConfig(mulberry32(seed))
    const outcome = loadText(mutated.text, env, join(dir, `config-${seed}.yaml`))
    if (outcome.kind === 'broken') continue // reported by the in-process test
    if (outcome.kind === 'ok' ? valid++ >= 5 : invalid++ >= 15) continue
    picked.push({ name: `config-${seed}.yaml`, text: mutated.text, detail: mutated.detail, lines: outcome.kind === 'ok' ? undefined : outcome.lines })
  }
  for (const p of picked) writeFileSync(join(dir, p.name), p.text)

  const results: string[] = []
  const queue = [...picked]
  const worker = async (): Promise<void> => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      const path = join(dir, p.name)
      const r = await checkConfig(path, env)
      const where = `${p.name} [${p.detail}]`
      if (p.lines === undefined) {
        if (r.status !== 0 || r.stdout !== `configuration is valid (${path})\n`) results.push(`${where}: want status 0, got ${r.status}: ${r.stdout}${r.stderr}`)
        continue
      }
      const missing = p.lines.filter((line) => !r.stderr.includes(`  - ${line}\n`))
      if (r.status !== 2) results.push(`${where}: want status 2, got ${r.status}: ${r.stderr}`)
      else if (!r.stderr.startsWith('pixie-exporter: invalid configuration:\n')) results.push(`${where}: stderr does not start with the error: ${r.stderr}`)
      else if (missing.length > 0) results.push(`${where}: stderr lacks ${JSON.stringify(missing)}: ${r.stderr}`)
    }
  }
  // Two at a time: CI has two cores.
  await Promise.all([worker(), worker()])
  t.equal(picked.length, 20, `20 files went through the CLI (${valid} valid and ${invalid} invalid seen)`)
  t.same(results, [], 'every file gives the exit status and stderr the in-process check predicts')
})

/** How many accepted files get a runtime (each costs a few ms of simulator time). */
const RUN_LIMIT = Number(process.env['FUZZ_RUN_LIMIT'] ?? 150)

/** Below this, whether a run finishes in time depends on the machine, not on the configuration. */
const MIN_CHECKED_TIMEOUT_MS = 1_000

t.test('every accepted file can run: each collector succeeds on its first run and stays ready until its next run', async (t) => {
  if (accepted.length === 0) {
    // The first test was filtered out: find the accepted files again.
    for (const seed of caseSeeds(1_000, 0x20)) {
      const mutated = mutateConfig(mulberry32(seed))
      if (loadText(mutated.text, {}).kind === 'ok') accepted.push({ seed, text: mutated.text, detail: mutated.detail })
    }
  }
  t.ok(accepted.length > 0, `accepted files to run (${accepted.length})`)
  const sim = await startTestSimulator(
    t,
    scenarioFromObject({
      name: 'fuzz-config',
      pods: ['shop', 'payments', 'default', 'kube-system'].map((namespace, i) => ({
        namespace,
        name: `app-${i}-7f6d5c9b4b-abcde`,
        services: ['app'],
        phases: [{ at: '0s', rps: 20, statuses: { 200: 0.9, 503: 0.1 }, latency: { p50: '5ms', p99: '900ms' } }],
      })),
    }),
  )
  const failures: string[] = []
  let ran = 0
  let skipped = 0
  for (const file of accepted.slice(0, RUN_LIMIT)) {
    let config: Config
    try {
      // Same file, pointed at the simulator (the flags win over the file).
      config = loadConfig({
        argv: ['--config', CONFIG_PATH, '--pixie.address', sim.address, '--pixie.tls', 'plaintext'],
        env: { PX_CLUSTER_ID: CLUSTER_ID, PX_API_KEY: FIXTURE_API_KEY },
        readFile: memoryReadFile({ [CONFIG_PATH]: file.text }),
      }).config
    } catch {
      skipped++ // e.g. a caFile, which only goes with TLS verify
      continue
    }
    if (config.pixie.timeoutMs < MIN_CHECKED_TIMEOUT_MS || config.collectors.http.timeoutMs < MIN_CHECKED_TIMEOUT_MS) {
      skipped++
      continue
    }
    ran++
    let now = SIM_T0 + 90_000
    // End-to-end encryption costs a 4096-bit RSA key pair per run (seconds on
    // a busy CI machine, longer than some timeouts here) and is a plain on/off
    // setting covered by test/pixie/encryption.ts: the runs go without it.
    config = { ...config, pixie: { ...config.pixie, encryption: false } }
    // In process: the fake clock drives the collector (a worker thread has its own clocks).
    const exporter = await createExporter({ config, logger: pino({ level: 'silent' }), now: () => now, httpPipeline: 'in-process' })
    try {
      for (const job of exporter.jobs) {
        const outcome = await job.runNow()
        const where = `${replayHint(FILE, file.seed)} [${file.detail}] collector ${job.name}`
        if (outcome !== 'success') {
          failures.push(`${where}: first run ${outcome}: ${job.status().lastError ?? ''}`)
          continue
        }
        const started = now
        const schedule = config.collectors.http.schedule
        now = started + nominalIntervalMs(schedule) - 1
        const ready = job.readiness()
        if (!ready.ready) failures.push(`${where}: not ready just before the next run is due: ${ready.reason}`)
        now = started
      }
    } catch (err) {
      failures.push(`${replayHint(FILE, file.seed)} [${file.detail}]: the runtime could not be built: ${String(err)}`)
    } finally {
      await exporter.close()
    }
  }
  t.same(failures.slice(0, 10), [], `every accepted file ran (${ran} ran, ${skipped} not run: TLS settings that only go with verify, or timeouts under 1s)`)
  t.ok(ran > 0, 'some accepted files ran')
})
