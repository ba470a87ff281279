/**
 * Scenarios of the Pixie API simulator: which pods receive how much HTTP
 * traffic, with which status codes and latencies, and which faults the
 * simulated Pixie API shows, all as offsets from the simulator's start.
 *
 * A scenario is written in YAML (see docs/scenarios.md), checked against the
 * JSON Schema in schemas/scenario.schema.json plus the rules a schema cannot
 * express, and turned into the
 * normalised, frozen {@link Scenario} that the rest of the simulator uses.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { ScenarioError } from '../errors.js'
import { formatDuration, parseDurationFine } from '../duration.js'
// large.ts imports scenarioFromObject from this module. The cycle is safe: both
// modules only declare functions and constants at load time, and call each
// other only once both are evaluated.
import { largePodInputs, type LargeScenarioOptions } from './large.js'
import type { LatencyNs, PhaseInput, PodInput } from './scenario-input.js'
import { Z90, Z99 } from './latency.js'

/** The fault kinds the simulator can inject. */
export const FAULT_KINDS = ['unavailable', 'slow', 'compile-error', 'cut', 'malformed'] as const

/** One of {@link FAULT_KINDS}. */
export type FaultKind = (typeof FAULT_KINDS)[number]

/** The share of a phase's requests answered with one HTTP status code. */
export interface StatusShare {
  readonly code: number
  /** From 0 to 1; the shares of a phase sum to 1. */
  readonly share: number
}


/** A stretch of constant traffic of one pod, from `atMs` to the next phase (or the pod's end). */
export interface ScenarioPhase {
  /** Start, milliseconds after the simulator's start. */
  readonly atMs: number
  /** Requests per second, >= 0. */
  readonly rps: number
  /** Shares by status code, ordered by code. */
  readonly statuses: readonly StatusShare[]
  readonly latencyNs: LatencyNs
}

/** A simulated pod. */
export interface ScenarioPod {
  readonly namespace: string
  readonly name: string
  /** Plain service names (same namespace as the pod). */
  readonly services: readonly string[]
  /** Node name, informational (not part of the simulated tables). */
  readonly node: string | undefined
  /** The pod exists from this offset (ms) ... */
  readonly fromMs: number
  /** ... until this offset (ms, exclusive); Infinity when it never goes away. */
  readonly untilMs: number
  /** At least one; strictly increasing `atMs`, the first at 0 or at `fromMs`. */
  readonly phases: readonly ScenarioPhase[]
}

/** A fault of the simulated Pixie API, active in [fromMs, untilMs). */
export interface ScenarioFault {
  readonly kind: FaultKind
  readonly fromMs: number
  /** Infinity when the fault never ends. */
  readonly untilMs: number
  /** For `slow`: how long each answer is held back; 0 otherwise. */
  readonly delayMs: number
}

/** The column types a custom table may use. */
export const CUSTOM_COLUMN_TYPES = ['STRING', 'INT64', 'FLOAT64', 'BOOLEAN', 'TIME64NS'] as const

/**
 * A fixed table answered to every request with this `query_name` (a custom
 * collector sends `pixie-exporter/<collector name>`), for tests and demos of
 * custom collectors.
 */
export interface ScenarioCustomTable {
  /** The request's `query_name`. */
  readonly queryName: string
  /** The `px.display` name of the table. */
  readonly table: string
  readonly columns: readonly { readonly name: string; readonly type: (typeof CUSTOM_COLUMN_TYPES)[number] }[]
  /** Rows in column order: strings for STRING, integers (or decimal strings) for INT64/TIME64NS, numbers for FLOAT64, booleans for BOOLEAN. */
  readonly rows: readonly (readonly (string | number | boolean)[])[]
}

/** A validated, normalised, frozen scenario. Build one with {@link parseScenario} or {@link scenarioFromObject}. */
export interface Scenario {
  readonly name: string
  readonly description: string
  /** When set, calls must carry this `pixie-api-key` metadata. */
  readonly apiKey: string | undefined
  readonly pods: readonly ScenarioPod[]
  readonly faults: readonly ScenarioFault[]
  /** Fixed tables for custom scripts, tried in order before the built-in scripts. */
  readonly customTables: readonly ScenarioCustomTable[]
}



/** A fault as written in a scenario file. */
export interface FaultInput {
  kind: FaultKind
  from?: string
  until?: string
  delay?: string
}

/**
 * Pods generated with the large-cluster model of {@link largePodInputs}
 * (`makeLargeScenario`), as written in a scenario file.
 */
export interface GenerateInput {
  /** Number of pods, 1 to 100,000. */
  pods: number
  /** Namespaces `bench-00`, `bench-01`, ...; 1 to 1,000, default 20. */
  namespaces?: number
  /** Pods per service; 1 to 1,000, default 5. */
  podsPerService?: number
}

/** A scenario as written in a scenario file (and accepted by {@link scenarioFromObject}). */
export interface ScenarioInput {
  name: string
  description?: string
  apiKey?: string
  /** Required unless {@link generate} is set. */
  pods?: PodInput[]
  /** Pods added after {@link pods}. */
  generate?: GenerateInput
  faults?: FaultInput[]
  customTables?: ScenarioCustomTable[]
}

export type { LatencyNs, PhaseInput, PodInput } from './scenario-input.js'

const NS_PER_MS = 1_000_000
const SHARE_TOLERANCE = 1e-9
const STATUS_CODE = /^[1-5][0-9]{2}$/

/**
 * Where the JSON Schema of the scenario format lives: `schemas/scenario.schema.json`
 * at the package root (two levels up from both `src/simulator/` and
 * `dist/simulator/`). The validator compiles this very file, so the published
 * schema and the checks cannot drift apart.
 */
export const SCENARIO_SCHEMA_URL = new URL('../../schemas/scenario.schema.json', import.meta.url)

// Read and compiled on first use, not at import: the exporter's CLI imports
// this module but only `simulate` and `demo` need the schema. The validator is
// stateless apart from `.errors`, which is read immediately after each call.
let compiled: ValidateFunction | undefined

/**
 * The compiled validator of {@link SCENARIO_SCHEMA_URL} (its `.schema` is the
 * parsed file).
 *
 * @throws Error when the schema file cannot be read (a broken installation).
 */
export function scenarioValidator(): ValidateFunction {
  if (compiled === undefined) {
    let schema: unknown
    try {
      schema = JSON.parse(readFileSync(SCENARIO_SCHEMA_URL, 'utf8'))
    } catch (err) {
      throw new Error(`cannot load the scenario JSON Schema ${SCENARIO_SCHEMA_URL.pathname}: ${(err as Error).message}`, { cause: err })
    }
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true })
    compiled = ajv.compile(schema as object)
  }
  return compiled
}

/** Turns a JSON pointer into `pods[1].phases[0].rps`, using the data to tell array indexes from keys. */
function fieldPath(pointer: string, data: unknown, extra?: string): string {
  const segments = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (extra !== undefined) segments.push(extra)
  let path = ''
  let node: unknown = data
  for (const segment of segments) {
    if (Array.isArray(node)) {
      path += `[${segment}]`
      node = node[Number(segment)]
    } else {
      path += path === '' ? segment : `.${segment}`
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[segment] : undefined
    }
  }
  return path === '' ? '(root)' : path
}

function describeAjvError(error: ErrorObject, data: unknown): string {
  const params = error.params as Record<string, unknown>
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>
  // Integer fields state their whole rule in $comment, so a wrong type and a
  // value out of range give the same message.
  if (schema['type'] === 'integer' && typeof schema['$comment'] === 'string' && ['type', 'minimum', 'maximum'].includes(error.keyword)) {
    return `${fieldPath(error.instancePath, data)}: ${schema['$comment']}`
  }
  switch (error.keyword) {
    case 'required':
      return `${fieldPath(error.instancePath, data, String(params['missingProperty']))}: is required`
    case 'additionalProperties':
      return `${fieldPath(error.instancePath, data, String(params['additionalProperty']))}: unknown key`
    case 'enum':
      return `${fieldPath(error.instancePath, data)}: must be one of ${(params['allowedValues'] as unknown[]).join(', ')} (got ${JSON.stringify(error.data)})`
    case 'pattern':
      return `${fieldPath(error.instancePath, data)}: ${String(schema['$comment'] ?? error.message)} (got ${JSON.stringify(error.data)})`
    case 'minLength':
      return `${fieldPath(error.instancePath, data)}: must not be empty`
    case 'minimum':
    case 'maximum':
      if (typeof schema['minimum'] === 'number' && typeof schema['maximum'] === 'number') {
        return `${fieldPath(error.instancePath, data)}: must be between ${schema['minimum']} and ${schema['maximum']}`
      }
      return `${fieldPath(error.instancePath, data)}: ${error.message ?? 'is invalid'}`
    default:
      return `${fieldPath(error.instancePath, data)}: ${error.message ?? 'is invalid'}`
  }
}

function ms(text: string): number {
  // Only called on values the schema's pattern already accepted; what the
  // pattern cannot see (finer than 1ns, too large) becomes NaN, which every
  // range check below refuses.
  try {
    return parseDurationFine(text)
  } catch {
    return Number.NaN
  }
}

function normalisePhase(input: PhaseInput, path: string, problems: string[]): ScenarioPhase {
  let statuses: StatusShare[]
  if (input.statuses !== undefined && input.errorRatio !== undefined) {
    problems.push(`${path}: set exactly one of statuses and errorRatio`)
    statuses = []
  } else if (input.errorRatio !== undefined) {
    statuses = [
      { code: 200, share: 1 - input.errorRatio },
      { code: 500, share: input.errorRatio },
    ].filter((s) => s.share > 0)
  } else if (input.statuses !== undefined) {
    statuses = []
    let sum = 0
    for (const [code, share] of Object.entries(input.statuses)) {
      if (!STATUS_CODE.test(code)) {
        problems.push(`${path}.statuses.${code}: not an HTTP status code (100 to 599)`)
        continue
      }
      sum += share
      if (share > 0) statuses.push({ code: Number(code), share })
    }
    if (Math.abs(sum - 1) > SHARE_TOLERANCE) problems.push(`${path}.statuses: shares must sum to 1 (got ${sum})`)
    statuses.sort((a, b) => a.code - b.code)
  } else {
    problems.push(`${path}: set exactly one of statuses and errorRatio`)
    statuses = []
  }

  const p50 = ms(input.latency.p50) * NS_PER_MS
  const p99 = ms(input.latency.p99) * NS_PER_MS
  const p90 =
    input.latency.p90 !== undefined
      ? ms(input.latency.p90) * NS_PER_MS
      : Math.exp(Math.log(p50) + ((Math.log(p99) - Math.log(p50)) * Z90) / Z99)
  if (!(p50 > 0)) problems.push(`${path}.latency.p50: must be greater than 0`)
  else if (input.latency.p90 !== undefined && !(p50 <= p90 && p90 <= p99)) {
    problems.push(`${path}.latency: must have p50 <= p90 <= p99`)
  } else if (!(p50 <= p99)) problems.push(`${path}.latency: must have p50 <= p99`)

  return Object.freeze({
    atMs: ms(input.at),
    rps: input.rps,
    statuses: Object.freeze(statuses.map((s) => Object.freeze(s))),
    latencyNs: Object.freeze({ p50, p90, p99 }),
  })
}

function normalisePod(input: PodInput, path: string, problems: string[]): ScenarioPod {
  const fromMs = input.from === undefined ? 0 : ms(input.from)
  const untilMs = input.until === undefined ? Number.POSITIVE_INFINITY : ms(input.until)
  if (untilMs <= fromMs) problems.push(`${path}.until: must be after from (${formatDuration(fromMs)})`)
  const phases = input.phases.map((p, i) => normalisePhase(p, `${path}.phases[${i}]`, problems))
  const first = phases[0]
  if (first !== undefined && first.atMs !== 0 && first.atMs !== fromMs) {
    problems.push(`${path}.phases[0].at: must be 0s or the pod's from (${formatDuration(fromMs)})`)
  }
  phases.forEach((phase, i) => {
    const previous = phases[i - 1]
    if (previous !== undefined && phase.atMs <= previous.atMs) {
      problems.push(`${path}.phases[${i}].at: must be after phases[${i - 1}].at (${formatDuration(previous.atMs)})`)
    }
    if (phase.atMs >= untilMs) {
      problems.push(`${path}.phases[${i}].at: must be before the pod's until (${formatDuration(untilMs)})`)
    }
  })
  return Object.freeze({
    namespace: input.namespace,
    name: input.name,
    services: Object.freeze([...(input.services ?? [])]),
    node: input.node,
    fromMs,
    untilMs,
    phases: Object.freeze(phases),
  })
}

function normaliseFault(input: FaultInput, path: string, problems: string[]): ScenarioFault {
  const fromMs = input.from === undefined ? 0 : ms(input.from)
  const untilMs = input.until === undefined ? Number.POSITIVE_INFINITY : ms(input.until)
  if (untilMs <= fromMs) problems.push(`${path}.until: must be after from (${formatDuration(fromMs)})`)
  if (input.kind === 'slow' && input.delay === undefined) problems.push(`${path}.delay: is required for kind slow`)
  if (input.kind !== 'slow' && input.delay !== undefined) problems.push(`${path}.delay: only allowed for kind slow`)
  return Object.freeze({ kind: input.kind, fromMs, untilMs, delayMs: input.delay === undefined ? 0 : ms(input.delay) })
}

const INT64_TEXT = /^-?\d+$/

function normaliseCustomTable(input: ScenarioCustomTable, path: string, problems: string[]): ScenarioCustomTable {
  const names = new Set<string>()
  input.columns.forEach((c, i) => {
    if (names.has(c.name)) problems.push(`${path}.columns[${i}].name: duplicate column ${c.name}`)
    names.add(c.name)
  })
  input.rows.forEach((row, r) => {
    if (row.length !== input.columns.length) {
      problems.push(`${path}.rows[${r}]: has ${row.length} values for ${input.columns.length} columns`)
      return
    }
    row.forEach((value, i) => {
      const type = input.columns[i]?.type
      const ok =
        type === 'STRING'
          ? typeof value === 'string'
          : type === 'FLOAT64'
            ? typeof value === 'number'
            : type === 'BOOLEAN'
              ? typeof value === 'boolean'
              : (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && INT64_TEXT.test(value))
      if (!ok) problems.push(`${path}.rows[${r}][${i}]: not a ${type} value (got ${JSON.stringify(value)})`)
    })
  })
  return Object.freeze({
    queryName: input.queryName,
    table: input.table,
    columns: Object.freeze(input.columns.map((c) => Object.freeze({ name: c.name, type: c.type }))),
    rows: Object.freeze(input.rows.map((row) => Object.freeze([...row]))),
  })
}

/**
 * Validates a scenario given as plain data (parsed YAML, or built in code) and
 * returns the normalised, frozen {@link Scenario}.
 *
 * @throws ScenarioError listing every problem, each starting with the field path.
 */
export function scenarioFromObject(value: unknown): Scenario {
  const validate = scenarioValidator()
  if (!validate(value)) {
    // An `if` failure only repeats the `then` keyword's own error (pods: is required).
    const messages = (validate.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => describeAjvError(e, value))
    throw new ScenarioError([...new Set(messages)])
  }
  const input = value as ScenarioInput
  const problems: string[] = []
  const listed = input.pods ?? []
  const pods = listed.map((p, i) => normalisePod(p, `pods[${i}]`, problems))
  const seen = new Map<string, number>()
  pods.forEach((pod, i) => {
    const key = `${pod.namespace}/${pod.name}`
    const first = seen.get(key)
    if (first !== undefined) problems.push(`pods[${i}].name: duplicate of pods[${first}] (${key})`)
    else seen.set(key, i)
  })
  if (input.generate !== undefined) {
    // Generated pods skip the schema (the model only builds valid pods, and
    // validating 10,000 of them would dominate the load time) but get the
    // same normalisation and cross-field checks as listed ones.
    const { pods: count, ...options } = input.generate
    largePodInputs(count, options).forEach((p, i) => {
      const pod = normalisePod(p, `generate (pod ${i})`, problems)
      const key = `${pod.namespace}/${pod.name}`
      const first = seen.get(key)
      if (first !== undefined) problems.push(`generate: pod ${i} (${key}) duplicates pods[${first}]`)
      pods.push(pod)
    })
  }
  const faults = (input.faults ?? []).map((f, i) => normaliseFault(f, `faults[${i}]`, problems))
  const customTables = (input.customTables ?? []).map((t, i) => normaliseCustomTable(t, `customTables[${i}]`, problems))
  if (problems.length > 0) throw new ScenarioError(problems)
  return Object.freeze({
    name: input.name,
    description: input.description ?? '',
    apiKey: input.apiKey,
    pods: Object.freeze(pods),
    faults: Object.freeze(faults),
    customTables: Object.freeze(customTables),
  })
}

/**
 * Parses and validates a scenario written in YAML.
 *
 * @param source names the text in the YAML syntax error message (usually the file path).
 * @throws ScenarioError listing every problem.
 */
export function parseScenario(text: string, source: string): Scenario {
  let value: unknown
  try {
    value = parseYaml(text)
  } catch (err) {
    throw new ScenarioError([`(root): ${source} is not valid YAML: ${(err as Error).message}`], { cause: err })
  }
  return scenarioFromObject(value)
}

/** Reads and validates a scenario file. @throws ScenarioError (also when the file cannot be read). */
export function loadScenarioFile(path: string): Scenario {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new ScenarioError([`--scenario: cannot read ${path}: ${reason}`], { cause: err })
  }
  return parseScenario(text, path)
}

/**
 * Makes a valid scenario of `pods` pods of the {@link largePodInputs} model,
 * for benchmarks and tests. The shipped `scenarios/large-cluster.yaml` is the
 * same model with 10,000 pods, written as `generate: {pods: 10000}`.
 */
export function makeLargeScenario(pods: number, options: LargeScenarioOptions = {}): Scenario {
  const list = largePodInputs(pods, options)
  return scenarioFromObject({
    name: `large-${pods}`,
    description: `${pods} simulated pods over ${options.namespaces ?? 20} namespaces (built in code)`,
    pods: list,
  })
}
