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
import type { SchemaObject } from 'ajv'
import { BUILT_IN_COLLECTORS, LIBRARY_COLLECTORS } from '../collectors/index.js'
import { CLASSIC_IN_PROTOBUF, HTTP_METRIC_FAMILIES } from '../collectors/http-options.js'
import { MESSAGE_KEYWORD, TIMEOUT_RANGE, duration, pxlSettingsSchema, section, text } from '../collectors/options-schema.js'
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log.js'
import { TLS_MODES, type TlsMode } from '../pixie/tls-modes.js'

/** Names of the library collectors (`collectors.library`), from the collector list. */
const LIBRARY_NAMES: readonly string[] = LIBRARY_COLLECTORS.map((m) => m.name)

/** Accepted values of `collectors.custom[].labels[].transform`. */
export const LABEL_TRANSFORMS = ['strip-namespace', 'service-list', 'route'] as const

/** Accepted values of `collectors.custom[].metrics[].type`. */
export const METRIC_TYPES = ['gauge', 'counter'] as const

// The collectors' option schemas and defaults live with the collectors
// (src/collectors/options-schema.ts, http-options.ts); the configuration
// re-exports what its readers use.
export {
  COLLECTOR_DURATION_RANGES,
  DURATION_KEYWORD,
  MESSAGE_KEYWORD,
  PXL_DEFAULTS,
  durationKeyword,
  durationRangeMessage,
  type DurationRange,
} from '../collectors/options-schema.js'
export {
  CLASSIC_IN_PROTOBUF,
  DEFAULT_BUCKETS_SECONDS,
  DEFAULT_HISTOGRAM_SUM_AND_COUNT,
  DEFAULT_HTTP_INTERVAL,
  DEFAULT_HTTP_METRIC_FAMILIES,
  HTTP_METRIC_FAMILIES,
} from '../collectors/http-options.js'

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
      // The built-in collectors' own sections, from the collector list.
      ...Object.fromEntries(BUILT_IN_COLLECTORS.map((m) => [m.name, m.optionsSchema])),
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
        items: { enum: [...LIBRARY_NAMES], [MESSAGE_KEYWORD]: `must be one of ${LIBRARY_NAMES.join(', ')}` },
      },
      libraryOptions: {
        type: 'object',
        default: {},
        [MESSAGE_KEYWORD]: 'must be a mapping of library collector names to their settings',
        // Each library collector's own options, from the collector list. Other
        // names are reported by collectors.ts, which can say which ones exist and are enabled.
        properties: Object.fromEntries(LIBRARY_COLLECTORS.map((m) => [m.name, m.optionsSchema])),
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
