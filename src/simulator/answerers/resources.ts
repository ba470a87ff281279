/**
 * Answers pixie-exporter's library script `resources`: per pod alive in the range, CPU ns used and peak RSS bytes (process_stats).
 * Its table is usually returned as `pod_resources` (the request's output_table_prefix).
 */
import { simulateResources } from '../library/tables.js'
import { libraryAnswerer } from './library.js'

/** The answerer of `pixie-exporter/resources`. */
export const RESOURCES_ANSWERER = libraryAnswerer({
  queryName: 'pixie-exporter/resources',
  funcName: 'resources',
  errorStatus: false,
  columns: [
    { name: 'namespace', type: 'STRING' },
    { name: 'pod', type: 'STRING' },
    { name: 'cpu_ns', type: 'INT64' },
    { name: 'rss_bytes', type: 'INT64' },
  ],
  rows: simulateResources,
})
