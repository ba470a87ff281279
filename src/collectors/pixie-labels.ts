/**
 * Label values from Pixie's context columns, shared by the HTTP collector and
 * the generic PxL engine (label transforms `strip-namespace` and
 * `service-list`).
 */

/**
 * Turns Pixie's `ctx['service']` into the plain label value: `ns/svc` → `svc`,
 * `["ns/a","ns/b"]` → `a,b`, `""` → `""`.
 */
export function serviceLabel(raw: string): string {
  let names: unknown = [raw]
  if (raw.startsWith('[')) {
    try {
      names = JSON.parse(raw)
    } catch {
      names = [raw]
    }
  }
  if (!Array.isArray(names)) names = [raw]
  return (names as unknown[])
    .filter((n): n is string => typeof n === 'string' && n !== '')
    .map((n) => wellFormed(n.slice(n.indexOf('/') + 1)))
    .join(',')
}

/** `ns/pod` → `pod` (Pixie's `ctx['pod']` carries the namespace). */
export function podLabel(raw: string): string {
  return wellFormed(raw.slice(raw.indexOf('/') + 1))
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g')

/**
 * The string with lone surrogates replaced by U+FFFD, as its UTF-8 exposition
 * shows it: two label values that differ only there are one series.
 */
export function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATES, '\uFFFD') : s
}
