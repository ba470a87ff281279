/**
 * Answers pixie-exporter's library script `network`: per pod alive in the range, bytes received and sent (network_stats).
 * Its table is usually returned as `pod_network` (the request's output_table_prefix).
 */
import { simulateNetwork } from '../library/tables.js'
import { libraryAnswerer } from './library.js'

/** The answerer of `pixie-exporter/network`. */
export const NETWORK_ANSWERER = libraryAnswerer({
  queryName: 'pixie-exporter/network',
  funcName: 'network',
  errorStatus: false,
  columns: [
    { name: 'namespace', type: 'STRING' },
    { name: 'pod', type: 'STRING' },
    { name: 'rx_bytes', type: 'INT64' },
    { name: 'tx_bytes', type: 'INT64' },
  ],
  rows: simulateNetwork,
})
