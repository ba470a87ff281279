/**
 * Answers pixie-exporter's library script `dns`: DNS requests per pod and trace role (dns_events): requests, errors (rcode other than NOERROR), latency sum.
 * Its table is usually returned as `dns_pod_stats` (the request's output_table_prefix).
 */
import { simulateDns } from '../library/tables.js'
import { libraryAnswerer } from './library.js'

/** The answerer of `pixie-exporter/dns`. */
export const DNS_ANSWERER = libraryAnswerer({
  queryName: 'pixie-exporter/dns',
  funcName: 'dns',
  errorStatus: false,
  columns: [
    { name: 'namespace', type: 'STRING' },
    { name: 'pod', type: 'STRING' },
    { name: 'role', type: 'STRING' },
    { name: 'requests', type: 'INT64' },
    { name: 'errors', type: 'INT64' },
    { name: 'latency_sum_ns', type: 'INT64' },
  ],
  rows: simulateDns,
})
