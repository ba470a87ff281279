/**
 * Answers pixie-exporter's library script `mysql`: MySQL requests per pod and trace role (mysql_events): requests, errors, latency sum.
 * Its table is usually returned as `mysql_pod_stats` (the request's output_table_prefix).
 */
import { simulateMysql } from '../library/tables.js'
import { libraryAnswerer } from './library.js'

/** The answerer of `pixie-exporter/mysql`. */
export const MYSQL_ANSWERER = libraryAnswerer({
  queryName: 'pixie-exporter/mysql',
  funcName: 'mysql',
  errorStatus: false,
  columns: [
    { name: 'namespace', type: 'STRING' },
    { name: 'pod', type: 'STRING' },
    { name: 'role', type: 'STRING' },
    { name: 'requests', type: 'INT64' },
    { name: 'errors', type: 'INT64' },
    { name: 'latency_sum_ns', type: 'INT64' },
  ],
  rows: simulateMysql,
})
