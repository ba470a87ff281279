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
