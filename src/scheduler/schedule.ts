import cron from 'node-cron'

/** When a collector runs: a fixed interval (turned into a cron expression) or a cron schedule. */
export type CollectorSchedule =
  | { readonly kind: 'interval'; readonly intervalMs: number; readonly cron: string }
  | { readonly kind: 'cron'; readonly cron: string }

/**
 * Turns a collection interval into a six-field cron expression that fires at
 * the same cadence, aligned to the clock. Returns undefined when no such
 * expression exists (the interval must be whole seconds, at least 1s, and
 * divide a minute, an hour or a day).
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
 * The nominal interval of a schedule, in ms: the interval itself, or for a cron
 * expression the gap between its next two runs (used for the default staleAfter).
 */
export function nominalIntervalMs(schedule: CollectorSchedule): number {
  if (schedule.kind === 'interval') return schedule.intervalMs
  const task = cron.createTask(schedule.cron, () => undefined)
  try {
    const [a, b] = task.getNextRuns(2)
    if (a === undefined || b === undefined) throw new TypeError(`cron schedule never runs twice: ${schedule.cron}`)
    return b.getTime() - a.getTime()
  } finally {
    void task.destroy()
  }
}

/** Default staleAfter: three nominal intervals. */
export function defaultStaleAfterMs(schedule: CollectorSchedule): number {
  return 3 * nominalIntervalMs(schedule)
}

/** Matching days sampled to find the longest gap between days a cron expression runs on (more than a year of daily runs). */
const DAYS_SAMPLED = 400

/**
 * The longest time between two consecutive runs of a schedule, ms: the
 * interval itself, or for a cron expression the larger of the longest gap
 * within a day (from its second, minute and hour fields) and the longest gap
 * across days (from the days it runs on, sampled over the next
 * {@link DAYS_SAMPLED} of them). Data older than this is normal between two
 * runs, so staleAfter and expireAfter may not be shorter.
 */
export function longestGapMs(schedule: CollectorSchedule): number {
  if (schedule.kind === 'interval') return schedule.intervalMs
  const fields = cron.parse(schedule.cron)
  const sorted = (values: readonly number[]) => [...new Set(values)].sort((a, b) => a - b)
  const times: number[] = []
  for (const h of sorted(fields.hour)) for (const m of sorted(fields.minute)) for (const s of sorted(fields.second)) times.push(h * 3600 + m * 60 + s)
  let withinDay = 0
  for (let i = 1; i < times.length; i++) withinDay = Math.max(withinDay, (times[i] ?? 0) - (times[i - 1] ?? 0))
  const span = (times[times.length - 1] ?? 0) - (times[0] ?? 0)
  // The days it runs on: a daily run on the same day-of-month, month and day-of-week fields.
  const [, , , dayOfMonth, month, dayOfWeek] = schedule.cron.trim().split(/\s+/)
  const everyDay = [dayOfMonth, month, dayOfWeek].every((f) => f === undefined || f === '*' || f === '?')
  const acrossDays = everyDay ? 86_400_000 : longestDayGapMs(`0 0 0 ${dayOfMonth ?? '*'} ${month ?? '*'} ${dayOfWeek ?? '*'}`)
  return Math.max(withinDay * 1000, acrossDays - span * 1000)
}

/** The longest gap between consecutive runs of a daily cron expression over its next {@link DAYS_SAMPLED} runs, ms. */
function longestDayGapMs(daily: string): number {
  const task = cron.createTask(daily, () => undefined)
  try {
    const days = task.getNextRuns(DAYS_SAMPLED)
    let gap = 86_400_000
    for (let i = 1; i < days.length; i++) gap = Math.max(gap, (days[i]?.getTime() ?? 0) - (days[i - 1]?.getTime() ?? 0))
    return gap
  } finally {
    void task.destroy()
  }
}
