/**
 * The options of the built-in HTTP collector (`collectors.http.*`): their
 * schema, defaults and ranges. A leaf module, read by the collector
 * (src/collectors/http.ts), its module (./http-module.ts) and, through the
 * collector list, the configuration schema.
 */
import type { SchemaObject } from 'ajv'
import { DEFAULT_NATIVE_SCHEMA, MAX_NATIVE_SCHEMA, MIN_NATIVE_SCHEMA } from '../metrics/native-histogram.js'
import { CRON_MESSAGE, MESSAGE_KEYWORD, duration, namespaceList, section, text } from './options-schema.js'

/** The families of the built-in HTTP collector, in exposition order (`collectors.http.metrics`). */
export const HTTP_METRIC_FAMILIES = [
  'pixie_http_requests_per_second',
  'pixie_http_errors_per_second',
  'pixie_http_error_ratio',
  'pixie_http_latency_seconds',
  'pixie_http_requests_total',
  'pixie_http_request_duration_seconds',
] as const

/** Where the classic buckets of the native histogram go in protobuf scrapes. */
export const CLASSIC_IN_PROTOBUF = ['separate', 'inline', 'none'] as const

/** Default latency histogram buckets, seconds (as Beyla's and OpenTelemetry's HTTP defaults, minus the finest). */
export const DEFAULT_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

/**
 * `collectors.http.interval` when neither it nor `collectors.http.schedule`
 * is set. Not a schema default because the two keys exclude each other.
 */
export const DEFAULT_HTTP_INTERVAL = '5s'

/** Defaults of `collectors.http.*`, as written in the file (the schema fills them in). */
export const HTTP_DEFAULTS = {
  interval: DEFAULT_HTTP_INTERVAL,
  window: '10s',
  errorStatusMin: 500,
  maxRows: 100_000,
  lag: '5s',
  maxCatchUp: '5m',
  expireAfter: '5m',
  buckets: DEFAULT_BUCKETS_SECONDS,
} as const

/** The schema of `collectors.http`. */
export function httpOptionsSchema(): SchemaObject {
  return section({
    interval: duration(),
    schedule: text(CRON_MESSAGE),
    window: duration({ default: HTTP_DEFAULTS.window }),
    errorStatusMin: {
      type: 'integer',
      minimum: 100,
      maximum: 599,
      default: HTTP_DEFAULTS.errorStatusMin,
      [MESSAGE_KEYWORD]: 'must be an integer from 100 to 599',
    },
    namespaces: section({ include: namespaceList(), exclude: namespaceList() }),
    staleAfter: duration(),
    timeout: duration(),
    // Written into the script as `#px:set max_output_rows_per_table=<n>`: an integer Pixie reads (int64) and JavaScript prints exactly.
    maxRows: {
      type: 'integer',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      default: HTTP_DEFAULTS.maxRows,
      [MESSAGE_KEYWORD]: `must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}`,
    },
    lag: duration({ default: HTTP_DEFAULTS.lag }),
    maxCatchUp: duration({ default: HTTP_DEFAULTS.maxCatchUp }),
    expireAfter: duration({ default: HTTP_DEFAULTS.expireAfter }),
    buckets: {
      type: 'array',
      minItems: 1,
      maxItems: 40,
      default: [...HTTP_DEFAULTS.buckets],
      [MESSAGE_KEYWORD]: 'must be a list of 1 to 40 bucket bounds in seconds',
      items: { type: 'number', exclusiveMinimum: 0, [MESSAGE_KEYWORD]: 'must be a number of seconds greater than 0' },
    },
    metrics: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      [MESSAGE_KEYWORD]: 'must be a list of distinct metric family names, at least one',
      items: { enum: [...HTTP_METRIC_FAMILIES], [MESSAGE_KEYWORD]: `must be one of ${HTTP_METRIC_FAMILIES.join(', ')}` },
    },
    nativeHistogram: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: false, [MESSAGE_KEYWORD]: 'must be true or false' },
        schema: {
          type: 'integer',
          minimum: MIN_NATIVE_SCHEMA,
          maximum: MAX_NATIVE_SCHEMA,
          default: DEFAULT_NATIVE_SCHEMA,
          [MESSAGE_KEYWORD]: `must be an integer from ${MIN_NATIVE_SCHEMA} to ${MAX_NATIVE_SCHEMA}`,
        },
        classicBuckets: {
          enum: [...CLASSIC_IN_PROTOBUF],
          default: 'separate',
          [MESSAGE_KEYWORD]: `must be one of ${CLASSIC_IN_PROTOBUF.join(', ')}`,
        },
      },
    },
  })
}
