/**
 * Turn-taking for work that runs in slices on the serving thread: decoding
 * a PxL collector's rows, rendering its families in the background,
 * searching the exposition for secrets. Each slice ends with
 * `await nextTurn()`.
 *
 * With a plain `setImmediate` per task, every task waiting in the same
 * turn of the event loop runs its next slice in that turn: two library
 * collectors and their ten families, each a few ms a slice, added up to
 * pauses of 100 ms and more between two timers or two requests. Here the
 * waiting tasks form one queue and each turn resumes only the first of them,
 * so a turn holds one slice, whatever the number of tasks.
 */

const waiting: (() => void)[] = []
let pumping = false

function pump(): void {
  const next = waiting.shift()
  if (next === undefined) {
    pumping = false
    return
  }
  // The next turn takes the next waiter (immediates queued now run in the next turn).
  setImmediate(pump)
  next()
}

/** Resolves in a later turn of the event loop, after the tasks that asked before (one per turn). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve)
    if (!pumping) {
      pumping = true
      setImmediate(pump)
    }
  })
}
