/**
 * Reading an AnalysisTemplate (or ClusterAnalysisTemplate) and resolving its
 * `{{args.x}}` placeholders the way Argo Rollouts does: the values come from
 * the command line or the template's defaults, and are substituted into the
 * whole metric (query, conditions, interval…), not just the query.
 */
import { parseAllDocuments } from 'yaml'
import { AnalyzeTemplateError } from './errors.js'

/** One `spec.args[]` entry. */
export interface TemplateArg {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: unknown
}

/** The parts of a metric the analyze command uses (the rest is kept as is). */
export interface TemplateMetric {
  readonly name: string
  readonly successCondition?: string
  readonly failureCondition?: string
  readonly provider: {
    readonly prometheus?: { readonly address?: string; readonly query: string; readonly timeout?: number }
    readonly web?: {
      readonly url: string
      readonly method?: string
      readonly headers?: readonly { readonly key: string; readonly value: string }[]
      readonly jsonPath?: string
      readonly timeoutSeconds?: number
    }
    readonly [other: string]: unknown
  }
  readonly [other: string]: unknown
}

/** An analysis template as read from a file. */
export interface AnalysisTemplateDoc {
  readonly kind: 'AnalysisTemplate' | 'ClusterAnalysisTemplate'
  readonly name: string
  readonly args: readonly TemplateArg[]
  readonly metrics: readonly TemplateMetric[]
}

/** Matches `{{args.name}}`, spaces allowed inside the braces as in Argo. */
export const ARG_PLACEHOLDER = /\{\{\s*args\.([A-Za-z0-9_.-]+?)\s*\}\}/g
const ANY_PLACEHOLDER = /\{\{[^}]*\}\}/g

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Parses a YAML text holding exactly one AnalysisTemplate or
 * ClusterAnalysisTemplate.
 *
 * @throws AnalyzeTemplateError when the text is not such a template.
 */
export function parseTemplate(text: string, source = 'template'): AnalysisTemplateDoc {
  const docs = parseAllDocuments(text)
  const objects: unknown[] = []
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new AnalyzeTemplateError(`${source}: invalid YAML: ${doc.errors[0]?.message ?? ''}`)
    const o: unknown = doc.toJS()
    if (o !== null && o !== undefined) objects.push(o)
  }
  const templates = objects.filter((o) => isRecord(o) && (o.kind === 'AnalysisTemplate' || o.kind === 'ClusterAnalysisTemplate'))
  if (templates.length !== 1) {
    throw new AnalyzeTemplateError(`${source}: expected exactly one AnalysisTemplate or ClusterAnalysisTemplate, found ${templates.length}`)
  }
  const o = templates[0] as Record<string, unknown>
  const metadata = isRecord(o.metadata) ? o.metadata : {}
  const spec = isRecord(o.spec) ? o.spec : {}
  const name = typeof metadata.name === 'string' ? metadata.name : '<unnamed>'
  const args = Array.isArray(spec.args) ? spec.args : []
  const metrics = Array.isArray(spec.metrics) ? spec.metrics : []
  if (metrics.length === 0) throw new AnalyzeTemplateError(`${source}: ${name} has no spec.metrics`)
  args.forEach((a, i) => {
    if (!isRecord(a) || typeof a.name !== 'string') throw new AnalyzeTemplateError(`${source}: spec.args[${i}] has no name`)
    if (a.value !== undefined && typeof a.value !== 'string') throw new AnalyzeTemplateError(`${source}: spec.args[${i}] (${a.name}): value must be a string`)
  })
  metrics.forEach((m, i) => {
    if (!isRecord(m) || typeof m.name !== 'string') throw new AnalyzeTemplateError(`${source}: spec.metrics[${i}] has no name`)
    if (!isRecord(m.provider)) throw new AnalyzeTemplateError(`${source}: metric ${m.name} has no provider`)
  })
  return { kind: o.kind as AnalysisTemplateDoc['kind'], name, args: args as TemplateArg[], metrics: metrics as TemplateMetric[] }
}

/** The `{{args.x}}` names used anywhere in a value (sorted, unique). */
export function placeholdersIn(value: unknown): string[] {
  const names = new Set<string>()
  for (const m of JSON.stringify(value).matchAll(ARG_PLACEHOLDER)) names.add(m[1] ?? '')
  return [...names].sort()
}

/**
 * The value of every arg: `--arg` values first, then the template's `value`
 * defaults.
 *
 * @throws AnalyzeTemplateError naming each arg without a value (an arg with
 *   `valueFrom` must be given on the command line, as the Rollout would), and
 *   each `--arg` the template does not declare.
 */
export function resolveArgs(template: AnalysisTemplateDoc, given: Readonly<Record<string, string>>): Record<string, string> {
  const declared = new Set(template.args.map((a) => a.name))
  const unknown = Object.keys(given).filter((k) => !declared.has(k))
  if (unknown.length > 0) {
    throw new AnalyzeTemplateError(`${template.name}: unknown arg(s) ${unknown.join(', ')} (declared: ${[...declared].join(', ') || 'none'})`)
  }
  const values: Record<string, string> = {}
  const missing: string[] = []
  for (const a of template.args) {
    const v = given[a.name] ?? a.value
    if (v === undefined) missing.push(a.valueFrom === undefined ? a.name : `${a.name} (valueFrom in the Rollout; pass it with --arg ${a.name}=…)`)
    else values[a.name] = v
  }
  if (missing.length > 0) throw new AnalyzeTemplateError(`${template.name}: argument(s) not supplied: ${missing.join(', ')}`)
  return values
}

/**
 * Substitutes `{{args.x}}` in the whole metric, as Argo does on the metric
 * serialised as JSON (values are JSON-escaped, so quotes in a value cannot
 * break the structure).
 *
 * @throws AnalyzeTemplateError when a placeholder names an undeclared arg, or
 *   when a `{{…}}` is left unresolved.
 */
export function substituteMetric(metric: TemplateMetric, args: Readonly<Record<string, string>>): TemplateMetric {
  const json = JSON.stringify(metric)
  const unknown: string[] = []
  const replaced = json.replace(ARG_PLACEHOLDER, (whole, name: string) => {
    const v = args[name]
    if (v === undefined) {
      unknown.push(name)
      return whole
    }
    return JSON.stringify(v).slice(1, -1)
  })
  if (unknown.length > 0) throw new AnalyzeTemplateError(`metric ${metric.name}: failed to resolve {{args.${unknown.join('}}, {{args.')}}}: not declared in spec.args`)
  const left = replaced.match(ANY_PLACEHOLDER)
  if (left !== null) throw new AnalyzeTemplateError(`metric ${metric.name}: failed to resolve ${left.join(', ')}`)
  return JSON.parse(replaced) as TemplateMetric
}
