/**
 * Durations as written in the configuration: Prometheus-style unit strings
 * such as `500ms`, `10s`, `1m30s`, `2h` or `1d`, always converted to whole
 * milliseconds.
 */

const MS_PER = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const

// Units must appear largest first and at most once each. `(?!s)` stops the
// minutes group from eating the `m` of `ms` (`5ms` is five milliseconds).
const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/

/**
 * Parses a duration into milliseconds.
 *
 * Accepts one or more `<integer><unit>` parts, largest unit first, with units
 * `d`, `h`, `m`, `s` and `ms` (e.g. `500ms`, `10s`, `1m30s`, `2h`, `1d`), and
 * the bare `0`. Fractions, signs, spaces and other units are rejected.
 *
 * @throws TypeError when `text` is not such a duration or is too large.
 */
export function parseDuration(text: string): number {
  if (text === '0') return 0
  const match = DURATION_PATTERN.exec(text)
  if (text === '' || match === null) throw new TypeError(`invalid duration ${JSON.stringify(text)}`)
  const [, d, h, m, s, ms] = match
  let total = 0
  for (const [digits, unit] of [[d, 'd'], [h, 'h'], [m, 'm'], [s, 's'], [ms, 'ms']] as const) {
    if (digits !== undefined) total += Number(digits) * MS_PER[unit]
  }
  if (!Number.isSafeInteger(total)) throw new TypeError(`duration too large ${JSON.stringify(text)}`)
  return total
}

/**
 * Formats milliseconds the way {@link parseDuration} reads them, with the
 * largest units first and zero parts left out (`90000` → `1m30s`, `0` → `0s`).
 *
 * @throws TypeError when `ms` is negative or not a safe integer.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new TypeError(`cannot format ${ms} as a duration`)
  if (ms === 0) return '0s'
  let rest = ms
  let text = ''
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const count = Math.floor(rest / MS_PER[unit])
    if (count > 0) {
      text += `${count}${unit}`
      rest -= count * MS_PER[unit]
    }
  }
  return text
}
