/**
 * Library collector `network`: bytes received and sent per pod, from Pixie's
 * `network_stats` table (cumulative counters of the pod's network interface,
 * sampled by Stirling about once a second per pod, keyed by `pod_id`).
 *
 * The increase over the range is `max − min` of `rx_bytes` / `tx_bytes` per
 * `pod_id` among the samples in the range, summed per pod name (a pod
 * recreated under the same name has a new `pod_id`). As for `resources`, the
 * increase between the last sample of the previous range and the first one of
 * this range (at most about one second per pod and run) is not counted, so the
 * counters slightly under-count. The table has no `upid`; the pod and
 * namespace come from its `pod_id` through `px.pod_id_to_pod_name` /
 * `px.pod_id_to_namespace`.
 */
import { libraryModule, type LibraryModule } from '../module.js'
import type { PxlCollectorSpec } from '../pxl-spec.js'
import {
  commonSpecFields,
  namespaceFilter,
  projectLine,
  resolveLibraryOptions,
  libraryExecFuncs,
  libraryScript,
  sourceLine,
  type LibraryColumn,
  type LibraryOptions,
} from './options.js'

/** Name of the collector (its query_name is `pixie-exporter/<name>`). */
export const NETWORK = 'network'
/** `px.display` name of its table. */
export const NETWORK_TABLE = 'pod_network'
/** Columns of {@link NETWORK_TABLE}, in order. `pod` is `<namespace>/<pod>`. */
export const NETWORK_COLUMNS = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'rx_bytes', type: 'INT64' },
  { name: 'tx_bytes', type: 'INT64' },
] as const satisfies readonly LibraryColumn[]

/** The PxL of the collector. */
export function networkScript(options: LibraryOptions): string {
  const r = resolveLibraryOptions(options)
  return libraryScript(NETWORK, r, [
    '# Per pod ID: bytes received and sent in the range (max - min of the cumulative counters).',
    sourceLine('df', 'network_stats'),
    "df = df.groupby(['pod_id']).agg(",
    "    rx_max=('rx_bytes', px.max),",
    "    rx_min=('rx_bytes', px.min),",
    "    tx_max=('tx_bytes', px.max),",
    "    tx_min=('tx_bytes', px.min),",
    ')',
    'df.namespace = px.pod_id_to_namespace(df.pod_id)',
    ...namespaceFilter('df'),
    'df.pod = px.pod_id_to_pod_name(df.pod_id)',
    "df = df[df.pod != '']",
    'df.rx_delta = df.rx_max - df.rx_min',
    'df.tx_delta = df.tx_max - df.tx_min',
    "df = df.groupby(['namespace', 'pod']).agg(",
    "    rx_bytes=('rx_delta', px.sum),",
    "    tx_bytes=('tx_delta', px.sum),",
    ')',
    projectLine('df', NETWORK_COLUMNS),
  ], 'df')
}

/** Builds the `network` collector. @throws TypeError on invalid options. */
export function networkCollector(options: LibraryOptions): PxlCollectorSpec {
  return {
    name: NETWORK,
    script: networkScript(options),
    table: NETWORK_TABLE,
    execFuncs: libraryExecFuncs(NETWORK, NETWORK_TABLE, resolveLibraryOptions(options)),
    ...commonSpecFields(options),
    labels: [
      { column: 'namespace', label: 'namespace' },
      { column: 'pod', label: 'pod', transform: 'strip-namespace' },
    ],
    metrics: [
      {
        column: 'rx_bytes',
        name: 'pixie_pod_network_receive_bytes_total',
        help: 'Bytes received on the network interface of the pod, from Pixie network_stats (slightly under-counted: see the docs).',
        type: 'counter',
      },
      {
        column: 'tx_bytes',
        name: 'pixie_pod_network_transmit_bytes_total',
        help: 'Bytes sent on the network interface of the pod, from Pixie network_stats (slightly under-counted: see the docs).',
        type: 'counter',
      },
    ],
  }
}

/** This collector as a module of the collector list (src/collectors/index.ts). */
export const network: LibraryModule = libraryModule({
  name: NETWORK,
  summary: 'Bytes received and sent (counters) per namespace and pod.',
  spec: networkCollector,
})
