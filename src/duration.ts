/**
 * The one duration grammar of the project, shared by the configuration
 * (src/config) and the simulator's scenarios (src/simulator). A leaf module:
 * it imports nothing, so every layer may use it.
 *
 * Grammar (Prometheus' duration with decimals, as Go's time.ParseDuration):
 *
 * - one or more `<number><unit>` parts with no space between them, e.g.
 *   `500ms`, `10s`, `1m30s`, `1.5m`, `2h`, `1d`, `1d2h3m4s5ms`;
 * - `<number>` is digits with an optional decimal part (`1`, `1.5`, `007`;
 *   not `.5`, `1.`, `1e3`, `+1`, `-1`);
 * - units, lower case only: `d` (24h), `h`, `m`, `s`, `ms`; each at most
 *   once and largest first (`30s1m` and `1h1h` are refused, so a value reads
 *   one way only);
 * - the bare `0` is zero;
 * - {@link parseDuration} (configuration, schedules) wants whole
 *   milliseconds (`1.5ms` and `0.0001s` are refused) of at most
 *   `Number.MAX_SAFE_INTEGER` (about 285,616 years);
 *   {@link parseDurationFine} (scenario latencies) keeps fractions of a
 *   millisecond down to the nanosecond (`0.5ms`).
 *
 * Anything else, including the empty string and surrounding whitespace, is
 * refused. Zero is a valid duration; whether a field accepts it is the
 * field's range, declared with the field.
 */

/** Milliseconds per unit, largest first (the order parts must appear in). */
const MS_PER = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const

type Unit = keyof typeof MS_PER

const UNITS = Object.keys(MS_PER) as Unit[]

const NUMBER = String.raw`(\d+(?:\.\d+)?)`

/**
 * Pattern of a duration string (ECMAScript syntax, also valid in a JSON
 * Schema `pattern`). The lookahead requires a digit, so the empty string
 * does not match; `m(?!s)` keeps the minutes part from taking the `m` of
 * `ms`. It cannot express the whole-millisecond and size limits, which
 * {@link parseDuration} adds.
 */
export const DURATION_PATTERN = new RegExp(
  String.raw`^(?:0|(?=\d)(?:${NUMBER}d)?(?:${NUMBER}h)?(?:${NUMBER}m(?!s))?(?:${NUMBER}s)?(?:${NUMBER}ms)?)$`,
)

/** Why {@link parseDuration} refused a text; `message` is a short reason. */
export class DurationSyntaxError extends TypeError {
  /** The text that was refused. */
  readonly text: string
  constructor(text: string, reason: string) {
    super(`${JSON.stringify(text)}: ${reason}`)
    this.name = new.target.name
    this.text = text
  }
}

/**
 * Parses a duration (see the module comment for the grammar) into whole
 * milliseconds. Exact: decimals are computed without floating-point error
 * (`1.1s` is 1100, not 1100.0000000000002).
 *
 * @throws DurationSyntaxError (a TypeError) when `text` is not a duration,
 *   is finer than a millisecond or is larger than `Number.MAX_SAFE_INTEGER` ms.
 */
export function parseDuration(text: string): number {
  const whole = integerMs(text)
  if (whole !== undefined) return whole
  const ns = durationNs(text)
  if (ns % NS_PER_MS !== 0n) throw new DurationSyntaxError(text, 'finer than a millisecond')
  const ms = ns / NS_PER_MS
  if (ms > BigInt(Number.MAX_SAFE_INTEGER)) throw new DurationSyntaxError(text, 'too large')
  return Number(ms)
}

/**
 * Parses a duration in the same grammar into milliseconds that may have a
 * fractional part, exact to the nanosecond (`0.5ms` is 0.5): for values
 * that are latencies rather than intervals, such as a scenario's `p50`.
 *
 * @throws DurationSyntaxError (a TypeError) when `text` is not a duration,
 *   is finer than a nanosecond or is larger than `Number.MAX_SAFE_INTEGER` ms.
 */
export function parseDurationFine(text: string): number {
  const integer = integerMs(text)
  if (integer !== undefined) return integer
  const ns = durationNs(text)
  const whole = ns / NS_PER_MS
  if (whole > BigInt(Number.MAX_SAFE_INTEGER)) throw new DurationSyntaxError(text, 'too large')
  return Number(whole) + Number(ns % NS_PER_MS) / Number(NS_PER_MS)
}

const NS_PER_MS = 1_000_000n

/**
 * The common case, fast (a scenario of 10,000 pods parses ~50,000
 * durations): a duration without decimals, in ms, exact in plain numbers;
 * undefined when `text` has a decimal point (or is not a duration, which
 * {@link durationNs} then reports).
 */
function integerMs(text: string): number | undefined {
  if (text === '0') return 0
  if (text.includes('.')) return undefined
  const match = DURATION_PATTERN.exec(text)
  if (match === null) return undefined
  let total = 0
  UNITS.forEach((unit, i) => {
    const digits = match[i + 1]
    if (digits !== undefined) total += Number(digits) * MS_PER[unit]
  })
  // Every part is at most the total, so a safe total means every part was exact.
  if (!Number.isSafeInteger(total)) throw new DurationSyntaxError(text, 'too large')
  return total
}

/** The exact value of a duration in nanoseconds. */
function durationNs(text: string): bigint {
  if (text === '0') return 0n
  const match = DURATION_PATTERN.exec(text)
  if (match === null) {
    throw new DurationSyntaxError(text, 'not a duration (e.g. 500ms, 10s, 1m30s, 1.5m, 2h, 1d)')
  }
  let total = 0n
  UNITS.forEach((unit, i) => {
    const number = match[i + 1]
    if (number !== undefined) total += exactNs(text, number, BigInt(MS_PER[unit]) * NS_PER_MS)
  })
  return total
}

/** `number` (digits, optional decimals) times `scale` ns, exactly; refuses a fraction of a nanosecond. */
function exactNs(text: string, number: string, scale: bigint): bigint {
  const [whole = '0', fraction = ''] = number.split('.')
  const denominator = 10n ** BigInt(fraction.length)
  const scaled = BigInt(whole + fraction) * scale
  if (scaled % denominator !== 0n) throw new DurationSyntaxError(text, 'finer than a nanosecond')
  return scaled / denominator
}

/**
 * Whether `text` is a duration {@link parseDuration} accepts.
 */
export function isDuration(text: string): boolean {
  try {
    parseDuration(text)
    return true
  } catch {
    return false
  }
}

/**
 * Formats milliseconds the way {@link parseDuration} reads them, with the
 * largest units first and zero parts left out (`90000` → `1m30s`,
 * `1500` → `1s500ms`, `0` → `0s`). A fraction of a millisecond is written
 * with decimals on the `ms` part, to the nanosecond (`1000.5` → `1s0.5ms`),
 * which {@link parseDurationFine} reads back.
 *
 * @throws TypeError when `ms` is negative, not finite or larger than `Number.MAX_SAFE_INTEGER`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) throw new TypeError(`cannot format ${ms} as a duration`)
  if (ms === 0) return '0s'
  let rest = Math.floor(ms)
  const fraction = Number((ms - rest).toFixed(6))
  let text = ''
  for (const unit of UNITS) {
    const count = Math.floor(rest / MS_PER[unit])
    if (count > 0 || (unit === 'ms' && fraction > 0)) {
      text += unit === 'ms' && fraction > 0 ? `${String(count + fraction)}ms` : `${count}${unit}`
      rest -= count * MS_PER[unit]
    }
  }
  return text
}
