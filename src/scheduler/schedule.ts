import cron from 'node-cron'
import type { CollectorSchedule } from '../config/types.js'

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
