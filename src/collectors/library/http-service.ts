/**
 * Library collector `http_service`: inbound HTTP traffic per Kubernetes
 * service, for service-level objectives. One row per (namespace, service)
 * over the run's range: requests, errors, the latency sum and the p50/p90/p99
 * latency. Traffic of pods that no service selects is left out.
 *
 * The service is Pixie's `ctx['service']` of the serving pod, so a pod selected
 * by two services counts under the label `a,b` (transform `service-list`), not
 * under each of them: a request is counted once.
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
export const HTTP_SERVICE = 'http_service'
/** `px.display` name of its table. */
export const HTTP_SERVICE_TABLE = 'http_service_stats'
/** Columns of {@link HTTP_SERVICE_TABLE}, in order. Latencies are ns. */
export const HTTP_SERVICE_COLUMNS = [
  { name: 'namespace', type: 'STRING' },
  { name: 'service', type: 'STRING' },
  { name: 'requests', type: 'INT64' },
  { name: 'errors', type: 'INT64' },
  { name: 'latency_sum_ns', type: 'INT64' },
  { name: 'latency_p50_ns', type: 'FLOAT64' },
  { name: 'latency_p90_ns', type: 'FLOAT64' },
  { name: 'latency_p99_ns', type: 'FLOAT64' },
] as const satisfies readonly LibraryColumn[]

/** The PxL of the collector (exported for the docs and the simulator tests). */
export function httpServiceScript(options: LibraryOptions): string {
  const r = resolveLibraryOptions(options)
  return libraryScript(HTTP_SERVICE, r, [
    '# Inbound HTTP requests (trace_role 2 = server side) answered in the range.',
    sourceLine('df', 'http_events'),
    'df = df[df.trace_role == 2]',
    "df.namespace = df.ctx['namespace']",
    ...namespaceFilter('df'),
    "df.service = df.ctx['service']",
    "df = df[df.service != '']",
    'df = df[df.resp_status >= 100 and df.resp_status < 600]',
    'df.failure = df.resp_status >= error_status_min',
    "df = df.groupby(['namespace', 'service']).agg(",
    "    requests=('latency', px.count),",
    "    errors=('failure', px.sum),",
    "    latency_sum_ns=('latency', px.sum),",
    "    latency_quantiles=('latency', px.quantiles),",
    ')',
    "df.latency_p50_ns = px.pluck_float64(df.latency_quantiles, 'p50')",
    "df.latency_p90_ns = px.pluck_float64(df.latency_quantiles, 'p90')",
    "df.latency_p99_ns = px.pluck_float64(df.latency_quantiles, 'p99')",
    projectLine('df', HTTP_SERVICE_COLUMNS),
  ], 'df', { errorStatus: true })
}

const RANGE_NOTE = 'over the collector range'

/** Builds the `http_service` collector. @throws TypeError on invalid options. */
export function httpServiceCollector(options: LibraryOptions): PxlCollectorSpec {
  return {
    name: HTTP_SERVICE,
    script: httpServiceScript(options),
    table: HTTP_SERVICE_TABLE,
    execFuncs: libraryExecFuncs(HTTP_SERVICE, HTTP_SERVICE_TABLE, resolveLibraryOptions(options), { errorStatus: true }),
    ...commonSpecFields(options),
    labels: [
      { column: 'namespace', label: 'namespace' },
      { column: 'service', label: 'service', transform: 'service-list' },
    ],
    metrics: [
      { column: 'requests', name: 'pixie_http_service_requests_total', help: 'Inbound HTTP requests answered by the pods of the service, as traced by Pixie.', type: 'counter' },
      {
        column: 'errors',
        name: 'pixie_http_service_errors_total',
        help: 'Inbound HTTP requests of the service answered with an error status (>= errorStatusMin, default 500).',
        type: 'counter',
      },
      {
        column: 'latency_sum_ns',
        name: 'pixie_http_service_request_duration_seconds_total',
        help: 'Sum of the latencies of the inbound HTTP requests of the service, in seconds.',
        type: 'counter',
        scale: 1e-9,
      },
      ...(['p50', 'p90', 'p99'] as const).map((q) => ({
        column: `latency_${q}_ns`,
        name: `pixie_http_service_latency_${q}_seconds`,
        help: `The ${q} latency of the inbound HTTP requests of the service ${RANGE_NOTE}, in seconds.`,
        type: 'gauge' as const,
        scale: 1e-9,
      })),
    ],
  }
}

/** This collector as a module of the collector list (src/collectors/index.ts). */
export const httpService: LibraryModule = libraryModule({
  name: HTTP_SERVICE,
  summary: 'Inbound HTTP requests per namespace and service: requests, errors and latency sum (counters); p50/p90/p99 latency (gauges).',
  spec: httpServiceCollector,
})
