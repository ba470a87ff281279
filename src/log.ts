/**
 * The logger factory: one pino logger per process, in either of the two
 * formats of the Prometheus exporter-toolkit's `--log.format`.
 *
 * Every line, in both formats, starts with `time` (ISO 8601, UTC), `level`
 * (its name: `info`, not pino's number 30) and `msg`, and never holds the same
 * key twice: pino writes a child's bindings next to its parent's, so
 * `logger.child({ component: 'a' }).child({ component: 'b' })` would otherwise
 * print `"component":"a","component":"b"`, which strict JSON pipelines reject.
 * The innermost value wins, as it does for `JSON.parse`.
 */
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino'
import { ExporterError } from './errors.js'
import type { Secrets } from './secrets.js'

/** The levels a logger can be set to (pino's levels): `log.level`, `--log.level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The line formats, those of the Prometheus exporter-toolkit's `--log.format`: `log.format`, `--log.format`. */
export const LOG_FORMATS = ['logfmt', 'json'] as const

/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number]

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level logged. */
  readonly level: LogLevel
  /** `json` (default) or `logfmt`. */
  readonly format?: LogFormat
  /** Keys on every line (e.g. `{ simulated: true }`). */
  readonly bindings?: Readonly<Record<string, unknown>>
  /** Scrubbed from every line as written, and their fields censored by path. Default none. */
  readonly secrets?: Secrets
  /** Where lines go; default standard output. Tests pass a memory stream. */
  readonly destination?: DestinationStream
}

/** Keys written first on every line, in this order. */
const LEADING_KEYS = ['time', 'level', 'msg'] as const

/**
 * Serializes `err`. Errors the exporter expects (its coded
 * {@link ExporterError}s: Pixie unreachable, a query rejected…) carry no
 * stack nor their causes' messages below `debug`: a failed poll is one
 * readable line, not thirty. Any
 * other error is a bug and keeps its stack at every level.
 */
function errSerializer(level: string): (err: unknown) => unknown {
  const withStack = level === 'debug' || level === 'trace'
  return (err) => {
    const out = stdSerializers.err(err as Error) as unknown as Record<string, unknown>
    if (withStack || !(err instanceof ExporterError) || typeof out !== 'object' || out === null) return out
    // pino appends every cause's message to `message`; ours already say what happened.
    const { stack: _stack, ...rest } = out
    return { ...rest, message: err.message }
  }
}

/** Rewrites one JSON line from pino: leading keys first, duplicates folded, in the chosen format. */
export function formatLine(line: string, format: LogFormat): string {
  let record: Record<string, unknown>
  try {
    // JSON.parse keeps the last value of a repeated key, and stringify writes each key once.
    record = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  const ordered: Record<string, unknown> = {}
  for (const key of LEADING_KEYS) if (key in record) ordered[key] = record[key]
  for (const [key, value] of Object.entries(record)) if (!(key in ordered)) ordered[key] = value
  return format === 'logfmt' ? `${toLogfmt(ordered)}\n` : `${JSON.stringify(ordered)}\n`
}

/** `key=value` pairs; nested objects become dotted keys (`err.message=…`). */
function toLogfmt(record: Record<string, unknown>): string {
  const pairs: string[] = []
  const walk = (prefix: string, value: unknown): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value)
      if (entries.length === 0) pairs.push(`${prefix}={}`)
      for (const [key, child] of entries) walk(prefix === '' ? key : `${prefix}.${key}`, child)
      return
    }
    pairs.push(`${prefix}=${logfmtValue(value)}`)
  }
  walk('', record)
  return pairs.join(' ')
}

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? 'null'
  // eslint-disable-next-line no-control-regex -- control characters force quoting
  if (text !== '' && /^[^\s"=\\\x00-\x1f]+$/.test(text)) return text
  return JSON.stringify(text)
}

/**
 * Creates the process's logger. Components scope it with
 * `logger.child({ component })`; errors are logged as `{ err }`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const format = options.format ?? 'json'
  const secrets = options.secrets?.pinoOptions()
  const scrub = secrets?.hooks?.streamWrite ?? ((line: string) => line)
  return pino(
    {
      level: options.level,
      base: { ...options.bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errSerializer(options.level) },
      // Scrubbed on pino's JSON line (where a secret is in its raw or JSON-escaped form), then formatted,
      // then scrubbed again: logfmt quotes a list or object value a second time (`\\\"`), a form the
      // scrubber does not know, so the secret must be gone before that.
      hooks: { streamWrite: (line) => scrub(formatLine(scrub(line), format)) },
      // Defence in depth: the key is never passed to a log call, but if a config
      // object ever were, these paths would be censored.
      redact: secrets?.redact ?? { paths: ['apiKey', '*.apiKey', '*.*.apiKey', 'headers["pixie-api-key"]'], censor: '<secret>' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  )
}

/**
 * Node's process warnings become log lines in the chosen format instead of
 * raw text on stderr. DEP0123 ("Setting the TLS ServerName to an IP address")
 * is expected, not the operator's to fix: with TLS to an IP address
 * (`PX_CLOUD_ADDR=10.0.0.5:443`), @grpc/grpc-js always passes the host as
 * the TLS servername (grpc/grpc-node#1919) and offers no way to leave SNI
 * out. The certificate is still verified against the IP address, so it is
 * logged once at debug with that explanation. Each thread has its own
 * `process` events: a worker thread that talks to Pixie installs this too.
 */
export function routeProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning')
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code === 'DEP0123') {
      logger.debug(
        { code: warning.code },
        'TLS to an IP address: @grpc/grpc-js sends the IP as the TLS server name, which Node.js deprecates (RFC 6066); the certificate is still verified against the IP address',
      )
      return
    }
    logger.warn({ code: warning.code, warning: warning.message, type: warning.name }, 'Node.js process warning')
  })
}
