/**
 * The small value parsers every source shares, and how a setting's sources
 * are resolved: each provided value is parsed (so a bad value is reported
 * even when a higher source overrides it) and the highest one wins. Each
 * problem is one `<field>: <reason>` line, the field named the way the user
 * wrote it (a YAML path, an environment variable or a flag).
 */
import { isIP } from 'node:net'
import { validateDetailed } from 'node-cron'
import { parseDuration } from '../duration.js'

/** A raw value and the name of where it came from, used as the message prefix. */
export interface Source {
  readonly label: string
  readonly value: string
}

/** The winning source of a setting; `value` is undefined when that source was invalid. */
export interface Resolved<T> {
  readonly label: string
  readonly value: T | undefined
}

/** Thrown by the small parsers below; its message is the `<reason>` part of a line. */
export class Invalid extends Error {}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const HOSTNAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/

const CRON_FIELD_NAMES: Readonly<Record<string, string>> = { dayOfMonth: 'day-of-month', dayOfWeek: 'day-of-week' }

export function cronExpression(text: string): string {
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

/**
 * Parses each provided source (flag, environment, file; highest precedence
 * first), so a bad value is reported even when a higher source overrides it.
 * The highest provided source wins.
 */
export function resolve<T>(errors: string[], sources: readonly (Source | undefined)[], parse: (text: string) => T): Resolved<T> | undefined {
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

export function oneOf<T extends string>(text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new Invalid(`must be one of ${allowed.join(', ')}`)
  return text as T
}

export function uuid(text: string): string {
  if (!UUID_PATTERN.test(text)) throw new Invalid('must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)')
  // Pixie prints cluster IDs in lower case.
  return text.toLowerCase()
}

export function duration(text: string): number {
  try {
    return parseDuration(text)
  } catch {
    throw new Invalid('must be a duration (e.g. 500ms, 10s, 1m30s, 2h, 1d)')
  }
}


export interface HostPort {
  readonly address: string
  readonly host: string
  readonly port: number
}

/** `host:port` or `[ipv6]:port`; `host` comes back without brackets. */
export function hostPort(text: string, minPort: number, reason: string): HostPort {
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
export function listenAddress(text: string): HostPort {
  const reason = 'must be host:port or :port (e.g. 0.0.0.0:10049, :10049 or [::1]:10049)'
  if (text.startsWith(':')) {
    const { port } = hostPort(`0.0.0.0${text}`, 0, reason)
    return { address: text, host: '0.0.0.0', port }
  }
  return hostPort(text, 0, reason)
}

export function tryRead(source: { readonly label: string }, path: string, readFile: (path: string) => string, errors: string[]): string | undefined {
  try {
    return readFile(path)
  } catch (err) {
    errors.push(`${source.label}: cannot read ${path}: ${describeReadError(err)}`)
    return undefined
  }
}

/** `ENOENT: no such file or directory`: the code and its meaning, without the path Node repeats. */
export function describeReadError(err: unknown): string {
  if (!(err instanceof Error)) return 'unreadable'
  const code = (err as NodeJS.ErrnoException).code
  const head = firstLine(err.message).split(',')[0] ?? ''
  if (typeof code === 'string') return head.startsWith(code) ? head : code
  return head === '' ? 'unreadable' : head
}

/** The parser's first line names the problem and its position; later lines quote the source, which may hold the key. */
export function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/:$/, '')
}
