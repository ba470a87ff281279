/**
 * Answers pixie-exporter's library script `http_endpoint`: inbound HTTP per service, method and raw request path (with its query string): requests, errors, latency sum.
 * Its table is usually returned as `http_endpoint_stats` (the request's output_table_prefix).
 */
import { simulateHttpEndpoint } from '../library/tables.js'
import { libraryAnswerer } from './library.js'

/** The answerer of `pixie-exporter/http_endpoint`. */
export const HTTP_ENDPOINT_ANSWERER = libraryAnswerer({
  queryName: 'pixie-exporter/http_endpoint',
  funcName: 'http_endpoint',
  errorStatus: true,
  columns: [
    { name: 'namespace', type: 'STRING' },
    { name: 'service', type: 'STRING' },
    { name: 'req_method', type: 'STRING' },
    { name: 'req_path', type: 'STRING' },
    { name: 'requests', type: 'INT64' },
    { name: 'errors', type: 'INT64' },
    { name: 'latency_sum_ns', type: 'INT64' },
  ],
  rows: simulateHttpEndpoint,
})
