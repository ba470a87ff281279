/**
 * The benchmarks cannot rot: `npm run bench` (bench/run.mjs) and
 * `npm run bench:prometheus` (bench/prometheus.mjs) run here at a tiny pod
 * count and must print a table row with sane figures. Only the shape and the
 * series budget are asserted, never a timing.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { findTool } from '../fixtures/tools.js'

const BENCH = join(import.meta.dirname, '..', '..', 'bench')

// Both spawn the exporter, the simulator and (the second) Prometheus; a loaded machine needs time.
t.setTimeout(300_000)

function run(script: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(BENCH, script), ...args], { encoding: 'utf8', timeout: 240_000, env: process.env })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

/** The cells of the table row that starts with `first`. */
function row(out: string, first: string): string[] | undefined {
  const line = out.split('\n').find((l) => l.startsWith(`| ${first} |`))
  return line?.split('|').slice(1, -1).map((c) => c.trim())
}

t.test('npm run bench prints a row per pod count with the default series budget', async (t) => {
  const { status, out } = run('run.mjs', ['--pods', '40', '--polls', '2', '--interval', '1s'])
  t.equal(status, 0, `bench/run.mjs exits 0\n${out}`)
  t.match(out, /machine: \d+ cores .* load average/, 'the machine and its load are printed')
  const cells = row(out, '40')
  if (cells === undefined) return t.fail(`no row for 40 pods:\n${out}`)
  t.equal(cells.length, 9, 'nine columns')
  const perPod = Number(/\(([\d.]+)\)/.exec(cells[1] ?? '')?.[1])
  // 2 gauges, 2xx/5xx (+4xx once answered: the generated pods answer some 404s), 5 buckets + +Inf.
  t.ok(perPod >= 10 && perPod <= 11, `series per pod is the lean default (10 to 11), got ${cells[1]}`)
  t.match(cells[2], /^[\d.]+ \/ [\d.]+ \/ [\d.]+ MiB$/, 'plain / gzip / protobuf sizes')
  t.match(cells[3], /^[\d.]+ s$/, 'poll duration')
  t.match(cells[4], /^\d+ ms \/ \d+ ms \/ \d+ ms over 2 polls \(\d+ ms\)$/, 'stall per poll from the probe, and the self-reported one')
  t.match(cells[5], /^[\d.]+ \([\d.]+\) MiB$/, 'RSS and peak')
  t.match(cells[7], /^[\d.]+ \/ [\d.]+ ms$/, 'scrape p50 plain / gzip (Node.js client)')
  // curl is measured when installed (a native client, as Prometheus' is).
  const hasCurl = spawnSync('curl', ['--version']).status === 0
  t.match(cells[8], hasCurl ? /^[\d.]+ \/ [\d.]+ ms$/ : /^no curl$/, `scrape p50 plain / gzip with curl (${hasCurl ? 'installed' : 'not installed'})`)
  t.match(out, /runtime: deploy\/base's NODE_OPTIONS=\S+/, "the exporter runs with deploy/base's runtime settings, printed")
})

t.test('npm run bench:prometheus prints scrape_duration_seconds for classic and native histograms', async (t) => {
  const found = findTool('prometheus')
  if (found instanceof Error) return t.fail(found.message)
  process.env['PROMETHEUS'] = found
  const { status, out } = run('prometheus.mjs', ['--pods', '40', '--scrapes', '2', '--scrape-interval', '1s', '--configs', 'classic,native'])
  t.equal(status, 0, `bench/prometheus.mjs exits 0\n${out}`)
  for (const config of ['classic', 'native']) {
    const line = out.split('\n').find((l) => l.startsWith('| 40 |') && l.includes(`| ${config} |`))
    t.ok(line !== undefined, `a row for ${config}\n${out}`)
    t.match(line ?? '', /\| [\d.]+ s \([\d.]+–[\d.]+\) over \d+ \| \d+ \/ \d+ \|/, `${config}: median (min–max) of scrape_duration_seconds, failed scrapes`)
  }
})
