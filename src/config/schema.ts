/**
 * The shape of the YAML configuration file as a JSON Schema, with the
 * defaults of every key that has a fixed one, and the names of the
 * environment variables and flags that can override some of those keys.
 *
 * The schema checks structure and per-key rules (types, enums, ranges,
 * namespace names, durations and their ranges through {@link DURATION_KEYWORD});
 * rules that also apply to values from the environment or flags
 * (`host:port`, UUID; see {@link LAYERED_SETTINGS}) live in values.ts so
 * they run once for every source, and cross-key rules in load.ts.
 */
import { DEFAULT_NATIVE_SCHEMA, MAX_NATIVE_SCHEMA, MIN_NATIVE_SCHEMA } from '../metrics/native-histogram.js'
import type { ErrorObject, KeywordDefinition, SchemaObject } from 'ajv'
import { parseDuration } from '../duration.js'
import { LIBRARY_NAMES } from '../collectors/library/index.js'
import { NAMESPACE_PATTERN } from '../pixie/scripts/http-pod-stats.js'
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log.js'
import { TLS_MODES, type TlsMode } from '../pixie/tls-modes.js'

/** Names of the built-in library collectors (`collectors.library`): the keys of LIBRARY. */
export const LIBRARY_COLLECTORS: readonly string[] = LIBRARY_NAMES

/** Library collectors that take `routes` settings (they have a label with the `route` transform). */
export const ROUTE_LIBRARY_COLLECTORS: readonly string[] = ['http_endpoint']

/**
 * Defaults of the settings shared by custom and library collectors. Applied
 * in collectors.ts rather than by the schema, because a library collector
 * without a `libraryOptions` entry has no mapping to fill in.
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

/** Accepted values of `collectors.custom[].labels[].transform`. */
export const LABEL_TRANSFORMS = ['strip-namespace', 'service-list', 'route'] as const

/** Accepted values of `collectors.custom[].metrics[].type`. */
export const METRIC_TYPES = ['gauge', 'counter'] as const

/**
 * `collectors.http.interval` when neither it nor `collectors.http.schedule`
 * is set. Not a schema default because the two keys exclude each other.
 */
export const DEFAULT_HTTP_INTERVAL = '5s'

/**
 * Schema keyword holding the message for any failure of the subschema it sits
 * in, so the readable message is written next to the rule it explains.
 * Annotation only: it never fails validation by itself.
 */
export const MESSAGE_KEYWORD = 'x-message'

/** Environment variables read by loadConfig. Every other `PIXIE_EXPORTER_*` variable is an error. */
export const ENV_VARS = {
  /** The Pixie API key (name kept from the original demo). */
  apiKey: 'PX_API_KEY',
  /** The cluster UUID (name kept from the original demo). */
  clusterId: 'PX_CLUSTER_ID',
  /** Pixie Cloud `host:port` (name kept from the original demo). */
  address: 'PX_CLOUD_ADDR',
  apiKeyFile: 'PIXIE_EXPORTER_API_KEY_FILE',
  tls: 'PIXIE_EXPORTER_TLS',
  caFile: 'PIXIE_EXPORTER_CA_FILE',
  listenAddress: 'PIXIE_EXPORTER_LISTEN_ADDRESS',
  logLevel: 'PIXIE_EXPORTER_LOG_LEVEL',
  logFormat: 'PIXIE_EXPORTER_LOG_FORMAT',
  webConfigFile: 'PIXIE_EXPORTER_WEB_CONFIG_FILE',
  /** Path of the YAML configuration file (`--config` wins). */
  config: 'PIXIE_EXPORTER_CONFIG',
} as const

/** Prefix reserved for this exporter's environment variables. */
export const ENV_PREFIX = 'PIXIE_EXPORTER_'

/** Command-line flags (without the leading `--`). There is deliberately no flag for the API key. */
export const FLAGS = {
  config: 'config',
  checkConfig: 'check-config',
  /** Serve `POST /-/reload` (as Prometheus' flag of that name); SIGHUP always reloads. */
  enableLifecycle: 'web.enable-lifecycle',
  listenAddress: 'web.listen-address',
  logLevel: 'log.level',
  logFormat: 'log.format',
  address: 'pixie.address',
  clusterId: 'pixie.cluster-id',
  tls: 'pixie.tls',
  caFile: 'pixie.ca-file',
  webConfigFile: 'web.config.file',
} as const

/**
 * The settings the flags and the environment can also set: each file key
 * with its flag and its variable. The one table of where a setting may come
 * from; precedence is flag, then environment, then file, then the schema's
 * default (src/config/load.ts merges them in that one order). The API key
 * is not here: it has no flag, and its environment and file forms pair a
 * value with a key file (see load.ts, resolveApiKey).
 */
export const LAYERED_SETTINGS = {
  'pixie.address': { flag: FLAGS.address, env: ENV_VARS.address },
  'pixie.clusterId': { flag: FLAGS.clusterId, env: ENV_VARS.clusterId },
  'pixie.tls': { flag: FLAGS.tls, env: ENV_VARS.tls },
  'pixie.caFile': { flag: FLAGS.caFile, env: ENV_VARS.caFile },
  'web.listenAddress': { flag: FLAGS.listenAddress, env: ENV_VARS.listenAddress },
  'web.configFile': { flag: FLAGS.webConfigFile, env: ENV_VARS.webConfigFile },
  'log.level': { flag: FLAGS.logLevel, env: ENV_VARS.logLevel },
  'log.format': { flag: FLAGS.logFormat, env: ENV_VARS.logFormat },
} as const

/** A key of {@link LAYERED_SETTINGS}. */
export type LayeredSetting = keyof typeof LAYERED_SETTINGS

/**
 * The configuration file after schema validation and defaults. Durations are
 * still text here; load.ts parses them.
 */
export interface ConfigFile {
  readonly pixie: {
    readonly address: string
    readonly clusterId?: string
    readonly apiKey?: string
    readonly apiKeyFile?: string
    readonly tls: TlsMode
    readonly caFile?: string
    readonly timeout: string
    readonly encryption: boolean
    readonly simulated: boolean
  }
  readonly collectors: {
    readonly http: {
      readonly interval?: string
      readonly schedule?: string
      readonly window: string
      readonly errorStatusMin: number
      readonly namespaces: { readonly include: readonly string[]; readonly exclude: readonly string[] }
      readonly staleAfter?: string
      readonly timeout?: string
      readonly maxRows: number
      readonly lag: string
      readonly maxCatchUp: string
      readonly expireAfter: string
      readonly buckets: readonly number[]
      readonly metrics: readonly (typeof HTTP_METRIC_FAMILIES)[number][]
      readonly histogramSumAndCount: boolean
      readonly nativeHistogram?: { readonly enabled: boolean; readonly schema: number; readonly classicBuckets: (typeof CLASSIC_IN_PROTOBUF)[number] }
    }
    readonly custom: readonly CustomCollectorFile[]
    readonly library: readonly string[]
    readonly libraryOptions: Readonly<Record<string, PxlSettingsFile>>
  }
  readonly web: { readonly listenAddress: string; readonly configFile?: string }
  readonly log: { readonly level: LogLevel; readonly format: LogFormat }
}

/** Settings shared by custom and library collectors, as in the file (durations are text). */
export interface PxlSettingsFile {
  readonly interval?: string
  readonly schedule?: string
  readonly timeout?: string
  readonly window?: string
  readonly lag?: string
  readonly maxCatchUp?: string
  readonly staleAfter?: string
  readonly expireAfter?: string
  readonly staticLabels?: Readonly<Record<string, string>>
  readonly maxSeries?: number
  readonly routes?: { readonly patterns: readonly string[]; readonly maxRoutes?: number }
}

/** One entry of `collectors.custom` after schema validation (required keys are checked in load). */
export interface CustomCollectorFile extends PxlSettingsFile {
  readonly name?: string
  readonly pxl?: string
  readonly pxlFile?: string
  readonly table?: string
  readonly labels: readonly { readonly column?: string; readonly label?: string; readonly transform?: (typeof LABEL_TRANSFORMS)[number] }[]
  readonly metrics?: readonly {
    readonly column?: string
    readonly name?: string
    readonly help?: string
    readonly type?: (typeof METRIC_TYPES)[number]
    readonly scale: number
  }[]
}

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

const DURATION_MESSAGE = 'must be a duration (e.g. 500ms, 10s, 1m30s, 2h, 1d)'

function section(properties: Record<string, SchemaObject>): SchemaObject {
  // `default: {}` makes Ajv create a missing section and then fill in the
  // defaults of its keys, so an empty file yields every default.
  return { type: 'object', default: {}, additionalProperties: false, properties }
}

function text(message: string, extra: SchemaObject = {}): SchemaObject {
  return { type: 'string', minLength: 1, [MESSAGE_KEYWORD]: message, ...extra }
}

/**
 * Schema keyword of a duration field (src/duration.ts grammar) and its
 * range: the one place each range is declared. Checked by Ajv through
 * {@link durationKeyword}; its failures carry their own message (see
 * {@link durationRangeMessage}).
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
const TIMEOUT_RANGE: DurationRange = { positive: true, max: '10m' }

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

function duration(range: DurationRange = {}, extra: SchemaObject = {}): SchemaObject {
  return text(DURATION_MESSAGE, { [DURATION_KEYWORD]: range, ...extra })
}

function namespaceList(): SchemaObject {
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

/** Keys shared by custom and library collectors. */
function pxlSettingsSchema(): Record<string, SchemaObject> {
  return {
    interval: duration(COLLECTOR_DURATION_RANGES.interval),
    schedule: text('must be a cron expression with 6 fields (second minute hour day-of-month month day-of-week)'),
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

function customCollectorSchema(): SchemaObject {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: text('must be a collector name: lower-case letters, digits and "_", starting with a letter', { pattern: '^[a-z][a-z0-9_]*$' }),
      pxl: text('must be the PxL script as text'),
      pxlFile: text('must be a file path'),
      table: text('must be the name of a table the script displays with px.display'),
      ...pxlSettingsSchema(),
      labels: {
        type: 'array',
        default: [],
        [MESSAGE_KEYWORD]: 'must be a list of label mappings',
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            column: text('must be a column name'),
            label: text('must be a label name'),
            transform: { enum: [...LABEL_TRANSFORMS], [MESSAGE_KEYWORD]: `must be one of ${LABEL_TRANSFORMS.join(', ')}` },
          },
        },
      },
      metrics: {
        type: 'array',
        minItems: 1,
        [MESSAGE_KEYWORD]: 'must be a list of at least one metric mapping',
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            column: text('must be a column name'),
            name: text('must be a metric name'),
            help: text('must be a non-empty string'),
            type: { enum: [...METRIC_TYPES], [MESSAGE_KEYWORD]: `must be one of ${METRIC_TYPES.join(', ')}` },
            scale: { type: 'number', exclusiveMinimum: 0, default: 1, [MESSAGE_KEYWORD]: 'must be a number greater than 0' },
          },
        },
      },
    },
  }
}

/** JSON Schema of the configuration file (draft-07 subset understood by Ajv). */
export const CONFIG_FILE_SCHEMA: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pixie: section({
      address: text('must be host:port (e.g. work.withpixie.ai:443)', { default: 'work.withpixie.ai:443' }),
      clusterId: text('must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)'),
      apiKey: text('must be a non-empty string'),
      apiKeyFile: text('must be a file path'),
      tls: { enum: [...TLS_MODES], default: 'verify', [MESSAGE_KEYWORD]: `must be one of ${TLS_MODES.join(', ')}` },
      caFile: text('must be a file path'),
      timeout: duration(TIMEOUT_RANGE, { default: '10s' }),
      encryption: { type: 'boolean', default: false, [MESSAGE_KEYWORD]: 'must be true or false' },
      simulated: { type: 'boolean', default: false, [MESSAGE_KEYWORD]: 'must be true or false' },
    }),
    collectors: section({
      http: section({
        interval: duration(COLLECTOR_DURATION_RANGES.interval),
        schedule: text('must be a cron expression with 6 fields (second minute hour day-of-month month day-of-week)'),
        window: duration(COLLECTOR_DURATION_RANGES.window, { default: '10s' }),
        errorStatusMin: {
          type: 'integer',
          minimum: 100,
          maximum: 599,
          default: 500,
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
          default: 100_000,
          [MESSAGE_KEYWORD]: `must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}`,
        },
        lag: duration(COLLECTOR_DURATION_RANGES.lag, { default: '5s' }),
        maxCatchUp: duration(COLLECTOR_DURATION_RANGES.maxCatchUp, { default: '5m' }),
        expireAfter: duration(COLLECTOR_DURATION_RANGES.expireAfter, { default: '5m' }),
        buckets: {
          type: 'array',
          minItems: 1,
          maxItems: 40,
          default: [...DEFAULT_BUCKETS_SECONDS],
          [MESSAGE_KEYWORD]: 'must be a list of 1 to 40 bucket bounds in seconds',
          items: { type: 'number', exclusiveMinimum: 0, [MESSAGE_KEYWORD]: 'must be a number of seconds greater than 0' },
        },
        metrics: {
          type: 'array',
          default: [...DEFAULT_HTTP_METRIC_FAMILIES],
          minItems: 1,
          uniqueItems: true,
          [MESSAGE_KEYWORD]: 'must be a list of distinct metric family names, at least one',
          items: { enum: [...HTTP_METRIC_FAMILIES], [MESSAGE_KEYWORD]: `must be one of ${HTTP_METRIC_FAMILIES.join(', ')}` },
        },
        histogramSumAndCount: { type: 'boolean', default: DEFAULT_HISTOGRAM_SUM_AND_COUNT, [MESSAGE_KEYWORD]: 'must be true or false' },
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
      }),
      custom: {
        type: 'array',
        default: [],
        [MESSAGE_KEYWORD]: 'must be a list of collectors',
        items: customCollectorSchema(),
      },
      library: {
        type: 'array',
        default: [],
        [MESSAGE_KEYWORD]: 'must be a list of library collector names',
        items: { enum: [...LIBRARY_COLLECTORS], [MESSAGE_KEYWORD]: `must be one of ${LIBRARY_COLLECTORS.join(', ')}` },
      },
      libraryOptions: {
        type: 'object',
        default: {},
        [MESSAGE_KEYWORD]: 'must be a mapping of library collector names to their settings',
        // Names are checked in load.ts, which can say which ones exist and are enabled.
        additionalProperties: { type: 'object', additionalProperties: false, properties: pxlSettingsSchema() },
      },
    }),
    web: section({
      listenAddress: text('must be host:port or :port (e.g. 0.0.0.0:10049, :10049 or [::1]:10049)', { default: '0.0.0.0:10049' }),
      configFile: text('must be a file path'),
    }),
    log: section({
      level: { enum: [...LOG_LEVELS], default: 'info', [MESSAGE_KEYWORD]: `must be one of ${LOG_LEVELS.join(', ')}` },
      format: { enum: [...LOG_FORMATS], default: 'json', [MESSAGE_KEYWORD]: `must be one of ${LOG_FORMATS.join(', ')}` },
    }),
  },
}
