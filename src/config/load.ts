/**
 * Builds the one validated, deep-frozen {@link Config} from defaults, the YAML
 * file (`--config`), the environment and the flags, in that order of
 * precedence. Every problem is collected and thrown together as a
 * {@link ConfigError}, each line `<field>: <reason>` where the field is named
 * the way the user wrote it: a YAML path, an environment variable or a flag.
 *
 * The sources are read by sources/flags.ts, sources/env.ts and
 * sources/file.ts (which validates the file once against schema.ts) and
 * merged here only, in {@link readSources}; the value parsers they share are
 * in values.ts. docs/architecture.md shows where this sits.
 */
import { readFileSync } from 'node:fs'
import { readFile as readFileAsync } from 'node:fs/promises'
import { ConfigError } from '../errors.js'
import { LOG_FORMATS, LOG_LEVELS } from '../log.js'
import { TLS_MODES, type TlsMode } from '../pixie/tls-modes.js'
import { parseDuration } from '../duration.js'
import { intervalToCron, type CollectorSchedule } from '../scheduler/schedule.js'
import { SECRET_PLACEHOLDER, scrubText } from '../secrets.js'
import { atLeastTheGap, buildPxlCollectors, type FieldParsers } from './collectors.js'
import { CLASSIC_IN_PROTOBUF, DEFAULT_HTTP_INTERVAL, ENV_VARS, FLAGS, LAYERED_SETTINGS, type LayeredSetting } from './schema.js'
import { readEnvironment, type Environment } from './sources/env.js'
import { loadFile, type FileLayer } from './sources/file.js'
import { parseFlags, type Flags } from './sources/flags.js'
import type { Config } from './types.js'
import {
  cronExpression,
  duration,
  hostPort,
  Invalid,
  listenAddress,
  oneOf,
  resolve,
  tryRead,
  uuid,
  type Resolved,
  type Source,
} from './values.js'

/** Inputs of {@link loadConfig}; everything the process provides is injected. */
export interface LoadConfigOptions {
  /** Command-line arguments: `process.argv.slice(2)` without the subcommand. */
  readonly argv: readonly string[]
  /** The environment, usually `process.env`. Empty values count as unset. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Reads a UTF-8 file (config, API key, CA). Default `fs.readFileSync(path, 'utf8')`. */
  readonly readFile?: (path: string) => string
}

/** Result of {@link loadConfig}. */
export interface LoadedConfig {
  /** The validated, deep-frozen configuration. */
  readonly config: Config
  /** `--check-config` was given: validate, report and exit without starting. */
  readonly checkOnly: boolean
  /** `--web.enable-lifecycle` was given: serve `POST /-/reload` (off by default, as in Prometheus). */
  readonly enableLifecycle: boolean
  /** Path of the configuration file that was read, if any. */
  readonly configFile: string | undefined
}

/**
 * The three sources, read once, and the one place they are merged: for a
 * setting of LAYERED_SETTINGS, its provided values, highest precedence first
 * (flag, environment, file). Every other setting comes from the file alone.
 */
interface Sources {
  readonly flags: Flags
  readonly env: Environment
  readonly file: FileLayer
  /** Where the file's path came from: `--config` or PIXIE_EXPORTER_CONFIG. */
  readonly configSource: Source | undefined
  /** The provided values of `key`, highest precedence first (the first defined one wins). */
  layers(key: LayeredSetting): readonly (Source | undefined)[]
  /** How to set `key`, for a "required" message: `PX_CLUSTER_ID, --pixie.cluster-id or pixie.clusterId`. */
  where(key: LayeredSetting): string
}

function readSources(options: LoadConfigOptions, readFile: (path: string) => string, errors: string[]): Sources {
  const flags = parseFlags(options.argv, errors)
  const env = readEnvironment(options.env, errors)
  const configSource = flags.get(FLAGS.config) ?? env.get(ENV_VARS.config)
  const file = loadFile(configSource, readFile, errors)
  return {
    flags,
    env,
    file,
    configSource,
    layers(key) {
      const { flag, env: variable } = LAYERED_SETTINGS[key]
      return [flags.get(flag), env.get(variable), file.text(key)]
    },
    where(key) {
      const { flag, env: variable } = LAYERED_SETTINGS[key]
      return `${variable}, --${flag} or ${key}`
    },
  }
}

/** Stand-in for the API key wherever the configuration is shown. */
export const REDACTED = SECRET_PLACEHOLDER


// gRPC metadata values must be printable ASCII; spaces would be trimmed by proxies.
const API_KEY_PATTERN = /^[\x21-\x7e]+$/
const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----'

/**
 * Loads and validates the configuration. Sources, lowest precedence first:
 * schema defaults, the YAML file (`--config` or `PIXIE_EXPORTER_CONFIG`), the
 * environment, the flags.
 *
 * @throws ConfigError listing every problem found; the API key never appears in it.
 */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const errors: string[] = []
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'))

  const sources = readSources(options, readFile, errors)
  const { flags, env, file, configSource } = sources

  // Every key read from a key file, valid or not: never echoed in an error.
  const keyTexts: string[] = []
  const pixie = buildPixie(sources, readFile, errors, keyTexts)
  const http = buildHttpCollector(file, pixie.timeoutMs, errors)
  const pxl = buildPxlCollectors(
    {
      custom: file.value('collectors.custom'),
      library: file.value('collectors.library'),
      libraryOptions: file.value('collectors.libraryOptions'),
      rejected: (path) => file.rejected(path),
      pixieTimeoutMs: pixie.timeoutMs,
    },
    fieldParsers(readFile, errors),
    errors,
  )
  const web = buildWeb(sources, readFile, errors)
  const level = resolve(errors, sources.layers('log.level'), (text) =>
    oneOf(text, LOG_LEVELS),
  )
  const format = resolve(errors, sources.layers('log.format'), (text) =>
    oneOf(text, LOG_FORMATS),
  )

  if (errors.length > 0) throw new ConfigError(scrubSecrets(dedupe(errors), [...secretsOf(env, file), ...keyTexts]))

  const config: Config = {
    pixie: pixie as Config['pixie'],
    collectors: { http: http as Config['collectors']['http'], custom: pxl.custom, library: pxl.library },
    web: web as Config['web'],
    log: { level: level?.value ?? 'info', format: format?.value ?? 'json' },
  }
  return {
    config: deepFreeze(config),
    checkOnly: flags.checkOnly,
    enableLifecycle: flags.enableLifecycle,
    configFile: configSource?.value,
  }
}

/** Options of {@link loadConfigAsync}: as {@link LoadConfigOptions}, with an asynchronous reader. */
export interface LoadConfigAsyncOptions extends Omit<LoadConfigOptions, 'readFile'> {
  /** Reads a UTF-8 file. Default `fs.promises.readFile(path, 'utf8')`. */
  readonly readFile?: (path: string) => Promise<string>
}

/** Thrown by the reader {@link loadConfigAsync} hands to loadConfig for a file not read yet. */
class NotReadYet extends Error {}

/**
 * {@link loadConfig} with every file read asynchronously, so that a slow or
 * blocking file (a FIFO, a hung network mount) never holds up the event loop
 * and the HTTP server keeps answering, e.g. while a reload waits for it.
 * Validation runs until it needs a file not read yet; the files it asked for
 * are then read (in parallel) and validation runs again. Each round reads at
 * least one new file and the configuration names only a few (the file, the
 * key file, the CA, PxL scripts), so it takes two or three rounds.
 */
export async function loadConfigAsync(options: LoadConfigAsyncOptions): Promise<LoadedConfig> {
  const read = options.readFile ?? ((path: string) => readFileAsync(path, 'utf8'))
  const files = new Map<string, { readonly text: string } | { readonly error: unknown }>()
  for (;;) {
    const wanted = new Set<string>()
    const readFile = (path: string): string => {
      const got = files.get(path)
      if (got === undefined) {
        wanted.add(path)
        throw new NotReadYet(path)
      }
      if ('error' in got) throw got.error
      return got.text
    }
    let loaded: LoadedConfig | undefined
    let failure: unknown
    try {
      loaded = loadConfig({ argv: options.argv, env: options.env, readFile })
    } catch (err) {
      failure = err
    }
    if (wanted.size === 0) {
      if (loaded === undefined) throw failure
      return loaded
    }
    await Promise.all(
      [...wanted].map(async (path) => {
        try {
          files.set(path, { text: await read(path) })
        } catch (error) {
          files.set(path, { error })
        }
      }),
    )
  }
}

/**
 * A copy of `config` that is safe to log or serve: the API key, when set, is
 * replaced by `<secret>`.
 */
export function redactConfig(config: Config): unknown {
  const copy = structuredClone(config) as { pixie: { apiKey: string | undefined } }
  if (copy.pixie.apiKey !== undefined) copy.pixie.apiKey = REDACTED
  return copy
}


// ---------------------------------------------------------------- pixie

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

function buildPixie(
  sources: Sources,
  readFile: (path: string) => string,
  errors: string[],
  keyTexts: string[],
): Partial<Mutable<Config['pixie']>> {
  const { env, file } = sources
  const address = resolve(errors, sources.layers('pixie.address'), (text) =>
    hostPort(text, 1, 'must be host:port (e.g. work.withpixie.ai:443)'),
  )
  const clusterId = resolve(errors, sources.layers('pixie.clusterId'), uuid)
  // No "required" error when the file could not be used or its value was
  // rejected: that problem is already reported.
  if (clusterId === undefined && file.usable && !file.rejected('pixie.clusterId')) {
    errors.push(`pixie.clusterId: required (set ${sources.where('pixie.clusterId')})`)
  }
  const tls = resolve(errors, sources.layers('pixie.tls'), (text) => oneOf(text, TLS_MODES))
  // Unknown when the winning value is invalid, so that no rule depending on
  // the mode adds a second, misleading error.
  const tlsMode: TlsMode | undefined = tls === undefined ? (file.rejected('pixie.tls') ? undefined : 'verify') : tls.value

  const caFile = resolve(errors, sources.layers('pixie.caFile'), (text) => text)
  if (caFile?.value !== undefined) {
    if (tls !== undefined && tlsMode !== undefined && tlsMode !== 'verify') {
      errors.push(`${caFile.label}: only allowed with TLS mode verify (${tls.label} is ${tlsMode})`)
    } else {
      const pem = tryRead(caFile, caFile.value, readFile, errors)
      if (pem !== undefined && !pem.includes(PEM_CERTIFICATE)) errors.push(`${caFile.label}: ${caFile.value} holds no PEM certificate`)
    }
  }

  const apiKey = resolveApiKey(env, file, readFile, errors, keyTexts)
  const keyRejected = file.rejected('pixie.apiKey') || file.rejected('pixie.apiKeyFile')
  if (apiKey === undefined && file.usable && !keyRejected && tlsMode !== undefined && tlsMode !== 'plaintext') {
    errors.push(`pixie.apiKey: required (set ${ENV_VARS.apiKey}, pixie.apiKey or pixie.apiKeyFile)`)
  }

  const timeout = fileDuration(file, 'pixie.timeout')

  return {
    ...(address?.value !== undefined && { address: address.value.address }),
    ...(clusterId?.value !== undefined && { clusterId: clusterId.value }),
    apiKey: apiKey?.value,
    ...(tlsMode !== undefined && { tls: tlsMode }),
    caFile: caFile?.value,
    ...(timeout?.value !== undefined && { timeoutMs: timeout.value }),
    encryption: file.value('pixie.encryption') === true,
    simulated: file.value('pixie.simulated') === true,
  }
}

/**
 * The API key from the environment (`PX_API_KEY` or the key file variable)
 * or else the file (`pixie.apiKey` or `pixie.apiKeyFile`). Within one layer
 * the two forms conflict; only the winning key file is read.
 */
function resolveApiKey(
  env: Environment,
  file: FileLayer,
  readFile: (path: string) => string,
  errors: string[],
  keyTexts: string[],
): Resolved<string> | undefined {
  const layers = [
    [env.get(ENV_VARS.apiKey), env.get(ENV_VARS.apiKeyFile)],
    [file.text('pixie.apiKey'), file.text('pixie.apiKeyFile')],
  ] as const
  let winner: Resolved<string> | undefined
  for (const [inline, keyFile] of layers) {
    if (inline !== undefined && keyFile !== undefined) {
      errors.push(`${inline.label}: conflicts with ${keyFile.label} (set only one)`)
      winner ??= { label: inline.label, value: undefined }
      continue
    }
    if (inline !== undefined) {
      const valid = API_KEY_PATTERN.test(inline.value)
      if (!valid) errors.push(`${inline.label}: must be printable ASCII without spaces`)
      winner ??= { label: inline.label, value: valid ? inline.value : undefined }
    } else if (keyFile !== undefined && winner === undefined) {
      winner = { label: keyFile.label, value: readKeyFile(keyFile, readFile, errors, keyTexts) }
    }
  }
  return winner
}

function readKeyFile(source: Source, readFile: (path: string) => string, errors: string[], keyTexts: string[]): string | undefined {
  const content = tryRead(source, source.value, readFile, errors)
  if (content === undefined) return undefined
  // Secrets mounted from Kubernetes or written by `echo` end with a newline.
  const key = content.trim()
  // The whole key, and each of its lines and words should it be malformed.
  keyTexts.push(key, ...key.split(/\s+/))
  if (key === '') {
    errors.push(`${source.label}: ${source.value} is empty`)
    return undefined
  }
  if (!API_KEY_PATTERN.test(key)) {
    errors.push(`${source.label}: the key in ${source.value} must be printable ASCII without spaces`)
    return undefined
  }
  return key
}

// ---------------------------------------------------------------- collectors

/**
 * A duration from the file, in ms. The schema has checked its grammar and
 * its range (DURATION_KEYWORD); a value it rejected is absent here.
 */
function fileDuration(file: FileLayer, path: string): Resolved<number> | undefined {
  const source = file.text(path)
  // Cannot throw for a value the schema accepted.
  return source === undefined ? undefined : { label: source.label, value: parseDuration(source.value) }
}

function buildHttpCollector(
  file: FileLayer,
  pixieTimeoutMs: number | undefined,
  errors: string[],
): Partial<Mutable<Config['collectors']['http']>> {
  const interval = file.text('collectors.http.interval')
  const scheduleText = file.text('collectors.http.schedule')
  const fallback = file.rejected('collectors.http.interval') ? undefined : { label: 'collectors.http.interval', value: DEFAULT_HTTP_INTERVAL }
  const schedule = parseSchedule(errors, interval, scheduleText, fallback, 'collectors.http.schedule')

  const window = fileDuration(file, 'collectors.http.window')
  const timeout = fileDuration(file, 'collectors.http.timeout')
  const staleAfter = fileDuration(file, 'collectors.http.staleAfter')
  const least = schedule === undefined ? undefined : atLeastTheGap(schedule)
  if (staleAfter?.value !== undefined && least !== undefined && staleAfter.value < least.ms) {
    errors.push(`collectors.http.staleAfter: ${least.reason}`)
  }

  const lag = fileDuration(file, 'collectors.http.lag')
  const maxCatchUp = fileDuration(file, 'collectors.http.maxCatchUp')
  const expireAfter = fileDuration(file, 'collectors.http.expireAfter')
  if (expireAfter?.value !== undefined && least !== undefined && expireAfter.value < least.ms) {
    errors.push(`collectors.http.expireAfter: ${least.reason}`)
  }
  const bucketList = file.value('collectors.http.buckets')
  const buckets = Array.isArray(bucketList) ? bucketList.filter((b): b is number => typeof b === 'number') : undefined
  if (buckets !== undefined && !file.rejected('collectors.http.buckets')) bucketProblems(buckets, 'collectors.http.buckets', errors)

  const include = stringList(file.value('collectors.http.namespaces.include'))
  const exclude = stringList(file.value('collectors.http.namespaces.exclude'))
  for (const ns of include) {
    if (exclude.includes(ns)) errors.push(`collectors.http.namespaces: ${JSON.stringify(ns)} is in both include and exclude`)
  }

  const timeoutMs = timeout?.value ?? pixieTimeoutMs
  const errorStatusMin = file.value('collectors.http.errorStatusMin')
  const metricList = file.value('collectors.http.metrics')
  const metrics = Array.isArray(metricList) ? metricList.filter((m): m is string => typeof m === 'string') : undefined
  const nativeEnabled = file.value('collectors.http.nativeHistogram.enabled')
  const nativeSchema = file.value('collectors.http.nativeHistogram.schema')
  const classicBuckets = file.value('collectors.http.nativeHistogram.classicBuckets')
  const nativeHistogram =
    nativeEnabled === true && typeof nativeSchema === 'number' && CLASSIC_IN_PROTOBUF.some((c) => c === classicBuckets)
      ? { schema: nativeSchema, classicBuckets: classicBuckets as (typeof CLASSIC_IN_PROTOBUF)[number] }
      : undefined
  if (nativeHistogram !== undefined && metrics !== undefined && !metrics.includes('pixie_http_request_duration_seconds')) {
    errors.push('collectors.http.nativeHistogram: enabled, but collectors.http.metrics leaves out pixie_http_request_duration_seconds')
  }
  const maxRows = file.value('collectors.http.maxRows')
  const histogramSumAndCount = file.value('collectors.http.histogramSumAndCount')
  return {
    ...(schedule !== undefined && { schedule }),
    ...(window?.value !== undefined && { windowMs: window.value }),
    ...(typeof errorStatusMin === 'number' && { errorStatusMin }),
    namespaces: { include, exclude },
    staleAfterMs: staleAfter?.value,
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(typeof maxRows === 'number' && { maxRows }),
    ...(lag?.value !== undefined && { lagMs: lag.value }),
    ...(maxCatchUp?.value !== undefined && { maxCatchUpMs: maxCatchUp.value }),
    ...(expireAfter?.value !== undefined && { expireAfterMs: expireAfter.value }),
    ...(buckets !== undefined && { bucketsSeconds: buckets }),
    ...(metrics !== undefined && { metrics }),
    ...(typeof histogramSumAndCount === 'boolean' && { histogramSumAndCount }),
    ...(nativeHistogram !== undefined && { nativeHistogram }),
  }
}

/** Largest bucket bound, seconds: Pixie counts latencies in int64 nanoseconds. */
const MAX_BUCKET_SECONDS = 9_223_372_036

/**
 * Bucket bounds are compared with Pixie's latencies in whole nanoseconds
 * (the PxL script holds them as int64 literals), so each must be at least
 * 1ns, fit an int64, and the bounds must stay strictly increasing once
 * rounded to nanoseconds.
 */
function bucketProblems(buckets: readonly number[], field: string, errors: string[]): void {
  const ns: (number | undefined)[] = buckets.map((b, i) => {
    // Zero and negative bounds are reported by the schema.
    if (b <= 0) return undefined
    if (!Number.isFinite(b) || b > MAX_BUCKET_SECONDS) {
      errors.push(`${field}[${i}]: must be at most ${MAX_BUCKET_SECONDS} seconds (Pixie counts latencies in int64 nanoseconds)`)
      return undefined
    }
    const n = Math.round(b * 1e9)
    if (n < 1) {
      errors.push(`${field}[${i}]: must be at least 1ns (0.000000001 seconds)`)
      return undefined
    }
    return n
  })
  if (buckets.some((b, i) => i > 0 && b <= (buckets[i - 1] ?? 0))) {
    errors.push(`${field}: must be strictly increasing`)
    return
  }
  for (let i = 1; i < ns.length; i++) {
    const a = ns[i - 1]
    const b = ns[i]
    if (a !== undefined && b !== undefined && b <= a) {
      errors.push(`${field}: ${buckets[i - 1]} and ${buckets[i]} are the same bound in nanoseconds (bounds must be at least 1ns apart)`)
    }
  }
}

/** The strings of a list the schema accepted; `[]` for anything else (already reported). */
function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
}

/**
 * A collector's `interval` or cron `schedule` (they conflict); `fallback`
 * (the default interval) when neither is set. `scheduleKey` is suggested
 * for cadences an interval cannot express.
 */
function parseSchedule(
  errors: string[],
  interval: Source | undefined,
  scheduleText: Source | undefined,
  fallback: Source | undefined,
  scheduleKey: string,
): CollectorSchedule | undefined {
  if (interval !== undefined && scheduleText !== undefined) {
    errors.push(`${interval.label}: conflicts with ${scheduleText.label} (set only one)`)
    return undefined
  }
  if (scheduleText !== undefined) {
    const cron = resolve(errors, [scheduleText], cronExpression)
    return cron?.value === undefined ? undefined : { kind: 'cron', cron: cron.value }
  }
  const source = interval ?? fallback
  return source === undefined ? undefined : resolve(errors, [source], (text) => intervalSchedule(text, scheduleKey))?.value
}

function intervalSchedule(text: string, scheduleKey: string): CollectorSchedule {
  // The schema has checked the grammar and the minimum (1s) of a value from the file.
  const intervalMs = duration(text)
  const cron = intervalToCron(intervalMs)
  if (cron === undefined) {
    throw new Invalid(`must divide a minute, an hour or a day evenly (e.g. 10s, 15s, 30s, 1m, 5m); use ${scheduleKey} for other cadences`)
  }
  return { kind: 'interval', intervalMs, cron }
}

/** The value parsers handed to collectors.ts, reporting onto `errors` with the same messages as here. */
function fieldParsers(readFile: (path: string) => string, errors: string[]): FieldParsers {
  return {
    duration: (source) => (source === undefined ? undefined : resolve(errors, [source], duration)?.value),
    schedule: (interval, scheduleText, fallback, scheduleKey) => parseSchedule(errors, interval, scheduleText, fallback, scheduleKey),
    readFile: (source) => tryRead(source, source.value, readFile, errors),
  }
}


// ---------------------------------------------------------------- web

function buildWeb(
  sources: Sources,
  readFile: (path: string) => string,
  errors: string[],
): Partial<Mutable<Config['web']>> {
  const listen = resolve(
    errors,
    sources.layers('web.listenAddress'),
    (text) => listenAddress(text),
  )
  // Parsed by the CLI (src/server/web-config.ts); here only checked to be readable.
  const configFile = resolve(errors, sources.layers('web.configFile'), (text) => text)
  if (configFile?.value !== undefined) tryRead(configFile, configFile.value, readFile, errors)
  if (listen?.value === undefined) return {}
  return { listenAddress: listen.value.address, host: listen.value.host, port: listen.value.port, configFile: configFile?.value }
}



function secretsOf(env: Environment, file: FileLayer): string[] {
  return [env.get(ENV_VARS.apiKey)?.value, file.value('pixie.apiKey')].filter((s): s is string => typeof s === 'string')
}

/** Last line of defence: no message we write quotes the key, but a key pasted into another field would be. */
function scrubSecrets(lines: readonly string[], secrets: readonly string[]): string[] {
  // Longest first, so that a key is never half-replaced by a shorter part of it.
  const ordered = [...new Set(secrets)].sort((a, b) => b.length - a.length)
  return lines.map((line) => scrubText(line, ordered))
}

function dedupe(lines: readonly string[]): string[] {
  return [...new Set(lines)]
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
