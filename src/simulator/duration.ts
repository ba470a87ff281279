/**
 * Scenario durations: a non-negative decimal number followed by a unit, e.g.
 * `500ms`, `10s`, `1.5m`, `2h`. Kept deliberately smaller than Go's
 * time.ParseDuration (no compound values such as `1m30s`) so that a scenario
 * reads the same to everyone.
 */

/** Pattern of a valid duration string. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/** Parses a duration string into milliseconds; returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text)
  if (match === null) return undefined
  const [, amount, unit] = match
  const scale = unit === undefined ? undefined : UNIT_MS[unit]
  if (amount === undefined || scale === undefined) return undefined
  return Number(amount) * scale
}

/** Formats milliseconds for log lines and messages (`1500` → `1.5s`, `250` → `250ms`, `0` → `0s`). */
export function formatDuration(ms: number): string {
  return ms > 0 && ms < 1_000 ? `${ms}ms` : `${ms / 1_000}s`
}
