/**
 * Sliced background work takes turns (src/turns.ts): however many tasks are
 * slicing at once, one turn of the event loop runs one slice.
 */
import t from 'tap'
import { nextTurn } from '../src/turns.js'

/** Runs `tasks` sliced tasks of `slices` slices each, with `yieldTo` between slices; returns the log of slices and loop turns. */
async function run(tasks: number, slices: number, yieldTo: () => Promise<void>): Promise<string[]> {
  const log: string[] = []
  let probing = true
  // One entry per turn of the loop: an immediate that re-queues itself runs once per turn.
  const probe = () => {
    log.push('turn')
    if (probing) setImmediate(probe)
  }
  setImmediate(probe)
  await Promise.all(
    Array.from({ length: tasks }, async (_, task) => {
      for (let s = 0; s < slices; s++) {
        log.push(`slice ${task}.${s}`)
        await yieldTo()
      }
    }),
  )
  probing = false
  return log
}

/** The most slices that ran between two turns of the loop. */
function mostSlicesPerTurn(log: readonly string[]): number {
  let most = 0
  let run = 0
  for (const entry of log) {
    if (entry === 'turn') run = 0
    else most = Math.max(most, ++run)
  }
  return most
}

t.test('five tasks slicing at once: one slice per turn of the event loop, every slice run in order', async (t) => {
  const log = await run(5, 6, nextTurn)
  t.equal(mostSlicesPerTurn(log.slice(log.indexOf('turn'))), 1, 'never two slices in one turn')
  t.equal(log.filter((e) => e !== 'turn').length, 30, 'every slice ran')
  for (let task = 0; task < 5; task++) {
    const mine = log.filter((e) => e.startsWith(`slice ${task}.`))
    t.same(mine, Array.from({ length: 6 }, (_, s) => `slice ${task}.${s}`), `task ${task}'s slices in order`)
  }
})

t.test('the control: with a setImmediate per task, the slices of all tasks pile up in one turn', async (t) => {
  const log = await run(5, 6, () => new Promise((resolve) => setImmediate(resolve)))
  t.ok(mostSlicesPerTurn(log.slice(log.indexOf('turn'))) >= 5, 'five slices in one turn: what nextTurn prevents')
})

t.test('a task alone still gets a turn each time, and the queue starts again once empty', async (t) => {
  let turns = 0
  const ticker = setInterval(() => turns++, 0)
  for (let i = 0; i < 3; i++) await nextTurn()
  await new Promise((resolve) => setTimeout(resolve, 5))
  for (let i = 0; i < 3; i++) await nextTurn()
  clearInterval(ticker)
  t.ok(turns > 0, 'timers ran between turns')
})
