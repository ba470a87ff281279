/**
 * The simulated `redis_pod_stats` table (library collector `redis`): the
 * Redis commands every pod with HTTP traffic sends as a client, derived from
 * its HTTP rate like the other library tables (model.ts), so scenarios need
 * no new fields. The table's name and columns are written here as Pixie
 * would send them; nothing is imported from the exporter's collectors.
 */
import { PodResources, type LinearRate } from './model.js'
import type { CellValue, LibraryQuery, SimulatedTable } from './tables.js'

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

const COLUMNS: SimulatedTable['columns'] = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'role', type: 'STRING' },
  { name: 'req_cmd', type: 'STRING' },
  { name: 'requests', type: 'INT64' },
  { name: 'latency_sum_ns', type: 'INT64' },
]

function kept(q: LibraryQuery, namespace: string): boolean {
  if (q.include.length > 0 && !q.include.includes(namespace)) return false
  return !q.exclude.includes(namespace)
}

/**
 * `redis_pod_stats`: per (namespace, pod, role client, command) with requests
 * in the range, the request count and latency sum. Counts are increases of
 * cumulative integer counts, so contiguous ranges add up exactly.
 */
export function simulateRedis(q: LibraryQuery): SimulatedTable {
  const rows: CellValue[][] = []
  let records = 0
  for (const { pod } of q.traffic) {
    if (!kept(q, pod.namespace)) continue
    const model = new PodResources(pod)
    for (const [command, share] of REDIS_MODEL.commands) {
      const requests = model.increase(REDIS_MODEL.requestsPerSecond, q.startMs, q.endMs, share)
      if (requests === 0) continue
      const latencySumNs = model.increase(REDIS_MODEL.requestsPerSecond, q.startMs, q.endMs, share * REDIS_MODEL.latencyNs)
      records += requests
      rows.push([pod.namespace, `${pod.namespace}/${pod.name}`, 'client', command, requests, latencySumNs])
    }
  }
  return { name: 'redis_pod_stats', columns: COLUMNS, rows: rows.slice(0, q.maxRows), truncated: Math.max(0, rows.length - q.maxRows), recordsProcessed: records }
}
