/**
 * The one redaction of secrets. The exporter holds one secret, the Pixie API
 * key, which may come from `PX_API_KEY`, a key file or `pixie.apiKey`, and
 * which a hostile or buggy Pixie may echo back in any text it returns. Every
 * text that leaves the process goes through {@link Secrets.scrub}: each log
 * line (as pino writes it, see {@link Secrets.pinoOptions}), each error raised
 * from Pixie's answers ({@link Secrets.scrubError}), each configuration error,
 * and each page and exposition the HTTP server sends.
 *
 * A value shorter than {@link MIN_SECRET_LENGTH} characters is not treated as
 * a secret: replacing every "a" in the logs would hide everything and protect
 * nothing.
 */
import type { LoggerOptions } from 'pino'
import { escapeHtml } from './server/landing-page.js'
import { nextTurn } from './turns.js'

/** What a secret is replaced with wherever it would be shown. */
export const SECRET_PLACEHOLDER = '<secret>'

/** Shorter values are not scrubbed (see the module comment). */
export const MIN_SECRET_LENGTH = 4

/** Paths pino censors in logged objects, whatever their text: the key's own fields. */
const REDACT_PATHS = ['apiKey', '*.apiKey', '*.*.apiKey', 'pixie.apiKey', 'config.pixie.apiKey', 'headers["pixie-api-key"]', '*.headers["pixie-api-key"]']

/** The forms a secret can take in the text we write: as is, inside a JSON string, and as HTML text. */
function forms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1)
  const html = escapeHtml(secret)
  return [...new Set([secret, json, html])]
}

/**
 * Replaces every occurrence of the given secrets in `text` by
 * {@link SECRET_PLACEHOLDER}. The function behind every redaction.
 */
export function scrubText(text: string, secrets: Iterable<string>): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue
    for (const form of forms(secret)) if (out.includes(form)) out = out.split(form).join(SECRET_PLACEHOLDER)
  }
  return out
}

/**
 * Scrubs an error in place: its message and stack, every string (or array of
 * strings, or of objects with strings, such as Pixie's compiler error
 * details) among its own properties, and its `cause` chain. Returns it.
 */
export function scrubErrorWith<E>(error: E, secrets: Iterable<string>, seen = new Set<unknown>()): E {
  const list = [...secrets]
  if (list.every((s) => s.length < MIN_SECRET_LENGTH)) return error
  const visit = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return scrubText(value, list)
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > 8) return value
    seen.add(value)
    if (Array.isArray(value)) {
      const items = value.map((v) => visit(v, depth + 1))
      return items.every((v, i) => v === value[i]) ? value : items
    }
    const record = value as Record<string, unknown>
    const keys = value instanceof Error ? ['message', 'stack', 'cause', ...Object.keys(value)] : Object.keys(value)
    let copy: Record<string, unknown> | undefined
    for (const key of new Set(keys)) {
      const before = record[key]
      const after = visit(before, depth + 1)
      if (after === before) continue
      if (value instanceof Error || !Object.isFrozen(value)) {
        try {
          Object.defineProperty(value, key, { value: after, writable: true, configurable: true, enumerable: Object.prototype.propertyIsEnumerable.call(value, key) })
          continue
        } catch {
          // A frozen field: fall through and hand back a scrubbed copy.
        }
      }
      copy ??= { ...record }
      copy[key] = after
    }
    return copy === undefined ? value : Object.freeze(copy)
  }
  return visit(error, 0) as E
}

/**
 * The set of secret values the process holds. Made once by the process
 * (src/cli.ts) and passed to whatever writes text; a reload adds the new key.
 */
/** {@link Secrets.prescan} searches this many bytes between two turns of the event loop (well under a millisecond). */
export const PRESCAN_SLICE_BYTES = 1 << 20

export class Secrets {
  readonly #values = new Set<string>()
  /** foundIn's answers per buffer (see there). */
  readonly #searched = new WeakMap<Buffer, { readonly secrets: number; readonly found: boolean }>()

  constructor(values: Iterable<string | undefined> = []) {
    for (const v of values) this.add(v)
  }

  /** Remembers a secret (undefined and short values are ignored). */
  add(value: string | undefined): void {
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH) this.#values.add(value)
  }

  /** Whether any secret is known. */
  get empty(): boolean {
    return this.#values.size === 0
  }

  /** How many secrets are known; values are only ever added, so the count identifies the set. */
  get size(): number {
    return this.#values.size
  }

  /** `text` with every known secret replaced by {@link SECRET_PLACEHOLDER}. */
  scrub(text: string): string {
    return this.#values.size === 0 ? text : scrubText(text, this.#values)
  }

  /** Whether `body` holds a known secret (as UTF-8 bytes). */
  foundIn(body: Buffer): boolean {
    // The exposition's buffers live for a whole poll and are asked about on
    // every scrape: remember each answer until a secret is added (values are
    // only ever added, so their count identifies the set).
    const known = this.#searched.get(body)
    if (known !== undefined && known.secrets === this.#values.size) return known.found
    let found = false
    search: for (const secret of this.#values) {
      for (const form of forms(secret)) {
        if (body.includes(form)) {
          found = true
          break search
        }
      }
    }
    this.#searched.set(body, { secrets: this.#values.size, found })
    return found
  }

  /**
   * Searches `body` as {@link foundIn} does, a slice at a time with the event
   * loop free in between, and remembers the answer, so that the first scrape
   * after a poll finds it ready instead of searching tens of MiB while
   * everything else on the serving thread waits. Consecutive slices overlap
   * by a secret's length less one, so a secret across a boundary is found.
   */
  async prescan(body: Buffer, sliceBytes = PRESCAN_SLICE_BYTES): Promise<void> {
    const secrets = this.#values.size
    if (secrets === 0 || this.#searched.get(body)?.secrets === secrets) return
    let found = false
    search: for (const secret of [...this.#values]) {
      for (const form of forms(secret)) {
        const needle = Buffer.from(form, 'utf8')
        for (let start = 0; start < body.length; start += sliceBytes) {
          if (body.subarray(start, start + sliceBytes + needle.length - 1).includes(needle)) {
            found = true
            break search
          }
          await nextTurn()
        }
      }
    }
    // A secret added meanwhile was not searched for: foundIn searches again.
    if (this.#values.size === secrets) this.#searched.set(body, { secrets, found })
  }

  /** Scrubs an error in place (see {@link scrubErrorWith}) and returns it. */
  scrubError<E>(error: E): E {
    return this.#values.size === 0 ? error : scrubErrorWith(error, this.#values)
  }

  /**
   * pino options that scrub every line any logger made from them (children
   * included) writes, after serialisation, so no field, message, error detail
   * or binding can carry a secret; plus path censoring for key fields.
   */
  pinoOptions(): Pick<LoggerOptions, 'redact' | 'hooks'> {
    return {
      redact: { paths: REDACT_PATHS, censor: SECRET_PLACEHOLDER },
      hooks: { streamWrite: (line: string) => this.scrub(line) },
    }
  }
}
