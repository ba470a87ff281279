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
    .map((n) => n.slice(n.indexOf('/') + 1))
    .join(',')
}

/** `ns/pod` → `pod` (Pixie's `ctx['pod']` carries the namespace). */
export function podLabel(raw: string): string {
  return raw.slice(raw.indexOf('/') + 1)
}
