/**
 * The options of the built-in HTTP collector (`collectors.http.*`): their
 * schema, defaults and ranges. A leaf module, read by the collector
 * (src/collectors/http.ts), its module (./http-module.ts) and, through the
 * collector list, the configuration schema.
 */
import type { SchemaObject } from 'ajv'
import type { CollectorSchedule } from '../scheduler/schedule.js'
import { DEFAULT_NATIVE_SCHEMA, MAX_NATIVE_SCHEMA, MIN_NATIVE_SCHEMA } from '../metrics/native-histogram.js'
import { COLLECTOR_DURATION_RANGES, CRON_MESSAGE, MESSAGE_KEYWORD, duration, namespaceList, section, text } from './options-schema.js'

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

/*
 * The default series budget of the built-in HTTP collector (issue 15): about
 * 10 series per pod, so that one Prometheus scrapes 10,000 pods in about
 * 0.15 s (~1.4 µs per sample). Per pod answering only 2xx and 5xx:
 *   requests_per_second + errors_per_second     2  (gauge templates, /error-rate, detection time)
 *   requests_total{2xx,5xx}                     2  (+1 per other class the pod answered)
 *   request_duration_seconds_bucket (5 + +Inf)  6  (latency templates)
 * = 10. The optional parts (error_ratio, the quantile gauges, the histogram's
 * _sum and _count) are switched on in the configuration. docs/metrics.md has
 * the count for every choice and the reasoning behind the buckets.
 */

/** The families served when `collectors.http.metrics` is not set: what every shipped template, panel and rule needs. */
export const DEFAULT_HTTP_METRIC_FAMILIES = [
  'pixie_http_requests_per_second',
  'pixie_http_errors_per_second',
  'pixie_http_requests_total',
  'pixie_http_request_duration_seconds',
] as const satisfies readonly (typeof HTTP_METRIC_FAMILIES)[number][]

/**
 * Default latency histogram buckets, seconds, chosen for canary decisions
 * (docs/metrics.md): 0.025 is the latency-vs-stable floor, 0.25 / 0.5 / 1 are
 * the absolute gates (0.5 the default; a bound above it keeps a p99 beyond
 * the gate from being reported as the gate itself), 0.1 splits the span where
 * most services' p90/p99 lie. Above 0.1 s they are the former defaults' bounds.
 */
export const DEFAULT_BUCKETS_SECONDS = [0.025, 0.1, 0.25, 0.5, 1] as const

/** Whether the latency histogram has `_sum` and `_count` series by default (`collectors.http.histogramSumAndCount`). */
export const DEFAULT_HISTOGRAM_SUM_AND_COUNT = false

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
  metrics: DEFAULT_HTTP_METRIC_FAMILIES,
  histogramSumAndCount: DEFAULT_HISTOGRAM_SUM_AND_COUNT,
} as const

/** The schema of `collectors.http`. */
export function httpOptionsSchema(): SchemaObject {
  return section({
    interval: duration(COLLECTOR_DURATION_RANGES.interval),
    schedule: text(CRON_MESSAGE),
    window: duration(COLLECTOR_DURATION_RANGES.window, { default: HTTP_DEFAULTS.window }),
    errorStatusMin: {
      type: 'integer',
      minimum: 100,
      maximum: 599,
      default: HTTP_DEFAULTS.errorStatusMin,
      [MESSAGE_KEYWORD]: 'must be an integer from 100 to 599',
    },
    namespaces: section({ include: namespaceList(), exclude: namespaceList() }),
    staleAfter: duration(COLLECTOR_DURATION_RANGES.staleAfter),
    timeout: duration(COLLECTOR_DURATION_RANGES.timeout),
    // Written into the script as `#px:set max_output_rows_per_table=<n>`: an integer Pixie reads (int64) and JavaScript prints exactly.
    maxRows: {
      type: 'integer',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      default: HTTP_DEFAULTS.maxRows,
      [MESSAGE_KEYWORD]: `must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}`,
    },
    lag: duration(COLLECTOR_DURATION_RANGES.lag, { default: HTTP_DEFAULTS.lag }),
    maxCatchUp: duration(COLLECTOR_DURATION_RANGES.maxCatchUp, { default: HTTP_DEFAULTS.maxCatchUp }),
    expireAfter: duration(COLLECTOR_DURATION_RANGES.expireAfter, { default: HTTP_DEFAULTS.expireAfter }),
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
      default: [...HTTP_DEFAULTS.metrics],
      minItems: 1,
      uniqueItems: true,
      [MESSAGE_KEYWORD]: 'must be a list of distinct metric family names, at least one',
      items: { enum: [...HTTP_METRIC_FAMILIES], [MESSAGE_KEYWORD]: `must be one of ${HTTP_METRIC_FAMILIES.join(', ')}` },
    },
    histogramSumAndCount: { type: 'boolean', default: HTTP_DEFAULTS.histogramSumAndCount, [MESSAGE_KEYWORD]: 'must be true or false' },
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

export interface HttpCollectorConfig {
  readonly schedule: CollectorSchedule
  /** Window each run aggregates over, ms. Default 30s. */
  readonly windowMs: number
  /** Responses with status >= this are errors. Default 500. */
  readonly errorStatusMin: number
  readonly namespaces: { readonly include: readonly string[]; readonly exclude: readonly string[] }
  /** Drop the series this long after the last success; undefined: 3 intervals of the schedule. */
  readonly staleAfterMs: number | undefined
  /** Deadline of one run, ms; defaults to pixie.timeout. */
  readonly timeoutMs: number
  /** `#px:set max_output_rows_per_table` value. Default 100000. */
  readonly maxRows: number
  /** Counts stop this long before now, so Pixie's data has settled. Default 5s. */
  readonly lagMs: number
  /** After failed runs, the next success counts at most this far back; older time is skipped. Default 5m. */
  readonly maxCatchUpMs: number
  /** A pod's counter and histogram series are removed this long after it was last seen. Default 5m. */
  readonly expireAfterMs: number
  /** Upper bounds of the latency histogram buckets, seconds, strictly increasing (+Inf is implied). */
  readonly bucketsSeconds: readonly number[]
  /**
   * The metric families served (`collectors.http.metrics`). The loaded
   * configuration always has it (default: DEFAULT_HTTP_METRIC_FAMILIES in
   * schema.ts); absent (a collector built directly): all of them.
   */
  readonly metrics?: readonly string[]
  /**
   * Whether the latency histogram has `_sum` and `_count` series
   * (`collectors.http.histogramSumAndCount`; the loaded configuration always
   * has it, default false); absent: true.
   */
  readonly histogramSumAndCount?: boolean
  /** The latency histogram also as a native histogram (protobuf scrapes); absent: classic only. */
  readonly nativeHistogram?: NativeHistogramConfig
}

/** `collectors.http.nativeHistogram` when enabled. */
export interface NativeHistogramConfig {
  /** Exponential schema, 0..8 (8·… buckets per power of two: 2^schema). Default 3. */
  readonly schema: number
  /** Where the classic buckets go in protobuf scrapes. Default `separate`. */
  readonly classicBuckets: 'separate' | 'inline' | 'none'
}
