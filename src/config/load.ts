/**
 * Builds the one validated, deep-frozen {@link Config} from defaults, the YAML
 * file (`--config`), the environment and the flags, in that order of
 * precedence. Every problem is collected and thrown together as a
 * {@link ConfigError}, each line `<field>: <reason>` where the field is named
 * the way the user wrote it: a YAML path, an environment variable or a flag.
 */
import { readFileSync } from 'node:fs'
import { readFile as readFileAsync } from 'node:fs/promises'
import { isIP } from 'node:net'
import { parseArgs } from 'node:util'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { validateDetailed } from 'node-cron'
import { LineCounter, isScalar, parseDocument, visit, type Document } from 'yaml'
import { ConfigError } from '../errors.js'
import { SECRET_PLACEHOLDER, scrubText } from '../secrets.js'
import { atLeastTheGap, buildPxlCollectors, type FieldParsers } from './collectors.js'
import { parseDuration } from './duration.js'
import {
  CONFIG_FILE_SCHEMA,
  DEFAULT_HTTP_INTERVAL,
  CLASSIC_IN_PROTOBUF,
  ENV_PREFIX,
  ENV_VARS,
  FLAGS,
  LOG_FORMATS,
  LOG_LEVELS,
  MESSAGE_KEYWORD,
  TLS_MODES,
  type ConfigFile,
} from './schema.js'
import type { CollectorSchedule, Config, TlsMode } from './types.js'

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

/** Stand-in for the API key wherever the configuration is shown. */
export const REDACTED = SECRET_PLACEHOLDER

const MAX_TIMEOUT_MS = 10 * 60_000
const MIN_INTERVAL_MS = 1_000
const MIN_WINDOW_MS = 1_000
const MAX_WINDOW_MS = 3_600_000

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// gRPC metadata values must be printable ASCII; spaces would be trimmed by proxies.
const API_KEY_PATTERN = /^[\x21-\x7e]+$/
const HOSTNAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/
const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----'

const FLAG_OPTIONS = {
  [FLAGS.config]: { type: 'string' },
  [FLAGS.checkConfig]: { type: 'boolean' },
  [FLAGS.enableLifecycle]: { type: 'boolean' },
  [FLAGS.listenAddress]: { type: 'string' },
  [FLAGS.logLevel]: { type: 'string' },
  [FLAGS.logFormat]: { type: 'string' },
  [FLAGS.address]: { type: 'string' },
  [FLAGS.clusterId]: { type: 'string' },
  [FLAGS.tls]: { type: 'string' },
  [FLAGS.caFile]: { type: 'string' },
  [FLAGS.webConfigFile]: { type: 'string' },
} as const

type FlagName = (typeof FLAGS)[keyof typeof FLAGS]

/** A raw value and the name of where it came from, used as the message prefix. */
interface Source {
  readonly label: string
  readonly value: string
}

/** The winning source of a setting; `value` is undefined when that source was invalid. */
interface Resolved<T> {
  readonly label: string
  readonly value: T | undefined
}

/** Thrown by the small parsers below; its message is the `<reason>` part of a line. */
class Invalid extends Error {}

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

  const flags = parseFlags(options.argv, errors)
  const env = readEnvironment(options.env, errors)
  const configSource = flags.get(FLAGS.config) ?? env.get(ENV_VARS.config)
  const file = loadFile(configSource, readFile, errors)

  // Every key read from a key file, valid or not: never echoed in an error.
  const keyTexts: string[] = []
  const pixie = buildPixie(flags, env, file, readFile, errors, keyTexts)
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
  const web = buildWeb(flags, env, file, readFile, errors)
  const level = resolve(errors, [flags.get(FLAGS.logLevel), env.get(ENV_VARS.logLevel), file.text('log.level')], (text) =>
    oneOf(text, LOG_LEVELS),
  )
  const format = resolve(errors, [flags.get(FLAGS.logFormat), env.get(ENV_VARS.logFormat), file.text('log.format')], (text) =>
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
 * Turns a collection interval into a six-field cron expression that fires at
 * the same cadence, aligned to the clock. Returns undefined when no such
 * expression exists (the interval must divide a minute, an hour or a day).
 */
export function intervalToCron(intervalMs: number): string | undefined {
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1_000 || intervalMs % 1_000 !== 0) return undefined
  const seconds = intervalMs / 1_000
  if (seconds < 60) return 60 % seconds === 0 ? `${step(seconds)} * * * * *` : undefined
  if (seconds % 60 !== 0) return undefined
  const minutes = seconds / 60
  if (minutes < 60) return 60 % minutes === 0 ? `0 ${step(minutes)} * * * *` : undefined
  if (minutes % 60 !== 0) return undefined
  const hours = minutes / 60
  if (hours === 24) return '0 0 0 * * *'
  return hours < 24 && 24 % hours === 0 ? `0 0 ${step(hours)} * * *` : undefined
}

function step(n: number): string {
  return n === 1 ? '*' : `*/${n}`
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

// ---------------------------------------------------------------- flags

interface Flags {
  get(name: FlagName): Source | undefined
  readonly checkOnly: boolean
  readonly enableLifecycle: boolean
}

function parseFlags(argv: readonly string[], errors: string[]): Flags {
  // parseArgs' own strict mode stops at the first problem; we want them all,
  // so it runs non-strict and the strict rules are applied to its tokens.
  const { tokens } = parseArgs({
    args: [...argv],
    options: FLAG_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  const values = new Map<string, Source>()
  let checkOnly = false
  let enableLifecycle = false
  // Index of an argument taken to be the value of an unknown flag: it is part
  // of that flag's error and is never echoed (it could be a secret).
  let swallowed = -1
  const shortReported = new Set<number>()
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue
    if (token.kind === 'positional') {
      if (token.index !== swallowed) errors.push(`unexpected argument in position ${token.index + 1} (flags take the form --name VALUE)`)
      continue
    }
    if (!token.rawName.startsWith('--')) {
      // There are no short flags. parseArgs splits `-config.check` (Go
      // style) into one token per letter; report the argument once, without
      // any `=value` part.
      if (!shortReported.has(token.index)) {
        const arg = argv[token.index] ?? token.rawName
        errors.push(`unknown flag ${arg.split('=')[0] ?? arg}`)
        if (!arg.includes('=')) swallowed = token.index + 1
        shortReported.add(token.index)
      }
      continue
    }
    const label = `--${token.name}`
    if (!Object.hasOwn(FLAG_OPTIONS, token.name)) {
      errors.push(`unknown flag ${token.rawName}`)
      if (token.value === undefined) swallowed = token.index + 1
      continue
    }
    if (token.name === FLAGS.checkConfig) {
      if (token.value !== undefined) errors.push(`${label}: takes no value`)
      else checkOnly = true
      continue
    }
    if (token.name === FLAGS.enableLifecycle) {
      if (token.value !== undefined) errors.push(`${label}: takes no value`)
      else enableLifecycle = true
      continue
    }
    // Non-strict parseArgs takes the next argument as the value even when it
    // is another flag; strict mode would call that ambiguous, so do we.
    if (token.value === undefined || token.value === '' || (!token.inlineValue && token.value.startsWith('-'))) {
      errors.push(`${label}: requires a value`)
      continue
    }
    values.set(token.name, { label, value: token.value })
  }
  return { get: (name) => values.get(name), checkOnly, enableLifecycle }
}

// ---------------------------------------------------------------- environment

interface Environment {
  get(name: string): Source | undefined
}

function readEnvironment(env: LoadConfigOptions['env'], errors: string[]): Environment {
  const known = new Set<string>(Object.values(ENV_VARS))
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || known.has(name) || isServiceLink(name, env[name])) continue
    errors.push(`${name}: unknown environment variable`)
  }
  return {
    get(name) {
      const value = env[name]
      // Kubernetes manifests often set a variable to "" to mean "not set".
      return value === undefined || value === '' ? undefined : { label: name, value }
    },
  }
}

// Kubernetes injects variables for every Service in the namespace
// (enableServiceLinks, on by default), so a Service named `pixie-exporter`
// gives its pods PIXIE_EXPORTER_SERVICE_HOST, PIXIE_EXPORTER_PORT=tcp://...
// and more. They must not stop the exporter from starting. See
// https://kubernetes.io/docs/concepts/services-networking/service/#environment-variables
const SERVICE_LINK_PATTERN = /_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$/
const SERVICE_LINK_URL = /^(tcp|udp|sctp):\/\//

function isServiceLink(name: string, value: string | undefined): boolean {
  // A bare `_PORT` could be a typo of ours (PIXIE_EXPORTER_LISTEN_PORT), so
  // it is only ignored when it holds the URL Kubernetes puts there.
  return SERVICE_LINK_PATTERN.test(name) || (name.endsWith('_PORT') && SERVICE_LINK_URL.test(value ?? ''))
}

// ---------------------------------------------------------------- file

interface FileLayer {
  /**
   * False when the named file could not be read, parsed or was not a
   * mapping. That problem is reported once; "required" errors for keys the
   * file may well have held would only be noise.
   */
  readonly usable: boolean
  /** Whether the schema rejected the value at a dotted path (already reported). */
  rejected(path: string): boolean
  /** The value at a dotted path, unless the schema rejected it or a section above it. */
  value(path: string): unknown
  /** A string at a dotted path, unless the schema rejected it. */
  text(path: string): Source | undefined
}

function loadFile(source: Source | undefined, readFile: (path: string) => string, errors: string[]): FileLayer {
  let raw: unknown = {}
  let usable = true
  if (source !== undefined) {
    const content = tryRead(source, source.value, readFile, errors)
    const parsed = content === undefined ? undefined : parseYaml(source.value, content, errors)
    usable = parsed !== undefined
    if (parsed !== undefined) raw = parsed.value ?? {}
  }
  const rejected = new Set<string>()
  let data = validateFile(raw, source?.value ?? 'config file', rejected, errors)
  if (data === undefined) {
    usable = false
    // The top level was not a mapping: carry on with the defaults so the
    // environment and flags are still checked.
    data = validateFile({}, '', rejected, errors) as ConfigFile
  }
  const root: unknown = data
  const value = (path: string): unknown => {
    if (rejected.has(path)) return undefined
    let node = root
    for (const key of path.split('.')) {
      node = typeof node === 'object' && node !== null && !Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined
    }
    return node
  }
  return {
    usable,
    rejected: (path) => rejected.has(path),
    value,
    text(path) {
      const node = value(path)
      return typeof node === 'string' ? { label: path, value: node } : undefined
    },
  }
}

/** The document's value (`null` for an empty file), or undefined after reporting why it is not YAML. */
function parseYaml(path: string, content: string, errors: string[]): { value: unknown } | undefined {
  try {
    // The parser's own duplicate-key check compares each key with every
    // earlier one (quadratic: 40k keys took 11 s); firstDuplicateKey does the
    // same check with a hash set and the parser's wording and position.
    const lineCounter = new LineCounter()
    const doc = parseDocument(content, { uniqueKeys: false, lineCounter })
    const first = doc.errors[0]
    const duplicate = firstDuplicateKey(doc)
    if (first !== undefined && (duplicate === undefined || first.pos[0] <= duplicate)) {
      errors.push(`${path}: invalid YAML: ${firstLine(first.message)}`)
      return undefined
    }
    if (duplicate !== undefined) {
      const { line, col } = lineCounter.linePos(duplicate)
      errors.push(`${path}: invalid YAML: Map keys must be unique at line ${line}, column ${col}`)
      return undefined
    }
    const value = plainData(doc.toJS(), new Set())
    if (value === NOT_PLAIN) {
      errors.push(`${path}: must be a YAML mapping`)
      return undefined
    }
    return { value }
  } catch (err) {
    // toJS throws on unresolved aliases and alias bombs.
    errors.push(`${path}: invalid YAML: ${firstLine(err instanceof Error ? err.message : String(err))}`)
    return undefined
  }
}

/**
 * The offset of the first key that repeats an earlier key of the same
 * mapping (scalar keys with equal values, as the YAML parser compares them),
 * or undefined. Linear in the size of the document: aliases are not followed.
 */
function firstDuplicateKey(doc: Document): number | undefined {
  let found: number | undefined
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>()
      for (const pair of map.items) {
        const key = pair.key
        if (!isScalar(key)) continue
        if (seen.has(key.value)) {
          const at = key.range?.[0]
          if (at !== undefined && (found === undefined || at < found)) found = at
        }
        seen.add(key.value)
      }
    },
  })
  return found
}

const NOT_PLAIN = Symbol('not plain data')

/**
 * The document with every value that is not plain data replaced by null,
 * which every rule of the schema rejects as the wrong type. Tags such as
 * `!!set`, `!!omap`, `!!binary` and `!!timestamp` (and YAML 1.1 dates) give
 * Sets, Maps, Buffers and Dates, which the schema would otherwise take for
 * empty mappings or mappings of their methods. Cycles (`&x [*x]`) are cut the
 * same way. Returns NOT_PLAIN when the document itself is such a value.
 */
function plainData(value: unknown, ancestors: Set<object>, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value
  const proto: unknown = Object.getPrototypeOf(value)
  const plain = Array.isArray(value) || proto === Object.prototype || proto === null
  if (!plain || ancestors.has(value)) return depth === 0 ? NOT_PLAIN : null
  ancestors.add(value)
  const out = Array.isArray(value)
    ? value.map((item: unknown) => plainData(item, ancestors, depth + 1))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainData(v, ancestors, depth + 1)]))
  ancestors.delete(value)
  return out
}

/** The parser's first line names the problem and its position; later lines quote the source, which may hold the key. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/:$/, '')
}

// Compiling the schema costs ~40ms, so it is done once, on first use. The
// compiled function only remembers the last call's `errors`, which are read
// right after that (synchronous) call, so sharing it leaks nothing between
// loads.
let compiledSchema: ValidateFunction<ConfigFile> | undefined

function fileValidator(): ValidateFunction<ConfigFile> {
  if (compiledSchema === undefined) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true })
    ajv.addKeyword({ keyword: MESSAGE_KEYWORD, schemaType: 'string' })
    compiledSchema = ajv.compile<ConfigFile>(CONFIG_FILE_SCHEMA)
  }
  return compiledSchema
}

function validateFile(raw: unknown, path: string, rejected: Set<string>, errors: string[]): ConfigFile | undefined {
  const validate = fileValidator()
  if (validate(raw)) return raw
  for (const error of validate.errors ?? []) {
    const field = dottedPath(error.instancePath)
    if (field === '') {
      if (error.keyword === 'type') {
        errors.push(`${path}: must be a YAML mapping`)
        return undefined
      }
    }
    rejected.add(field)
    errors.push(schemaMessage(field, error, path))
  }
  return raw as ConfigFile
}

function schemaMessage(field: string, error: ErrorObject, file: string): string {
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty)
    // A key that cannot stand as the field of a `<field>: <reason>` line (empty,
    // a colon, control or invisible characters, a line break) is quoted after
    // the section that holds it instead.
    if (!plainKey(key)) return `${field === '' ? file : field}: unknown key ${quoteKey(key)}`
    return `${field === '' ? key : `${field}.${key}`}: unknown key`
  }
  if (error.keyword === 'type' && (error.params as { type: string }).type === 'object') return `${field}: must be a mapping`
  const message: unknown = (error.parentSchema as Record<string, unknown> | undefined)?.[MESSAGE_KEYWORD]
  // Every leaf of the schema carries its message; the fallback only guards
  // against a future key added without one.
  return `${field}: ${typeof message === 'string' ? message : (error.message ?? 'is invalid')}`
}

function plainKey(key: string): boolean {
  return key !== '' && key.trim() === key && !/[\p{C}\p{Zl}\p{Zp}:]/u.test(key)
}

/** JSON-style quoting that also escapes the invisible characters JSON.stringify leaves alone. */
function quoteKey(key: string): string {
  return JSON.stringify(key).replace(/[\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`)
}

/** `/collectors/http/namespaces/include/0` → `collectors.http.namespaces.include[0]`. */
function dottedPath(pointer: string): string {
  let out = ''
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~')
    // Numeric segments only arise as array indexes: object keys are fixed by the schema.
    out += /^\d+$/.test(key) ? `[${key}]` : out === '' ? key : `.${key}`
  }
  return out
}

// ---------------------------------------------------------------- pixie

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

function buildPixie(
  flags: Flags,
  env: Environment,
  file: FileLayer,
  readFile: (path: string) => string,
  errors: string[],
  keyTexts: string[],
): Partial<Mutable<Config['pixie']>> {
  const address = resolve(errors, [flags.get(FLAGS.address), env.get(ENV_VARS.address), file.text('pixie.address')], (text) =>
    hostPort(text, 1, 'must be host:port (e.g. work.withpixie.ai:443)'),
  )
  const clusterId = resolve(errors, [flags.get(FLAGS.clusterId), env.get(ENV_VARS.clusterId), file.text('pixie.clusterId')], uuid)
  // No "required" error when the file could not be used or its value was
  // rejected: that problem is already reported.
  if (clusterId === undefined && file.usable && !file.rejected('pixie.clusterId')) {
    errors.push(`pixie.clusterId: required (set ${ENV_VARS.clusterId}, --${FLAGS.clusterId} or pixie.clusterId)`)
  }
  const tls = resolve(errors, [flags.get(FLAGS.tls), env.get(ENV_VARS.tls), file.text('pixie.tls')], (text) => oneOf(text, TLS_MODES))
  // Unknown when the winning value is invalid, so that no rule depending on
  // the mode adds a second, misleading error.
  const tlsMode: TlsMode | undefined = tls === undefined ? (file.rejected('pixie.tls') ? undefined : 'verify') : tls.value

  const caFile = resolve(errors, [flags.get(FLAGS.caFile), env.get(ENV_VARS.caFile), file.text('pixie.caFile')], (text) => text)
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

  const timeout = resolve(errors, [file.text('pixie.timeout')], (text) =>
    durationBetween(text, 1, MAX_TIMEOUT_MS, 'must be greater than 0 and at most 10m'),
  )

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

function buildHttpCollector(
  file: FileLayer,
  pixieTimeoutMs: number | undefined,
  errors: string[],
): Partial<Mutable<Config['collectors']['http']>> {
  const interval = file.text('collectors.http.interval')
  const scheduleText = file.text('collectors.http.schedule')
  const fallback = file.rejected('collectors.http.interval') ? undefined : { label: 'collectors.http.interval', value: DEFAULT_HTTP_INTERVAL }
  const schedule = parseSchedule(errors, interval, scheduleText, fallback, 'collectors.http.schedule')

  const window = resolve(errors, [file.text('collectors.http.window')], (text) =>
    durationBetween(text, MIN_WINDOW_MS, MAX_WINDOW_MS, 'must be from 1s to 1h'),
  )
  const timeout = resolve(errors, [file.text('collectors.http.timeout')], (text) =>
    durationBetween(text, 1, MAX_TIMEOUT_MS, 'must be greater than 0 and at most 10m'),
  )
  const staleAfter = resolve(errors, [file.text('collectors.http.staleAfter')], (text) =>
    durationBetween(text, 1, Number.MAX_SAFE_INTEGER, 'must be greater than 0'),
  )
  const least = schedule === undefined ? undefined : atLeastTheGap(schedule)
  if (staleAfter?.value !== undefined && least !== undefined && staleAfter.value < least.ms) {
    errors.push(`collectors.http.staleAfter: ${least.reason}`)
  }

  const lag = resolve(errors, [file.text('collectors.http.lag')], (text) => durationBetween(text, 0, 300_000, 'must be from 0s to 5m'))
  const maxCatchUp = resolve(errors, [file.text('collectors.http.maxCatchUp')], (text) =>
    durationBetween(text, 1_000, 86_400_000, 'must be from 1s to 1d'),
  )
  const expireAfter = resolve(errors, [file.text('collectors.http.expireAfter')], (text) =>
    durationBetween(text, 1_000, Number.MAX_SAFE_INTEGER, 'must be at least 1s'),
  )
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
  const intervalMs = duration(text)
  if (intervalMs < MIN_INTERVAL_MS) throw new Invalid('must be at least 1s')
  const cron = intervalToCron(intervalMs)
  if (cron === undefined) {
    throw new Invalid(`must divide a minute, an hour or a day evenly (e.g. 10s, 15s, 30s, 1m, 5m); use ${scheduleKey} for other cadences`)
  }
  return { kind: 'interval', intervalMs, cron }
}

/** The value parsers handed to collectors.ts, reporting onto `errors` with the same messages as here. */
function fieldParsers(readFile: (path: string) => string, errors: string[]): FieldParsers {
  return {
    duration: (source, min, max, reason) =>
      source === undefined ? undefined : resolve(errors, [source], (text) => durationBetween(text, min, max, reason))?.value,
    schedule: (interval, scheduleText, fallback, scheduleKey) => parseSchedule(errors, interval, scheduleText, fallback, scheduleKey),
    readFile: (source) => tryRead(source, source.value, readFile, errors),
  }
}

const CRON_FIELD_NAMES: Readonly<Record<string, string>> = { dayOfMonth: 'day-of-month', dayOfWeek: 'day-of-week' }

function cronExpression(text: string): string {
  const fields = text.trim().split(/\s+/)
  // node-cron also takes 5 fields; we require the seconds field so that an
  // expression means the same thing here as in docs/configuration.md.
  if (fields.length !== 6) {
    throw new Invalid('must be a cron expression with 6 fields (second minute hour day-of-month month day-of-week)')
  }
  const result = validateDetailed(fields.join(' '))
  if (!result.valid) {
    // Our own wording: node-cron's messages are not a stable interface.
    const bad = result.errors.map((e) => `${CRON_FIELD_NAMES[e.field] ?? e.field} ${JSON.stringify(e.value ?? '')}`)
    throw new Invalid(`invalid cron field${bad.length > 1 ? 's' : ''} ${bad.join(', ')}`)
  }
  return fields.join(' ')
}

// ---------------------------------------------------------------- web

function buildWeb(
  flags: Flags,
  env: Environment,
  file: FileLayer,
  readFile: (path: string) => string,
  errors: string[],
): Partial<Mutable<Config['web']>> {
  const listen = resolve(
    errors,
    [flags.get(FLAGS.listenAddress), env.get(ENV_VARS.listenAddress), file.text('web.listenAddress')],
    (text) => listenAddress(text),
  )
  // Parsed by the CLI (src/server/web-config.ts); here only checked to be readable.
  const configFile = resolve(errors, [flags.get(FLAGS.webConfigFile), env.get(ENV_VARS.webConfigFile), file.text('web.configFile')], (text) => text)
  if (configFile?.value !== undefined) tryRead(configFile, configFile.value, readFile, errors)
  if (listen?.value === undefined) return {}
  return { listenAddress: listen.value.address, host: listen.value.host, port: listen.value.port, configFile: configFile?.value }
}

// ---------------------------------------------------------------- value parsers

/**
 * Parses each provided source (flag, environment, file; highest precedence
 * first), so a bad value is reported even when a higher source overrides it.
 * The highest provided source wins.
 */
function resolve<T>(errors: string[], sources: readonly (Source | undefined)[], parse: (text: string) => T): Resolved<T> | undefined {
  let winner: Resolved<T> | undefined
  for (const source of sources) {
    if (source === undefined) continue
    let value: T | undefined
    try {
      value = parse(source.value)
    } catch (err) {
      if (!(err instanceof Invalid)) throw err
      errors.push(`${source.label}: ${err.message}`)
    }
    winner ??= { label: source.label, value }
  }
  return winner
}

function oneOf<T extends string>(text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new Invalid(`must be one of ${allowed.join(', ')}`)
  return text as T
}

function uuid(text: string): string {
  if (!UUID_PATTERN.test(text)) throw new Invalid('must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)')
  // Pixie prints cluster IDs in lower case.
  return text.toLowerCase()
}

function duration(text: string): number {
  try {
    return parseDuration(text)
  } catch {
    throw new Invalid('must be a duration (e.g. 500ms, 10s, 1m30s, 2h, 1d)')
  }
}

function durationBetween(text: string, min: number, max: number, reason: string): number {
  const ms = duration(text)
  if (ms < min || ms > max) throw new Invalid(reason)
  return ms
}

interface HostPort {
  readonly address: string
  readonly host: string
  readonly port: number
}

/** `host:port` or `[ipv6]:port`; `host` comes back without brackets. */
function hostPort(text: string, minPort: number, reason: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  const host = match?.[1] ?? match?.[2]
  if (match === null || host === undefined) throw new Invalid(reason)
  if (match[1] !== undefined ? isIP(host) !== 6 : isIP(host) === 0 && !HOSTNAME_PATTERN.test(host)) throw new Invalid(reason)
  // Digits and dots are never a host name (no top-level domain is numeric): an
  // address like 256.1.1.1 is a mistyped IPv4 address, which would otherwise
  // pass --check-config and fail only when resolved (ENOTFOUND).
  if (isIP(host) === 0 && /^[\d.]+$/.test(host)) throw new Invalid(`${host} is not a valid IPv4 address`)
  const port = Number(match[3])
  if (port < minPort || port > 65_535) throw new Invalid(`port must be from ${minPort} to 65535`)
  return { address: text, host, port }
}

/**
 * A listen address: `host:port`, `[ipv6]:port`, or `:port` as Prometheus
 * exporters accept it (`--web.listen-address=:9100`). A bare `:port` means
 * every IPv4 interface, the same as `0.0.0.0:port`; `[::]:port` adds IPv6.
 */
function listenAddress(text: string): HostPort {
  const reason = 'must be host:port or :port (e.g. 0.0.0.0:10049, :10049 or [::1]:10049)'
  if (text.startsWith(':')) {
    const { port } = hostPort(`0.0.0.0${text}`, 0, reason)
    return { address: text, host: '0.0.0.0', port }
  }
  return hostPort(text, 0, reason)
}

// ---------------------------------------------------------------- helpers

function tryRead(source: { readonly label: string }, path: string, readFile: (path: string) => string, errors: string[]): string | undefined {
  try {
    return readFile(path)
  } catch (err) {
    errors.push(`${source.label}: cannot read ${path}: ${describeReadError(err)}`)
    return undefined
  }
}

/** `ENOENT: no such file or directory`: the code and its meaning, without the path Node repeats. */
function describeReadError(err: unknown): string {
  if (!(err instanceof Error)) return 'unreadable'
  const code = (err as NodeJS.ErrnoException).code
  const head = firstLine(err.message).split(',')[0] ?? ''
  if (typeof code === 'string') return head.startsWith(code) ? head : code
  return head === '' ? 'unreadable' : head
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
