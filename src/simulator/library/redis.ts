/**
 * The simulated rows of the library function `redis`: the Redis commands
 * every pod with HTTP traffic sends as a client, derived from its HTTP rate
 * like the other library tables (model.ts), so scenarios need no new fields.
 */
import { PodResources, type LinearRate } from './model.js'
import type { CellValue } from '../answerers/answerer.js'
import type { LibraryQuery, LibraryRows } from './tables.js'

/** Redis requests a pod sends (role client) per second, split over the commands below. */
export const REDIS_MODEL = {
  requestsPerSecond: { base: 0, perRps: 0.5 } satisfies LinearRate,
  /** Command shares (sum 1). */
  commands: [
    ['GET', 0.6],
    ['SET', 0.3],
    ['DEL', 0.1],
  ] as const,
  /** Mean latency of a Redis request, ns. */
  latencyNs: 500_000,
} as const

/**
 * Per (namespace, pod, role client, command) with requests in the range, the
 * request count and latency sum. Counts are increases of cumulative integer
 * counts, so contiguous ranges add up exactly.
 */
export function simulateRedis(q: LibraryQuery): LibraryRows {
  const rows: CellValue[][] = []
  let records = 0
  for (const { pod } of q.traffic) {
    if (!q.keepNamespace(pod.namespace)) continue
    const model = new PodResources(pod)
    for (const [command, share] of REDIS_MODEL.commands) {
      const requests = model.increase(REDIS_MODEL.requestsPerSecond, q.startMs, q.endMs, share)
      if (requests === 0) continue
      const latencySumNs = model.increase(REDIS_MODEL.requestsPerSecond, q.startMs, q.endMs, share * REDIS_MODEL.latencyNs)
      records += requests
      rows.push([pod.namespace, `${pod.namespace}/${pod.name}`, 'client', command, requests, latencySumNs])
    }
  }
  return { rows, recordsProcessed: records }
}
