/**
 * The shape shared by the library's non-HTTP protocol collectors (`dns`,
 * `mysql`): per pod and trace role, the requests Pixie traced in the range,
 * how many failed (a protocol-specific expression) and the latency sum.
 *
 * `role` says on which side Pixie saw the request: `server` (`trace_role`
 * 2, the pod answered it) or `client` (`trace_role` 1, the pod sent it;
 * Pixie traces the client side when the server is outside the cluster or not
 * traced). Records of unknown role are left out.
 */
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

/** Columns of a protocol collector's table, in order. `pod` is `<namespace>/<pod>`. */
export const PROTOCOL_COLUMNS = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'role', type: 'STRING' },
  { name: 'requests', type: 'INT64' },
  { name: 'errors', type: 'INT64' },
  { name: 'latency_sum_ns', type: 'INT64' },
] as const satisfies readonly LibraryColumn[]

/** What differs between protocol collectors. */
export interface ProtocolDefinition {
  /** Collector name (query_name `pixie-exporter/<name>`), also the metric infix: `pixie_<name>_requests_total`. */
  readonly name: string
  /** Pixie table read. */
  readonly source: string
  /** `px.display` name of the result. */
  readonly table: string
  /** PxL boolean expression over `df` that marks a failed request. */
  readonly failure: string
  /** Comment line explaining {@link failure}. */
  readonly failureNote: string
  /** Human name for HELP texts (`DNS`, `MySQL`). */
  readonly title: string
  /** What counts as an error, for the errors HELP text. */
  readonly errorHelp: string
}

/** The PxL of a protocol collector. */
export function protocolScript(def: ProtocolDefinition, options: LibraryOptions): string {
  const r = resolveLibraryOptions(options)
  return libraryScript(def.name, r, [
    `# ${def.title} requests traced in the range, per pod and trace role.`,
    sourceLine('df', def.source),
    'df = df[df.trace_role == 1 or df.trace_role == 2]',
    "df.namespace = df.ctx['namespace']",
    ...namespaceFilter('df'),
    "df.pod = df.ctx['pod']",
    "df = df[df.pod != '']",
    "df.role = px.select(df.trace_role == 2, 'server', 'client')",
    `# ${def.failureNote}`,
    `df.failure = ${def.failure}`,
    "df = df.groupby(['namespace', 'pod', 'role']).agg(",
    "    requests=('latency', px.count),",
    "    errors=('failure', px.sum),",
    "    latency_sum_ns=('latency', px.sum),",
    ')',
    projectLine('df', PROTOCOL_COLUMNS),
  ], 'df')
}

/** Builds a protocol collector. @throws TypeError on invalid options. */
export function protocolCollector(def: ProtocolDefinition, options: LibraryOptions): PxlCollectorSpec {
  return {
    name: def.name,
    script: protocolScript(def, options),
    table: def.table,
    execFuncs: libraryExecFuncs(def.name, def.table, resolveLibraryOptions(options)),
    ...commonSpecFields(options),
    labels: [
      { column: 'namespace', label: 'namespace' },
      { column: 'pod', label: 'pod', transform: 'strip-namespace' },
      { column: 'role', label: 'role' },
    ],
    metrics: [
      { column: 'requests', name: `pixie_${def.name}_requests_total`, help: `${def.title} requests traced by Pixie, by pod and role (client or server).`, type: 'counter' },
      { column: 'errors', name: `pixie_${def.name}_errors_total`, help: `${def.title} requests that failed (${def.errorHelp}), by pod and role.`, type: 'counter' },
      {
        column: 'latency_sum_ns',
        name: `pixie_${def.name}_request_duration_seconds_total`,
        help: `Sum of the latencies of the ${def.title} requests, by pod and role, in seconds.`,
        type: 'counter',
        scale: 1e-9,
      },
    ],
  }
}
