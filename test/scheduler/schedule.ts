import t from 'tap'
import { intervalToCron, longestGapMs, nominalIntervalMs } from '../../src/scheduler/schedule.js'

t.test('intervals become clock-aligned cron expressions', async (t) => {
  const table: [number, string | undefined][] = [
    [1_000, '* * * * * *'],
    [5_000, '*/5 * * * * *'],
    [15_000, '*/15 * * * * *'],
    [30_000, '*/30 * * * * *'],
    [60_000, '0 * * * * *'],
    [300_000, '0 */5 * * * *'],
    [1_800_000, '0 */30 * * * *'],
    [3_600_000, '0 0 * * * *'],
    [21_600_000, '0 0 */6 * * *'],
    [86_400_000, '0 0 0 * * *'],
    [7_000, undefined],
    [45_000, undefined],
    [90_000, undefined],
    [420_000, undefined],
    [18_000_000, undefined],
    [172_800_000, undefined],
    [1_500, undefined],
    [500, undefined],
  ]
  for (const [ms, cron] of table) t.equal(intervalToCron(ms), cron, `${ms}ms → ${String(cron)}`)
})

t.test('an interval schedule is its own nominal interval and longest gap', async (t) => {
  const schedule = { kind: 'interval', intervalMs: 15_000, cron: '*/15 * * * * *' } as const
  t.equal(nominalIntervalMs(schedule), 15_000, 'nominal interval')
  t.equal(longestGapMs(schedule), 15_000, 'longest gap')
})

t.test('a cron schedule is measured from its runs', async (t) => {
  t.equal(nominalIntervalMs({ kind: 'cron', cron: '*/10 * * * * *' }), 10_000, 'every 10s')
  // Every 10 minutes from 00:00 to 05:50, then nothing until midnight.
  t.equal(longestGapMs({ kind: 'cron', cron: '0 */10 0-5 * * *' }), 18 * 3_600_000 + 10 * 60_000, 'the gap over the night')
})
