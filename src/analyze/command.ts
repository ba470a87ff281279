/**
 * `pixie-exporter analyze`: runs an AnalysisTemplate's metrics once, the way
 * Argo Rollouts' AnalysisRun would take one measurement of each, so a
 * template can be tried before a rollout (Argo has no such command); with
 * `--run`, plays a whole AnalysisRun in real time with Argo's rules; with
 * `--backtest`, plays runs starting at past instants over Prometheus history.
 *
 *   pixie-exporter analyze --template FILE [--arg name=value]... [--prometheus URL] [--metric NAME]...
 *                          [--run | --backtest --from T --to T [--step D]]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ExporterError } from '../errors.js'
import { AnalyzeTemplateError } from './errors.js'
import { measure, prometheusAddress, type Measurement, type Phase } from './measure.js'
import { parseGoDuration, realTimeHooks, runAnalysis, runSpecOf, virtualTimeHooks, type RunMeasurement, type RunResult } from './run.js'
import { parseTemplate, resolveArgs, substituteMetric, type TemplateMetric } from './template.js'

/** Usage text of the analyze command. */
export const ANALYZE_USAGE = `Usage:
  pixie-exporter analyze --template FILE [--arg NAME=VALUE]... [--prometheus URL] [--metric NAME]...
                         [--run | --backtest --from TIME --to TIME [--step DURATION]] [--help]
Runs each metric of an AnalysisTemplate once, as an Argo Rollouts AnalysisRun would (instant
Prometheus query at now, Argo's conversion of the answer, successCondition/failureCondition),
and prints each metric's value and phase. --prometheus overrides the template's address
(an empty address falls back to ARGO_ROLLOUTS_PROMETHEUS_ADDRESS, as in Argo).
  --run       play a whole AnalysisRun in real time: initialDelay, a measurement every interval
              up to count, Argo's failureLimit, inconclusiveLimit and consecutiveErrorLimit;
              every measurement is printed, then each metric's and the run's phase.
  --backtest  play the runs that would have started every --step (default 1m) from --from to
              --to, evaluating each query at its past instant (Prometheus' time parameter);
              prints each run's decision and the share of runs that would have failed.
              TIME: RFC 3339 (2026-11-29T10:00:00Z), unix seconds, now or now-DURATION (now-2h).
Exit status: 0 Successful, 1 Failed, 3 Inconclusive, 4 Error (a measurement or condition
error), 2 bad command line or template. The worst phase wins (Failed > Error > Inconclusive).
A backtest exits 0 once its report is printed.`

/** Flags of the analyze command, as `util.parseArgs` options; ANALYZE_USAGE lists each. */
export const ANALYZE_OPTIONS = {
  template: { type: 'string' },
  arg: { type: 'string', multiple: true },
  prometheus: { type: 'string' },
  metric: { type: 'string', multiple: true },
  run: { type: 'boolean' },
  backtest: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  step: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/**
 * Exit statuses of the analyze command, by the worst metric phase.
 * 2 is the CLI's usual "bad command line or configuration" status.
 */
export const ANALYZE_EXIT = {
  Successful: 0,
  Failed: 1,
  usage: 2,
  Inconclusive: 3,
  Error: 4,
} as const

/** Argo's order of metric phases from best to worst (the run takes the worst). */
const SEVERITY: readonly Phase[] = ['Successful', 'Inconclusive', 'Error', 'Failed']

/** The worst of several phases, as Argo combines metric phases into the run's. */
export function worstPhase(phases: readonly Phase[]): Phase {
  return phases.reduce<Phase>((w, p) => (SEVERITY.indexOf(p) > SEVERITY.indexOf(w) ? p : w), 'Successful')
}

/** What the command writes to and may call. */
export interface AnalyzeIo {
  readonly stdout: (s: string) => void
  readonly stderr: (s: string) => void
  /** HTTP client for Prometheus and web metrics. Default: global fetch. */
  readonly fetch?: typeof fetch
  /** Clock for the instant query's evaluation time, ms since the epoch. Default: Date.now. */
  readonly now?: () => number
}

/** Options of {@link analyzeTemplate}. */
export interface AnalyzeOptions {
  readonly args: Readonly<Record<string, string>>
  /** Overrides the Prometheus address of every Prometheus metric. */
  readonly prometheus?: string
  /** Only these metrics (by name); default all. */
  readonly metrics?: readonly string[]
  readonly fetch?: typeof fetch
  readonly now?: () => number
}

/** Result of {@link analyzeTemplate}. */
export interface AnalyzeResult {
  readonly template: string
  readonly measurements: readonly Measurement[]
  /** The worst phase, as the AnalysisRun's phase. */
  readonly phase: Phase
  /** Problems found around the measurements (e.g. honor_labels missing), for the user. */
  readonly warnings: readonly string[]
}

/** A template with its args substituted and its metrics selected. */
export interface PreparedTemplate {
  readonly name: string
  readonly metrics: readonly TemplateMetric[]
}

/**
 * Parses a template, substitutes the args and selects metrics; checks each
 * metric against Argo's validation rules (explaining a rejection).
 *
 * @throws AnalyzeTemplateError as {@link analyzeTemplate}.
 */
export function prepareTemplate(templateText: string, source: string, args: Readonly<Record<string, string>>, only?: readonly string[]): PreparedTemplate {
  const template = parseTemplate(templateText, source)
  const values = resolveArgs(template, args)
  let selected: readonly TemplateMetric[] = template.metrics
  if (only !== undefined && only.length > 0) {
    const names = new Set(template.metrics.map((m) => m.name))
    const unknown = only.filter((m) => !names.has(m))
    if (unknown.length > 0) throw new AnalyzeTemplateError(`${template.name}: no metric named ${unknown.join(', ')} (metrics: ${[...names].join(', ')})`)
    selected = template.metrics.filter((m) => only.includes(m.name))
  }
  const metrics = selected.map((m) => substituteMetric(m, values))
  for (const m of metrics) runSpecOf(m)
  return { name: template.name, metrics }
}

/** The query that finds pixie-exporter series whose labels Prometheus renamed (honor_labels missing). */
export const EXPORTED_LABELS_QUERY = 'count({__name__=~"pixie_http_.+", exported_pod!=""})'

/**
 * Asks Prometheus whether pixie-exporter's series carry `exported_pod`: the
 * sign of a scrape without `honor_labels`, which makes every template read
 * nothing. Returns the warning, or undefined (also when the probe fails).
 */
export async function honorLabelsWarning(address: string, doFetch: typeof fetch = fetch, timeMs?: number): Promise<string | undefined> {
  try {
    const form = new URLSearchParams({ query: EXPORTED_LABELS_QUERY, ...(timeMs !== undefined && { time: (timeMs / 1000).toFixed(3) }) })
    const res = await doFetch(`${address.replace(/\/+$/, '')}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: AbortSignal.timeout(10_000),
    })
    const body = (await res.json()) as { status?: string; data?: { resultType?: string; result?: { value?: [number, string] }[] } }
    const n = Number(body.data?.result?.[0]?.value?.[1] ?? 0)
    if (body.status !== 'success' || !(n > 0)) return undefined
    return (
      `Prometheus has ${n} pixie_http_* series labelled exported_pod: it scrapes pixie-exporter WITHOUT honor_labels, ` +
      'so the exporter\'s namespace and pod labels were renamed exported_namespace and exported_pod, and every template ' +
      'selects nothing (NaN: Inconclusive, never Failed, even for a bad canary). Set honorLabels: true on the ServiceMonitor ' +
      'or PodMonitor (honor_labels: true in a scrape config); see docs/argo-rollouts.md.'
    )
  } catch {
    return undefined
  }
}

async function warningsFor(metrics: readonly TemplateMetric[], override: string | undefined, doFetch: typeof fetch | undefined, timeMs?: number): Promise<string[]> {
  const addresses = new Set<string>()
  for (const m of metrics) {
    const a = m.provider.prometheus === undefined ? undefined : prometheusAddress(m.provider.prometheus.address, override)
    if (a !== undefined) addresses.add(a)
  }
  const out: string[] = []
  for (const a of addresses) {
    const w = await honorLabelsWarning(a, doFetch ?? fetch, timeMs)
    if (w !== undefined) out.push(w)
  }
  return out
}

/**
 * Substitutes the args into a template's metrics and takes one measurement
 * of each (concurrently, as Argo does).
 *
 * @throws AnalyzeTemplateError for a bad template, a missing or unknown arg,
 *   or an unknown metric name.
 */
export async function analyzeTemplate(templateText: string, source: string, options: AnalyzeOptions): Promise<AnalyzeResult> {
  const prepared = prepareTemplate(templateText, source, options.args, options.metrics)
  const measurements = await Promise.all(prepared.metrics.map((m) => measure(m, measureOptions(options))))
  const warnings = measurements.some((m) => m.phase !== 'Successful') ? await warningsFor(prepared.metrics, options.prometheus, options.fetch) : []
  return { template: prepared.name, measurements, phase: worstPhase(measurements.map((m) => m.phase)), warnings }
}

function measureOptions(options: Pick<AnalyzeOptions, 'prometheus' | 'fetch' | 'now'>, at?: number) {
  return {
    ...(options.prometheus !== undefined && { prometheus: options.prometheus }),
    ...(options.fetch !== undefined && { fetch: options.fetch }),
    ...(at !== undefined ? { now: () => at } : options.now !== undefined && { now: options.now }),
  }
}

/** Result of {@link runTemplate}. */
export interface RunTemplateResult extends RunResult {
  readonly template: string
  readonly warnings: readonly string[]
}

/**
 * Plays a whole AnalysisRun of the template starting now, in real time, with
 * Argo's rules (see run.ts); `onMeasurement` sees each measurement as taken.
 */
export async function runTemplate(
  templateText: string,
  source: string,
  options: AnalyzeOptions & { readonly onMeasurement?: (m: RunMeasurement) => void },
): Promise<RunTemplateResult> {
  const prepared = prepareTemplate(templateText, source, options.args, options.metrics)
  const now = options.now ?? Date.now
  const result = await runAnalysis(prepared.metrics, now(), realTimeHooks((m) => measure(m, measureOptions(options)), now, options.onMeasurement))
  const warnings = result.phase !== 'Successful' ? await warningsFor(prepared.metrics, options.prometheus, options.fetch) : []
  return { ...result, template: prepared.name, warnings }
}

/** One run of a backtest. */
export interface BacktestRun {
  readonly startedAt: number
  readonly result: RunResult
}

/** Result of {@link backtestTemplate}. */
export interface BacktestResult {
  readonly template: string
  readonly runs: readonly BacktestRun[]
  /** Runs left out because they would end after `now`. */
  readonly skipped: number
  /** Longest run duration the template allows without errors, ms. */
  readonly runLengthMs: number
  readonly warnings: readonly string[]
}

/** Options of {@link backtestTemplate}. */
export interface BacktestOptions extends AnalyzeOptions {
  readonly fromMs: number
  readonly toMs: number
  readonly stepMs: number
}

/**
 * Plays the AnalysisRuns that would have started every `stepMs` from
 * `fromMs` to `toMs`, each measurement evaluated at its past instant through
 * Prometheus' `time` parameter, with Argo's rules. Measurements at the same
 * instant are taken once and shared between runs.
 */
export async function backtestTemplate(templateText: string, source: string, options: BacktestOptions): Promise<BacktestResult> {
  if (!(options.stepMs > 0)) throw new AnalyzeTemplateError('--step must be longer than 0')
  if (options.toMs < options.fromMs) throw new AnalyzeTemplateError('--to must not be before --from')
  const prepared = prepareTemplate(templateText, source, options.args, options.metrics)
  const web = prepared.metrics.filter((m) => m.provider.prometheus === undefined).map((m) => m.name)
  if (web.length > 0) throw new AnalyzeTemplateError(`${prepared.name}: only Prometheus metrics can be evaluated in the past; leave out ${web.join(', ')} (--metric selects metrics)`)
  const specs = prepared.metrics.map(runSpecOf)
  const runLengthMs = Math.max(...specs.map((s) => s.initialDelayMs + ((s.count ?? 1) - 1) * (s.intervalMs ?? 0)))
  const now = (options.now ?? Date.now)()
  const cache = new Map<string, Promise<Measurement>>()
  const measureAt = (m: TemplateMetric, at: number): Promise<Measurement> => {
    const key = `${m.name}@${at}`
    let p = cache.get(key)
    if (p === undefined) {
      p = measure(m, measureOptions(options, at))
      cache.set(key, p)
    }
    return p
  }
  const runs: BacktestRun[] = []
  let skipped = 0
  for (let start = options.fromMs; start <= options.toMs; start += options.stepMs) {
    if (start + runLengthMs > now) {
      skipped++
      continue
    }
    runs.push({ startedAt: start, result: await runAnalysis(prepared.metrics, start, virtualTimeHooks(measureAt)) })
  }
  const warnings = runs.some((r) => r.result.phase !== 'Successful') ? await warningsFor(prepared.metrics, options.prometheus, options.fetch, options.toMs) : []
  return { template: prepared.name, runs, skipped, runLengthMs, warnings }
}

/**
 * Parses a backtest time: RFC 3339, unix seconds, `now` or `now-DURATION`.
 *
 * @throws AnalyzeTemplateError naming the flag.
 */
export function parseTime(flag: string, text: string, now: number): number {
  const rel = /^now(?:-(.+))?$/.exec(text)
  if (rel !== null) {
    try {
      return now - (rel[1] === undefined ? 0 : parseGoDuration(rel[1]))
    } catch {
      throw new AnalyzeTemplateError(`${flag}: ${JSON.stringify(text)} is not now-DURATION (e.g. now-2h)`)
    }
  }
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN
  if (Number.isNaN(ms)) throw new AnalyzeTemplateError(`${flag}: ${JSON.stringify(text)} is not a time (RFC 3339, unix seconds, now or now-DURATION)`)
  return ms
}

const LETTER: Record<Phase, string> = { Successful: 'S', Failed: 'F', Inconclusive: 'I', Error: 'E' }

function formatMeasurement(m: RunMeasurement, startMs: number): string {
  return `[+${((m.at - startMs) / 1000).toFixed(1)}s] ${m.metric} #${m.index}: ${m.phase}  value=${m.value === '' ? '-' : m.value}  (${m.message})\n`
}

function parseArgPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of pairs) {
    const eq = p.indexOf('=')
    if (eq <= 0) throw new AnalyzeTemplateError(`--arg must be NAME=VALUE, got ${JSON.stringify(p)}`)
    out[p.slice(0, eq)] = p.slice(eq + 1)
  }
  return out
}

/**
 * Runs the analyze command with `argv` (the words after `analyze`) and
 * returns the exit status ({@link ANALYZE_EXIT}); never exits the process.
 */
export async function runAnalyzeCommand(argv: string[], io: AnalyzeIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: ANALYZE_OPTIONS,
      strict: true,
      allowPositionals: false,
    }).values
  } catch (err) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n${ANALYZE_USAGE}\n`)
    return ANALYZE_EXIT.usage
  }
  if (parsed.help === true) {
    io.stdout(`${ANALYZE_USAGE}\n`)
    return 0
  }
  if (parsed.template === undefined) {
    io.stderr(`--template is required\n${ANALYZE_USAGE}\n`)
    return ANALYZE_EXIT.usage
  }
  if (parsed.run === true && parsed.backtest === true) return usage(io, '--run and --backtest exclude each other')
  if (parsed.backtest !== true && (parsed.from !== undefined || parsed.to !== undefined || parsed.step !== undefined)) return usage(io, '--from, --to and --step need --backtest')
  if (parsed.backtest === true && (parsed.from === undefined || parsed.to === undefined)) return usage(io, '--backtest needs --from and --to')
  const common = {
    args: {} as Record<string, string>,
    ...(parsed.prometheus !== undefined && { prometheus: parsed.prometheus }),
    ...(parsed.metric !== undefined && { metrics: parsed.metric }),
    ...(io.fetch !== undefined && { fetch: io.fetch }),
    ...(io.now !== undefined && { now: io.now }),
  }
  try {
    const text = readFileSync(parsed.template, 'utf8')
    const options = { ...common, args: parseArgPairs(parsed.arg ?? []) }
    if (parsed.run === true) return await printRun(text, parsed.template, options, io)
    if (parsed.backtest === true) {
      const now = (io.now ?? Date.now)()
      let stepMs = 60_000
      if (parsed.step !== undefined) {
        try {
          stepMs = parseGoDuration(parsed.step)
        } catch {
          throw new AnalyzeTemplateError(`--step: ${JSON.stringify(parsed.step)} is not a duration (e.g. 30s, 5m)`)
        }
      }
      const fromMs = parseTime('--from', parsed.from ?? '', now)
      const toMs = parseTime('--to', parsed.to ?? '', now)
      return await printBacktest(text, parsed.template, { ...options, fromMs, toMs, stepMs }, io)
    }
    const result = await analyzeTemplate(text, parsed.template, options)
    io.stdout(`template ${result.template}\n`)
    for (const m of result.measurements) {
      io.stdout(`metric ${m.metric}: ${m.phase}  value=${m.value === '' ? '-' : m.value}  (${m.message})\n`)
      io.stdout(`  resolved: ${m.resolved.replace(/\s*\n\s*/g, ' ').trim()}\n`)
    }
    for (const w of result.warnings) io.stderr(`warning: ${w}\n`)
    io.stdout(`analysis: ${result.phase}\n`)
    return ANALYZE_EXIT[result.phase]
  } catch (err) {
    if (err instanceof ExporterError || (err instanceof Error && 'code' in err && (err as NodeJS.ErrnoException).code === 'ENOENT')) {
      io.stderr(`analyze: ${err.message}\n`)
      return ANALYZE_EXIT.usage
    }
    throw err
  }
}

function usage(io: AnalyzeIo, message: string): number {
  io.stderr(`${message}\n${ANALYZE_USAGE}\n`)
  return ANALYZE_EXIT.usage
}

async function printRun(text: string, source: string, options: AnalyzeOptions, io: AnalyzeIo): Promise<number> {
  const startedAt = (options.now ?? Date.now)()
  io.stdout(`run of ${source} started at ${new Date(startedAt).toISOString()} (Argo's rules; Ctrl-C stops it)\n`)
  const r = await runTemplate(text, source, { ...options, onMeasurement: (m) => io.stdout(formatMeasurement(m, startedAt)) })
  for (const m of r.metrics) {
    io.stdout(`metric ${m.name}: ${m.phase}  (${m.reason}; successful ${m.successful}, failed ${m.failed}, inconclusive ${m.inconclusive}, error ${m.error})\n`)
  }
  for (const w of r.warnings) io.stderr(`warning: ${w}\n`)
  io.stdout(`analysis run: ${r.phase}\n`)
  return ANALYZE_EXIT[r.phase]
}

async function printBacktest(text: string, source: string, options: BacktestOptions, io: AnalyzeIo): Promise<number> {
  const r = await backtestTemplate(text, source, options)
  io.stdout(
    `backtest of ${r.template}: runs starting every ${(options.stepMs / 1000).toFixed(0)}s from ${new Date(options.fromMs).toISOString()} to ${new Date(options.toMs).toISOString()}, each about ${(r.runLengthMs / 1000).toFixed(0)}s long\n`,
  )
  io.stdout('measurements per metric: S Successful, F Failed, I Inconclusive, E Error\n')
  for (const run of r.runs) {
    const detail = run.result.metrics.map((m) => `${m.name} ${m.measurements.map((x) => LETTER[x.phase]).join('')}`).join(' | ')
    const ended = run.result.metrics.find((m) => m.phase === run.result.phase && m.phase !== 'Successful')
    io.stdout(`${new Date(run.startedAt).toISOString()}  ${run.result.phase.padEnd(12)} ${ended === undefined ? '' : `(${ended.name}: ${ended.reason}) `}${detail}\n`)
  }
  const count = (p: Phase) => r.runs.filter((x) => x.result.phase === p).length
  const n = r.runs.length
  const pct = (k: number) => (n === 0 ? '0.0' : ((k * 100) / n).toFixed(1))
  io.stdout(`runs: ${n}; Successful ${count('Successful')}, Failed ${count('Failed')} (${pct(count('Failed'))} % would have aborted the rollout), Inconclusive ${count('Inconclusive')} (${pct(count('Inconclusive'))} % would have paused it), Error ${count('Error')}\n`)
  if (r.skipped > 0) io.stdout(`${r.skipped} later start(s) left out: their runs would end after now\n`)
  for (const w of r.warnings) io.stderr(`warning: ${w}\n`)
  return 0
}
