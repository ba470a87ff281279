/**
 * Building blocks of the collectors' option schemas (JSON Schema fragments
 * for Ajv). A leaf module: each collector module states its own options with
 * these, and src/config/schema.ts assembles them under `collectors.*`, so a
 * collector's keys, defaults and ranges are written once, next to the
 * collector.
 */
import type { ErrorObject, KeywordDefinition, SchemaObject } from 'ajv'
import { parseDuration } from '../duration.js'
import { NAMESPACE_PATTERN } from '../pixie/scripts/http-pod-stats.js'
import { DEFAULT_MAX_ROUTES } from './routes.js'

/**
 * Schema keyword holding the message for any failure of the subschema it sits
 * in, so the readable message is written next to the rule it explains.
 * Annotation only: it never fails validation by itself (load.ts registers it).
 */
export const MESSAGE_KEYWORD = 'x-message'

/** Message of a key that must be a duration. */
export const DURATION_MESSAGE = 'must be a duration (e.g. 500ms, 10s, 1m30s, 2h, 1d)'

/** Message of a key that must be a cron expression. */
export const CRON_MESSAGE = 'must be a cron expression with 6 fields (second minute hour day-of-month month day-of-week)'

/**
 * A mapping of `properties`, unknown keys refused. `default: {}` makes Ajv
 * create a missing section and then fill in the defaults of its keys, so an
 * empty file yields every default.
 */
export function section(properties: Record<string, SchemaObject>): SchemaObject {
  return { type: 'object', default: {}, additionalProperties: false, properties }
}

/** A non-empty string; `message` when it is not. */
export function text(message: string, extra: SchemaObject = {}): SchemaObject {
  return { type: 'string', minLength: 1, [MESSAGE_KEYWORD]: message, ...extra }
}

/**
 * Schema keyword of a duration field (src/duration.ts grammar) and its
 * range: the one place each range is declared. Checked by Ajv through
 * {@link durationKeyword} (registered by src/config/load.ts); its failures
 * carry their own message (see {@link durationRangeMessage}).
 */
export const DURATION_KEYWORD = 'x-duration'

/** The range of a duration field, as durations; every bound optional. */
export interface DurationRange {
  /** Smallest value allowed (inclusive). */
  readonly min?: string
  /** The value must be greater than 0 (instead of `min`). */
  readonly positive?: true
  /** Largest value allowed (inclusive). */
  readonly max?: string
}

/** Timeouts (`pixie.timeout`, `collectors.*.timeout`): more than 0, at most 10m. */
export const TIMEOUT_RANGE: DurationRange = { positive: true, max: '10m' }

/** The ranges of the duration settings shared by the HTTP, custom and library collectors. */
export const COLLECTOR_DURATION_RANGES = {
  interval: { min: '1s' },
  timeout: TIMEOUT_RANGE,
  window: { min: '1s', max: '1h' },
  lag: { min: '0s', max: '5m' },
  maxCatchUp: { min: '1s', max: '1d' },
  staleAfter: { positive: true },
  expireAfter: { min: '1s' },
} as const satisfies Readonly<Record<string, DurationRange>>

/** The message of a value outside `range`, e.g. `must be from 1s to 1h`; undefined for no range. */
export function durationRangeMessage(range: DurationRange): string | undefined {
  const low = range.positive === true ? 'greater than 0' : range.min
  if (low !== undefined && range.max !== undefined) {
    return range.positive === true ? `must be ${low} and at most ${range.max}` : `must be from ${low} to ${range.max}`
  }
  if (range.positive === true) return `must be ${low}`
  if (low !== undefined) return `must be at least ${low}`
  if (range.max !== undefined) return `must be at most ${range.max}`
  return undefined
}

/**
 * The Ajv definition of {@link DURATION_KEYWORD}: the value must be a
 * duration in the project grammar and inside the declared range. An error's
 * `message` is the reason to print.
 */
export const durationKeyword: KeywordDefinition = {
  keyword: DURATION_KEYWORD,
  type: 'string',
  schemaType: 'object',
  errors: true,
  validate: validateDuration,
}

function validateDuration(range: DurationRange, data: string): boolean {
  const fail = (message: string): false => {
    validateDuration.errors = [{ keyword: DURATION_KEYWORD, message, params: { range } }]
    return false
  }
  let ms: number
  try {
    ms = parseDuration(data)
  } catch {
    return fail(DURATION_MESSAGE)
  }
  const min = range.min === undefined ? (range.positive === true ? 1 : 0) : parseDuration(range.min)
  const max = range.max === undefined ? Number.MAX_SAFE_INTEGER : parseDuration(range.max)
  if (ms < min || ms > max) return fail(durationRangeMessage(range) ?? DURATION_MESSAGE)
  return true
}
validateDuration.errors = [] as Partial<ErrorObject>[]

/** A duration as text, in the project grammar and inside `range` (checked by {@link DURATION_KEYWORD}). */
export function duration(range: DurationRange = {}, extra: SchemaObject = {}): SchemaObject {
  return text(DURATION_MESSAGE, { [DURATION_KEYWORD]: range, ...extra })
}

/** A list of Kubernetes namespace names, default empty. */
export function namespaceList(): SchemaObject {
  return {
    type: 'array',
    default: [],
    [MESSAGE_KEYWORD]: 'must be a list of namespace names',
    items: {
      type: 'string',
      pattern: NAMESPACE_PATTERN.source,
      [MESSAGE_KEYWORD]: 'must be a Kubernetes namespace name (lower-case letters, digits and "-", at most 63 characters)',
    },
  }
}

/**
 * Defaults of the settings shared by custom and library collectors. Applied
 * in src/config/collectors.ts rather than by the schema, because a library
 * collector without a `libraryOptions` entry has no mapping to fill in.
 */
export const PXL_DEFAULTS = {
  interval: '30s',
  window: '30s',
  lag: '5s',
  maxCatchUp: '5m',
  expireAfter: '5m',
  maxSeries: 50_000,
  maxRoutes: DEFAULT_MAX_ROUTES,
} as const

/** Keys shared by custom and library collectors (`collectors.custom[]`, `collectors.libraryOptions.<name>`). */
export function pxlSettingsSchema(): Record<string, SchemaObject> {
  return {
    interval: duration(COLLECTOR_DURATION_RANGES.interval),
    schedule: text(CRON_MESSAGE),
    timeout: duration(COLLECTOR_DURATION_RANGES.timeout),
    window: duration(COLLECTOR_DURATION_RANGES.window),
    lag: duration(COLLECTOR_DURATION_RANGES.lag),
    maxCatchUp: duration(COLLECTOR_DURATION_RANGES.maxCatchUp),
    staleAfter: duration(COLLECTOR_DURATION_RANGES.staleAfter),
    expireAfter: duration(COLLECTOR_DURATION_RANGES.expireAfter),
    staticLabels: {
      type: 'object',
      [MESSAGE_KEYWORD]: 'must be a mapping of label names to values',
      additionalProperties: { type: 'string', [MESSAGE_KEYWORD]: 'must be a string' },
    },
    maxSeries: { type: 'integer', minimum: 1, [MESSAGE_KEYWORD]: 'must be an integer of at least 1' },
    routes: {
      type: 'object',
      additionalProperties: false,
      properties: {
        patterns: {
          type: 'array',
          default: [],
          [MESSAGE_KEYWORD]: 'must be a list of path patterns',
          items: text('must be a path pattern such as /orders/*/item/*'),
        },
        maxRoutes: { type: 'integer', minimum: 0, [MESSAGE_KEYWORD]: 'must be an integer of at least 0' },
      },
    },
  }
}
