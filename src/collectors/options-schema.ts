/**
 * Building blocks of the collectors' option schemas (JSON Schema fragments
 * for Ajv). A leaf module: each collector module states its own options with
 * these, and src/config/schema.ts assembles them under `collectors.*`, so a
 * collector's keys, defaults and ranges are written once, next to the
 * collector.
 */
import type { SchemaObject } from 'ajv'
import { NAMESPACE_PATTERN } from '../pixie/scripts/http-pod-stats.js'

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

/** A duration as text (load.ts parses it and checks its range). */
export function duration(extra: SchemaObject = {}): SchemaObject {
  return text(DURATION_MESSAGE, extra)
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
  maxRoutes: 1000,
} as const

/** Keys shared by custom and library collectors (`collectors.custom[]`, `collectors.libraryOptions.<name>`). */
export function pxlSettingsSchema(): Record<string, SchemaObject> {
  return {
    interval: duration(),
    schedule: text(CRON_MESSAGE),
    timeout: duration(),
    window: duration(),
    lag: duration(),
    maxCatchUp: duration(),
    staleAfter: duration(),
    expireAfter: duration(),
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
