/**
 * Answers pixie-exporter's library script `http_service`: inbound HTTP per (namespace, ctx['service']) of pods with a service: requests, errors, latency sum and quantiles.
 * Its table is usually returned as `http_service_stats` (the request's output_table_prefix).
 */
import { simulateHttpService } from '../library/tables.js'
import { libraryAnswerer } from './library.js'

/** The answerer of `pixie-exporter/http_service`. */
export const HTTP_SERVICE_ANSWERER = libraryAnswerer({
  queryName: 'pixie-exporter/http_service',
  funcName: 'http_service',
  errorStatus: true,
  columns: [
    { name: 'namespace', type: 'STRING' },
    { name: 'service', type: 'STRING' },
    { name: 'requests', type: 'INT64' },
    { name: 'errors', type: 'INT64' },
    { name: 'latency_sum_ns', type: 'INT64' },
    { name: 'latency_p50_ns', type: 'FLOAT64' },
    { name: 'latency_p90_ns', type: 'FLOAT64' },
    { name: 'latency_p99_ns', type: 'FLOAT64' },
  ],
  rows: simulateHttpService,
})
