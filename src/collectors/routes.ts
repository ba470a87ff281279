/**
 * Route templating: turns HTTP request paths into low-cardinality routes, so
 * an endpoint label never carries ids, tokens or query strings. The raw path
 * is never returned: the result is a user pattern, a templated path, or
 * {@link OTHER_ROUTE}.
 */

/** Placeholder that replaces a path segment that looks like an id. */
export const ID_PLACEHOLDER = '{id}'

/** Route given to every new path once `maxRoutes` distinct routes were seen. */
export const OTHER_ROUTE = 'other'

/** Default of {@link RouterOptions.maxRoutes}. */
export const DEFAULT_MAX_ROUTES = 1000

/** Options of {@link makeRouter}. */
export interface RouterOptions {
  /**
   * Patterns tried first, in order; the first that matches is the route.
   * Each starts with `/`; a `*` segment matches exactly one non-empty
   * segment (`/orders/*\/item/*`). Patterns are not counted against
   * `maxRoutes`.
   */
  readonly patterns: readonly string[]
  /**
   * At most this many distinct routes come from the heuristic; after that
   * every new one becomes {@link OTHER_ROUTE}. Routes seen before keep their
   * name. Default {@link DEFAULT_MAX_ROUTES}.
   */
  readonly maxRoutes: number
}

/** Turns one raw request path into its route. Keeps the set of routes it has handed out. */
export type Router = (rawPath: string) => string

const DIGITS = /^\d+$/
// Numbers with separators: dates, times, versions, decimals (`2024-01-31`, `1.2.3`).
const NUMERIC = /^[\d\-_.:,+]*\d[\d\-_.:,+]*$/
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i
const HEX = /^(0x)?[0-9a-f]{16,}$/i
// Long tokens with at least one digit: opaque ids, base64 and base64url tokens.
const TOKEN = /^(?=.*\d)[A-Za-z0-9\-_+=~.%]{20,}$/
// An @, raw or percent-encoded, marks an e-mail address or a user handle.
const EMAIL = /@|%40/i

/** Whether one path segment looks like an identifier rather than a fixed name. */
export function looksLikeId(segment: string): boolean {
  return (
    DIGITS.test(segment) ||
    NUMERIC.test(segment) ||
    UUID.test(segment) ||
    HEX.test(segment) ||
    TOKEN.test(segment) ||
    EMAIL.test(segment)
  )
}

/**
 * The path part of a request target: no query string or fragment, no
 * scheme and authority (absolute-form targets sent to proxies), repeated
 * slashes collapsed, no trailing slash, and always a leading slash.
 */
export function normalizePath(rawPath: string): string {
  let path = rawPath
  const cut = path.search(/[?#]/)
  if (cut >= 0) path = path.slice(0, cut)
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(path)
  if (absolute !== null) path = path.slice(absolute[0].length)
  const segments = path.split('/').filter((s) => s !== '')
  return `/${segments.join('/')}`
}

function segmentsOf(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/')
}

function matches(pattern: readonly string[], segments: readonly string[]): boolean {
  return pattern.length === segments.length && pattern.every((p, i) => p === '*' || p === segments[i])
}

/**
 * Checks a user pattern; returns the reason it is invalid, or undefined.
 * Used by the configuration to reject bad patterns before they reach a router.
 */
export function patternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/')) return 'must start with "/"'
  if (/[?#\s]/.test(pattern)) return 'must not hold "?", "#" or spaces'
  if (normalizePath(pattern) !== pattern) return 'must not hold empty segments or end with "/"'
  return undefined
}

/**
 * Builds a router. User patterns are matched first (first match wins, and
 * the pattern itself is the route); otherwise each segment that
 * {@link looksLikeId} is replaced by {@link ID_PLACEHOLDER}. New routes from
 * the heuristic are capped at `maxRoutes` per router; beyond the cap they
 * become {@link OTHER_ROUTE}.
 *
 * @throws TypeError on an invalid pattern or maxRoutes (the configuration checks both first).
 */
export function makeRouter(options: RouterOptions): Router {
  const patterns = options.patterns.map((pattern) => {
    const problem = patternProblem(pattern)
    if (problem !== undefined) throw new TypeError(`route pattern ${JSON.stringify(pattern)} ${problem}`)
    return { route: pattern, segments: segmentsOf(pattern) }
  })
  if (!Number.isSafeInteger(options.maxRoutes) || options.maxRoutes < 0) {
    throw new TypeError(`maxRoutes must be a non-negative integer, got ${options.maxRoutes}`)
  }
  const seen = new Set<string>()
  return (rawPath) => {
    const segments = segmentsOf(normalizePath(rawPath))
    for (const pattern of patterns) if (matches(pattern.segments, segments)) return pattern.route
    const route = `/${segments.map((s) => (looksLikeId(s) ? ID_PLACEHOLDER : s)).join('/')}`
    if (seen.has(route)) return route
    if (seen.size >= options.maxRoutes) return OTHER_ROUTE
    seen.add(route)
    return route
  }
}
