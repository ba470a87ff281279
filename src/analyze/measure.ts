/**
 * Taking one measurement of a metric as Argo Rollouts does: the Prometheus
 * provider's instant query at "now" and its conversion of the answer into
 * `result`, the web provider's GET + jsonPath, and the phase decided from
 * `successCondition` / `failureCondition`.
 */
import { ExpressionError, MeasurementError } from './errors.js'
import { evaluateCondition, formatNumber, type ExprValue } from './expr.js'
import type { TemplateMetric } from './template.js'

/** Phase of one measurement, with Argo's names. */
export type Phase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error'

/** One measurement: Argo's `value` string, the `result` the conditions saw, and the phase. */
export interface Measurement {
  readonly metric: string
  readonly phase: Phase
  /** The measurement value as Argo stores it (`"0.02"`, `"[0.1,NaN]"`, `"[]"`). */
  readonly value: string
  readonly result: ExprValue | undefined
  /** Why the phase is Error (or which condition decided), for the user. */
  readonly message: string
  /** The resolved Prometheus query or web URL. */
  readonly resolved: string
}

/** Parses a Prometheus sample value: `"NaN"`, `"+Inf"`, `"-Inf"` included. */
export function parsePromValue(s: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity
  if (s === '-Inf') return -Infinity
  if (s === 'NaN') return NaN
  const n = Number(s)
  if (Number.isNaN(n)) throw new MeasurementError(`Prometheus returned a non-numeric sample value ${JSON.stringify(s)}`)
  return n
}

interface PromAnswer {
  readonly status?: string
  readonly error?: string
  readonly errorType?: string
  readonly data?: { readonly resultType?: string; readonly result?: unknown }
}

/**
 * Converts a Prometheus query answer's `data` as Argo's provider does:
 * scalar → a number; vector → the sample values in answer order (labels
 * dropped; empty → `[]`); matrix → every value of every series, flattened.
 *
 * @throws MeasurementError for other result types (Argo: "metric type not supported").
 */
export function convertPromData(data: PromAnswer['data']): { result: ExprValue; value: string } {
  const type = data?.resultType
  const raw = data?.result
  if (type === 'scalar' && Array.isArray(raw)) {
    const v = parsePromValue(String(raw[1]))
    return { result: v, value: formatNumber(v) }
  }
  if (type === 'vector' && Array.isArray(raw)) {
    const values = (raw as { value: [number, string] }[]).map((s) => parsePromValue(String(s.value[1])))
    return { result: values, value: `[${values.map(formatNumber).join(',')}]` }
  }
  if (type === 'matrix' && Array.isArray(raw)) {
    const values = (raw as { values: [number, string][] }[]).flatMap((s) => s.values.map((p) => parsePromValue(String(p[1]))))
    return { result: values, value: `[${values.map(formatNumber).join(',')}]` }
  }
  throw new MeasurementError(`Prometheus metric type not supported: ${String(type)}`)
}

/**
 * Decides the phase from the conditions with Argo's rules: no condition →
 * Successful; success only → Failed when false; failure only → Successful
 * when false; both false → Inconclusive; a true failure condition wins; an
 * evaluation error or non-bool → Error.
 */
export function decidePhase(metric: Pick<TemplateMetric, 'successCondition' | 'failureCondition'>, result: ExprValue): { phase: Phase; message: string } {
  const success = metric.successCondition ?? ''
  const failure = metric.failureCondition ?? ''
  let ok = false
  let bad = false
  try {
    if (success !== '') ok = evaluateCondition(success, result)
    if (failure !== '') bad = evaluateCondition(failure, result)
  } catch (err) {
    if (err instanceof ExpressionError) return { phase: 'Error', message: `condition evaluation failed: ${err.message}` }
    throw err
  }
  if (success === '' && failure === '') return { phase: 'Successful', message: 'no condition' }
  if (success !== '' && failure === '') bad = !ok
  if (success === '' && failure !== '') ok = !bad
  if (bad) return { phase: 'Failed', message: failure !== '' && bad ? 'failureCondition is true' : 'successCondition is false' }
  if (!ok) return { phase: 'Inconclusive', message: 'neither successCondition nor failureCondition is true' }
  return { phase: 'Successful', message: 'successCondition is true' }
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Overrides every Prometheus metric's `address` (e.g. a port-forward). */
  readonly prometheus?: string
  /** Evaluation time of the instant query, ms since the epoch. Default: now. */
  readonly now?: () => number
  readonly fetch?: typeof fetch
}

/**
 * `fetch failed (connect ECONNREFUSED 127.0.0.1:10049)`: undici says only
 * "fetch failed" and keeps the reason in `cause`, so the reason is added.
 */
export function describeFetchError(err: unknown): string {
  const parts: string[] = []
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const message = e instanceof Error ? e.message : String(e)
    if (message !== '' && !parts.includes(message)) parts.push(message)
    e = e instanceof Error ? e.cause : undefined
  }
  const [head = 'unknown error', ...causes] = parts
  return causes.length === 0 ? head : `${head} (${causes.join(': ')})`
}

async function getJson(doFetch: typeof fetch, url: string, init: RequestInit, timeoutMs: number, what: string): Promise<unknown> {
  let res: Response
  try {
    res = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    throw new MeasurementError(`${what}: request to ${url} failed: ${describeFetchError(err)}`, { cause: err })
  }
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new MeasurementError(`${what}: ${url} answered ${res.status} with a non-JSON body: ${text.slice(0, 200)}`, { cause: err })
  }
  return { status: res.status, ok: res.ok, body }
}

/**
 * The Prometheus address a measurement uses: `--prometheus`, else the
 * metric's address, else (as Argo's provider does when the address is empty)
 * the controller-wide `ARGO_ROLLOUTS_PROMETHEUS_ADDRESS`.
 */
export function prometheusAddress(metricAddress: string | undefined, override?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const a of [override, metricAddress, env.ARGO_ROLLOUTS_PROMETHEUS_ADDRESS]) if (a !== undefined && a !== '') return a
  return undefined
}

async function measurePrometheus(metric: TemplateMetric, options: MeasureOptions): Promise<{ result: ExprValue; value: string; resolved: string }> {
  const prom = metric.provider.prometheus
  if (prom === undefined) throw new MeasurementError('no prometheus provider')
  const address = prometheusAddress(prom.address, options.prometheus)
  if (address === undefined) throw new MeasurementError('prometheus address is not configured (set the prometheus-address arg, ARGO_ROLLOUTS_PROMETHEUS_ADDRESS or --prometheus)')
  const time = ((options.now ?? Date.now)() / 1000).toFixed(3)
  const url = `${address.replace(/\/+$/, '')}/api/v1/query`
  const timeoutMs = (prom.timeout ?? 30) * 1000
  const answer = (await getJson(
    options.fetch ?? fetch,
    url,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: prom.query, time }).toString() },
    timeoutMs,
    'prometheus',
  )) as { status: number; body: PromAnswer }
  if (answer.body.status !== 'success') {
    throw new MeasurementError(`prometheus: ${answer.body.errorType ?? `HTTP ${answer.status}`}: ${answer.body.error ?? 'query failed'}`)
  }
  return { ...convertPromData(answer.body.data), resolved: prom.query }
}

/** Applies a k8s-style JSONPath of the form `{$}`, `{$.a.b}` or `{$.a[0]}`; first match only. */
export function applyJsonPath(body: unknown, jsonPath: string): ExprValue {
  const m = /^\{\s*\$((?:\.[A-Za-z0-9_-]+|\[[0-9]+\])*)\s*\}$/.exec(jsonPath.trim())
  if (m === null) throw new MeasurementError(`unsupported jsonPath ${JSON.stringify(jsonPath)} (supported: {$}, {$.a.b}, {$.a[0]})`)
  let v: unknown = body
  for (const part of (m[1] ?? '').match(/\.[A-Za-z0-9_-]+|\[[0-9]+\]/g) ?? []) {
    const key: string | number = part.startsWith('[') ? Number(part.slice(1, -1)) : part.slice(1)
    if (v === null || typeof v !== 'object' || !(key in (v as object))) throw new MeasurementError(`jsonPath ${jsonPath}: ${String(key)} is not found`)
    v = (v as Record<string | number, unknown>)[key]
  }
  return v as ExprValue
}

async function measureWeb(metric: TemplateMetric, options: MeasureOptions): Promise<{ result: ExprValue; value: string; resolved: string }> {
  const web = metric.provider.web
  if (web === undefined) throw new MeasurementError('no web provider')
  const headers = Object.fromEntries((web.headers ?? []).map((h) => [h.key, h.value]))
  let answer: { status: number; ok: boolean; body: unknown }
  try {
    answer = (await getJson(options.fetch ?? fetch, web.url, { method: web.method ?? 'GET', headers }, (web.timeoutSeconds ?? 10) * 1000, 'web')) as typeof answer
  } catch (err) {
    // A web metric asks the exporter, not Prometheus: say so when --prometheus was given.
    if (options.prometheus === undefined || !(err instanceof MeasurementError)) throw err
    throw new MeasurementError(`${err.message}; --prometheus applies to prometheus metrics only: a web metric's URL comes from the template (e.g. --arg exporter-address=http://HOST:10049)`, { cause: err })
  }
  // Argo's web provider records any non-2xx answer as an Error measurement.
  if (!answer.ok) throw new MeasurementError(`web: ${web.url} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}`)
  const result = applyJsonPath(answer.body, web.jsonPath ?? '{$}')
  return { result, value: typeof result === 'number' ? formatNumber(result) : JSON.stringify(result), resolved: web.url }
}

/**
 * Takes one measurement of a metric whose args are already substituted.
 * Transport and conversion failures give an `Error` measurement, never a throw.
 *
 * @throws AnalyzeTemplateError only for a metric with an unsupported provider.
 */
export async function measure(metric: TemplateMetric, options: MeasureOptions = {}): Promise<Measurement> {
  const kind = metric.provider.prometheus !== undefined ? 'prometheus' : metric.provider.web !== undefined ? 'web' : undefined
  const resolved = metric.provider.prometheus?.query ?? metric.provider.web?.url ?? ''
  if (kind === undefined) {
    const names = Object.keys(metric.provider).join(', ') || 'none'
    return { metric: metric.name, phase: 'Error', value: '', result: undefined, message: `unsupported provider (${names}); analyze runs prometheus and web metrics`, resolved }
  }
  try {
    const taken = kind === 'prometheus' ? await measurePrometheus(metric, options) : await measureWeb(metric, options)
    const { phase, message } = decidePhase(metric, taken.result)
    return { metric: metric.name, phase, value: taken.value, result: taken.result, message, resolved: taken.resolved }
  } catch (err) {
    if (err instanceof MeasurementError) return { metric: metric.name, phase: 'Error', value: '', result: undefined, message: err.message, resolved }
    throw err
  }
}
