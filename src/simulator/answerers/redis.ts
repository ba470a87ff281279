/**
 * Answers pixie-exporter's library script `redis`: Redis requests per pod, trace role and command (redis_events): requests, latency sum.
 * Its table is usually returned as `redis_pod_stats` (the request's output_table_prefix).
 */
import { simulateRedis } from '../library/redis.js'
import { libraryAnswerer } from './library.js'

/** The answerer of `pixie-exporter/redis`. */
export const REDIS_ANSWERER = libraryAnswerer({
  queryName: 'pixie-exporter/redis',
  funcName: 'redis',
  errorStatus: false,
  columns: [
    { name: 'namespace', type: 'STRING' },
    { name: 'pod', type: 'STRING' },
    { name: 'role', type: 'STRING' },
    { name: 'req_cmd', type: 'STRING' },
    { name: 'requests', type: 'INT64' },
    { name: 'latency_sum_ns', type: 'INT64' },
  ],
  rows: simulateRedis,
})
