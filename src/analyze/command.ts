/**
 * `pixie-exporter analyze`: runs an AnalysisTemplate's metrics once, the way
 * Argo Rollouts' AnalysisRun would take one measurement of each, so a
 * template can be tried before a rollout (Argo has no such command).
 *
 *   pixie-exporter analyze --template FILE [--arg name=value]... [--prometheus URL] [--metric NAME]...
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ExporterError } from '../errors.js'
import { AnalyzeTemplateError } from './errors.js'
import { measure, type Measurement, type Phase } from './measure.js'
import { parseTemplate, resolveArgs, substituteMetric, type TemplateMetric } from './template.js'

/** Usage text of the analyze command. */
export const ANALYZE_USAGE = `Usage:
  pixie-exporter analyze --template FILE [--arg NAME=VALUE]... [--prometheus URL] [--metric NAME]... [--help]
Runs each metric of an AnalysisTemplate once, as an Argo Rollouts AnalysisRun would (instant
Prometheus query at now, Argo's conversion of the answer, successCondition/failureCondition),
and prints each metric's value and phase. --prometheus overrides the template's address.
Exit status: 0 Successful, 1 Failed, 3 Inconclusive, 4 Error (a measurement or condition
error), 2 bad command line or template. The worst phase wins (Failed > Error > Inconclusive).`

/** Flags of the analyze command, as `util.parseArgs` options; ANALYZE_USAGE lists each. */
export const ANALYZE_OPTIONS = {
  template: { type: 'string' },
  arg: { type: 'string', multiple: true },
  prometheus: { type: 'string' },
  metric: { type: 'string', multiple: true },
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
}

/**
 * Substitutes the args into a template's metrics and takes one measurement
 * of each (concurrently, as Argo does).
 *
 * @throws AnalyzeTemplateError for a bad template, a missing or unknown arg,
 *   or an unknown metric name.
 */
export async function analyzeTemplate(templateText: string, source: string, options: AnalyzeOptions): Promise<AnalyzeResult> {
  const template = parseTemplate(templateText, source)
  const values = resolveArgs(template, options.args)
  let selected: readonly TemplateMetric[] = template.metrics
  if (options.metrics !== undefined && options.metrics.length > 0) {
    const names = new Set(template.metrics.map((m) => m.name))
    const unknown = options.metrics.filter((m) => !names.has(m))
    if (unknown.length > 0) throw new AnalyzeTemplateError(`${template.name}: no metric named ${unknown.join(', ')} (metrics: ${[...names].join(', ')})`)
    selected = template.metrics.filter((m) => options.metrics?.includes(m.name))
  }
  const resolved = selected.map((m) => substituteMetric(m, values))
  const measurements = await Promise.all(
    resolved.map((m) =>
      measure(m, {
        ...(options.prometheus !== undefined && { prometheus: options.prometheus }),
        ...(options.fetch !== undefined && { fetch: options.fetch }),
        ...(options.now !== undefined && { now: options.now }),
      }),
    ),
  )
  return { template: template.name, measurements, phase: worstPhase(measurements.map((m) => m.phase)) }
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
  let result: AnalyzeResult
  try {
    const text = readFileSync(parsed.template, 'utf8')
    result = await analyzeTemplate(text, parsed.template, {
      args: parseArgPairs(parsed.arg ?? []),
      ...(parsed.prometheus !== undefined && { prometheus: parsed.prometheus }),
      ...(parsed.metric !== undefined && { metrics: parsed.metric }),
      ...(io.fetch !== undefined && { fetch: io.fetch }),
      ...(io.now !== undefined && { now: io.now }),
    })
  } catch (err) {
    if (err instanceof ExporterError || (err instanceof Error && 'code' in err && (err as NodeJS.ErrnoException).code === 'ENOENT')) {
      io.stderr(`analyze: ${err.message}\n`)
      return ANALYZE_EXIT.usage
    }
    throw err
  }
  io.stdout(`template ${result.template}\n`)
  for (const m of result.measurements) {
    io.stdout(`metric ${m.metric}: ${m.phase}  value=${m.value === '' ? '-' : m.value}  (${m.message})\n`)
    io.stdout(`  resolved: ${m.resolved.replace(/\s*\n\s*/g, ' ').trim()}\n`)
  }
  io.stdout(`analysis: ${result.phase}\n`)
  return ANALYZE_EXIT[result.phase]
}
