/**
 * A whole AnalysisRun with Argo Rollouts' controller rules, for
 * `analyze --run` (real time) and `analyze --backtest` (virtual time over
 * Prometheus history):
 *
 * - the first measurement of a metric comes `initialDelay` after the run
 *   starts; the next one `interval` after the previous one FINISHED, or 10 s
 *   after an Error measurement (Argo's DefaultErrorRetryInterval);
 * - Error measurements do not count toward `count`;
 * - after every measurement the metric is assessed: `failed > failureLimit`
 *   (unless -1) → Failed; `inconclusive > inconclusiveLimit` → Inconclusive;
 *   `consecutiveError > consecutiveErrorLimit` (default 4) → Error (a later
 *   rule overrides an earlier one, as in Argo); `consecutiveSuccessLimit`
 *   reached → Successful; `count` reached → Successful (Inconclusive or
 *   Failed when a consecutiveSuccessLimit was set and not reached);
 * - a metric ending Failed, Error or Inconclusive terminates the run: the
 *   other metrics take no further measurement and count as Successful;
 * - the run's phase is the worst metric phase (Successful < Inconclusive <
 *   Error < Failed).
 *
 * The rules were read from argo-rollouts `analysis/analysis.go`
 * (assessMetricStatus, generateMetricTasks) and `utils/analysis/factory.go`
 * (ValidateMetric); no code was copied.
 */
import { AnalyzeTemplateError } from './errors.js'
import type { Measurement, Phase } from './measure.js'
import type { TemplateMetric } from './template.js'

/** Argo's retry interval after an Error measurement. */
export const ERROR_RETRY_MS = 10_000
/** Argo's default consecutiveErrorLimit. */
export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4

/** The run-shaping fields of a metric, as numbers. */
export interface RunMetricSpec {
  readonly name: string
  readonly intervalMs: number | undefined
  /** Argo's effective count: `count`, or 1 when neither count nor interval is set; undefined = runs until terminated. */
  readonly count: number | undefined
  readonly initialDelayMs: number
  readonly failureLimit: number
  readonly inconclusiveLimit: number
  readonly consecutiveErrorLimit: number
  readonly consecutiveSuccessLimit: number
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses a Go duration (`time.ParseDuration`: `5s`, `1m30s`, `1.5s`, `500ms`),
 * the form Argo uses for `interval` and `initialDelay`.
 *
 * @throws TypeError when the text is not such a duration.
 */
export function parseGoDuration(text: string): number {
  if (text === '0') return 0
  if (!/^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(text)) throw new TypeError(`invalid duration ${JSON.stringify(text)}`)
  let total = 0
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * (GO_UNITS[m[2] ?? 's'] ?? 0)
  return total
}

function intField(metric: TemplateMetric, field: string, fallback: number): number {
  const v = metric[field]
  if (v === undefined || v === null || v === '') return fallback
  const n = typeof v === 'number' ? v : Number(v)
  if (!Number.isInteger(n)) throw new AnalyzeTemplateError(`metric ${metric.name}: ${field} must be an integer, got ${JSON.stringify(v)}`)
  return n
}

function durationField(metric: TemplateMetric, field: string): number | undefined {
  const v = metric[field]
  if (v === undefined || v === null || v === '') return undefined
  try {
    return parseGoDuration(String(v))
  } catch {
    throw new AnalyzeTemplateError(`metric ${metric.name}: invalid ${field} ${JSON.stringify(v)} (a Go duration such as 5s or 1m30s)`)
  }
}

/**
 * Reads and validates the run-shaping fields of a metric whose args are
 * substituted, with Argo's validation rules, explaining each rejection.
 *
 * @throws AnalyzeTemplateError with Argo's message and what it means.
 */
export function runSpecOf(metric: TemplateMetric): RunMetricSpec {
  const rawCount = intField(metric, 'count', 0)
  const intervalMs = durationField(metric, 'interval')
  const failureLimit = intField(metric, 'failureLimit', 0)
  const inconclusiveLimit = intField(metric, 'inconclusiveLimit', 0)
  const consecutiveErrorLimit = intField(metric, 'consecutiveErrorLimit', DEFAULT_CONSECUTIVE_ERROR_LIMIT)
  const consecutiveSuccessLimit = intField(metric, 'consecutiveSuccessLimit', 0)
  const reject = (argo: string, why: string): never => {
    throw new AnalyzeTemplateError(
      `metric ${metric.name}: ${argo}. Argo Rollouts rejects such an AnalysisRun before any measurement ("analysis spec invalid", phase Error) and the rollout aborts. ${why}`,
    )
  }
  if (consecutiveSuccessLimit < 0) reject('consecutiveSuccessLimit must be >= 0', 'Use 0 to disable it.')
  if (failureLimit < -1) reject('failureLimit must be >= 0, or -1 to be disabled', 'Use -1 to disable it.')
  if (consecutiveSuccessLimit === 0 && failureLimit === -1) reject('failureLimit and consecutiveSuccessLimit cannot both be disabled', 'Nothing could ever fail the metric.')
  if (inconclusiveLimit < 0) reject('inconclusiveLimit must be >= 0', '')
  if (consecutiveErrorLimit < 0) reject('consecutiveErrorLimit must be >= 0', '')
  if (rawCount > 0) {
    if (failureLimit >= 0 && rawCount < failureLimit + consecutiveSuccessLimit) {
      reject(
        `count (${rawCount}) must be >= failureLimit + consecutiveSuccessLimit (${failureLimit} + ${consecutiveSuccessLimit})`,
        'Raise count (the args count) or lower the limits.',
      )
    }
    if (failureLimit < 0 && rawCount < consecutiveSuccessLimit) reject(`count must be >= consecutiveSuccessLimit`, 'Raise count or lower consecutiveSuccessLimit.')
    if (rawCount < inconclusiveLimit) {
      reject(
        `count (${rawCount}) must be >= inconclusiveLimit (${inconclusiveLimit})`,
        `Argo's rule: a metric is Inconclusive once more than inconclusiveLimit of its measurements are, so a limit above count could never be reached and Argo refuses it. Raise count (--arg count=${inconclusiveLimit}) or lower inconclusive-limit (--arg inconclusive-limit=${rawCount}).`,
      )
    }
  }
  if (rawCount > 1 && intervalMs === undefined) reject('interval must be specified when count > 1', '')
  const count = rawCount > 0 ? rawCount : intervalMs === undefined ? 1 : undefined
  return { name: metric.name, intervalMs, count, initialDelayMs: durationField(metric, 'initialDelay') ?? 0, failureLimit, inconclusiveLimit, consecutiveErrorLimit, consecutiveSuccessLimit }
}

/** One measurement of a run, with when it was taken. */
export interface RunMeasurement extends Measurement {
  /** Evaluation time, ms since the epoch. */
  readonly at: number
  /** 1-based index among this metric's measurements. */
  readonly index: number
}

/** A metric's outcome in a run. */
export interface RunMetricResult {
  readonly name: string
  readonly phase: Phase
  /** Why the metric ended so (Argo's wording). */
  readonly reason: string
  readonly count: number
  readonly successful: number
  readonly failed: number
  readonly inconclusive: number
  readonly error: number
  readonly measurements: readonly RunMeasurement[]
}

/** Outcome of {@link runAnalysis}. */
export interface RunResult {
  readonly phase: Phase
  readonly metrics: readonly RunMetricResult[]
  /** When the last measurement was taken. */
  readonly endedAt: number
}

/** What the run needs from its surroundings. */
export interface RunHooks {
  /** Takes one measurement of `metric` evaluated at `atMs`. */
  measure(metric: TemplateMetric, atMs: number): Promise<Measurement>
  /** Returns once `atMs` has come (real time) or at once (virtual time). */
  waitUntil(atMs: number): Promise<void>
  /** The time a measurement finished; virtual runs return `atMs`. */
  finishedAt(atMs: number): number
  onMeasurement?(m: RunMeasurement): void
}

const SEVERITY: readonly Phase[] = ['Successful', 'Inconclusive', 'Error', 'Failed']

interface State {
  readonly metric: TemplateMetric
  readonly spec: RunMetricSpec
  nextAt: number
  count: number
  successful: number
  failed: number
  inconclusive: number
  error: number
  consecutiveError: number
  consecutiveSuccess: number
  phase: Phase | undefined
  reason: string
  measurements: RunMeasurement[]
}

function assess(s: State): void {
  const { spec } = s
  let phase: Phase | undefined
  let reason = ''
  if (spec.failureLimit >= 0 && s.failed > spec.failureLimit) {
    phase = 'Failed'
    reason = `failed (${s.failed}) > failureLimit (${spec.failureLimit})`
  }
  if (s.inconclusive > spec.inconclusiveLimit) {
    phase = 'Inconclusive'
    reason = `inconclusive (${s.inconclusive}) > inconclusiveLimit (${spec.inconclusiveLimit})`
  }
  if (s.consecutiveError > spec.consecutiveErrorLimit) {
    phase = 'Error'
    reason = `consecutiveErrors (${s.consecutiveError}) > consecutiveErrorLimit (${spec.consecutiveErrorLimit})`
  }
  if (phase === undefined && spec.consecutiveSuccessLimit > 0 && s.consecutiveSuccess >= spec.consecutiveSuccessLimit) {
    phase = 'Successful'
    reason = `consecutiveSuccessLimit (${spec.consecutiveSuccessLimit}) reached`
  }
  if (phase === undefined && spec.count !== undefined && s.count >= spec.count) {
    const successApplicable = spec.consecutiveSuccessLimit > 0
    const failureApplicable = spec.failureLimit >= 0
    if (successApplicable && failureApplicable) {
      phase = 'Inconclusive'
      reason = `count (${spec.count}) reached; consecutiveSuccessLimit (${spec.consecutiveSuccessLimit}) not reached and failureLimit not violated`
    } else if (successApplicable) {
      phase = 'Failed'
      reason = `count (${spec.count}) reached; consecutiveSuccessLimit (${spec.consecutiveSuccessLimit}) not reached`
    } else {
      phase = 'Successful'
      reason = `count (${spec.count}) reached`
    }
  }
  if (phase !== undefined) {
    s.phase = phase
    s.reason = reason
  }
}

/**
 * Runs the metrics (args substituted) as one AnalysisRun starting at
 * `startMs`, with Argo's scheduling and limits.
 *
 * @throws AnalyzeTemplateError when a metric is invalid for Argo (explained)
 *   or runs indefinitely (no count: it would run until the rollout ends).
 */
export async function runAnalysis(metrics: readonly TemplateMetric[], startMs: number, hooks: RunHooks): Promise<RunResult> {
  const states: State[] = metrics.map((metric) => {
    const spec = runSpecOf(metric)
    if (spec.count === undefined) {
      throw new AnalyzeTemplateError(`metric ${metric.name} has an interval but no count: Argo measures it until the rollout ends, so a run cannot be played out; pass a count`)
    }
    return { metric, spec, nextAt: startMs + spec.initialDelayMs, count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0, consecutiveError: 0, consecutiveSuccess: 0, phase: undefined, reason: '', measurements: [] }
  })
  let endedAt = startMs
  let terminating = false
  while (!terminating) {
    const active = states.filter((s) => s.phase === undefined)
    if (active.length === 0) break
    const at = Math.min(...active.map((s) => s.nextAt))
    await hooks.waitUntil(at)
    const due = active.filter((s) => s.nextAt <= at)
    const taken = await Promise.all(due.map((s) => hooks.measure(s.metric, at)))
    const finished = hooks.finishedAt(at)
    endedAt = at
    due.forEach((s, i) => {
      const m = taken[i] as Measurement
      const rm: RunMeasurement = { ...m, at, index: s.measurements.length + 1 }
      s.measurements.push(rm)
      hooks.onMeasurement?.(rm)
      if (m.phase === 'Error') {
        s.error++
        s.consecutiveError++
        s.consecutiveSuccess = 0
      } else {
        s.count++
        s.consecutiveError = 0
        if (m.phase === 'Successful') {
          s.successful++
          s.consecutiveSuccess++
        } else {
          s.consecutiveSuccess = 0
          if (m.phase === 'Failed') s.failed++
          else s.inconclusive++
        }
      }
      s.nextAt = finished + (m.phase === 'Error' || s.spec.intervalMs === undefined ? ERROR_RETRY_MS : s.spec.intervalMs)
      assess(s)
      if (s.phase === 'Failed' || s.phase === 'Error' || s.phase === 'Inconclusive') terminating = true
    })
  }
  for (const s of states) {
    if (s.phase === undefined) {
      s.phase = 'Successful'
      s.reason = 'run terminated (another metric completed first)'
    }
  }
  const results: RunMetricResult[] = states.map((s) => ({
    name: s.spec.name,
    phase: s.phase as Phase,
    reason: s.reason,
    count: s.count,
    successful: s.successful,
    failed: s.failed,
    inconclusive: s.inconclusive,
    error: s.error,
    measurements: s.measurements,
  }))
  const phase = results.reduce<Phase>((w, r) => (SEVERITY.indexOf(r.phase) > SEVERITY.indexOf(w) ? r.phase : w), 'Successful')
  return { phase, metrics: results, endedAt }
}

/** Real-time hooks: sleeps until each measurement is due, as the controller does. */
export function realTimeHooks(measure: RunHooks['measure'], now: () => number = Date.now, onMeasurement?: RunHooks['onMeasurement']): RunHooks {
  return {
    measure,
    async waitUntil(atMs) {
      const wait = atMs - now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    },
    finishedAt: () => now(),
    ...(onMeasurement !== undefined && { onMeasurement }),
  }
}

/** Virtual-time hooks: every measurement is evaluated at its due instant, at once (backtests). */
export function virtualTimeHooks(measure: RunHooks['measure'], onMeasurement?: RunHooks['onMeasurement']): RunHooks {
  return { measure, waitUntil: async () => undefined, finishedAt: (at) => at, ...(onMeasurement !== undefined && { onMeasurement }) }
}
