/**
 * Library collector `http_endpoint`: inbound HTTP traffic per service, method
 * and route. The script groups by the raw `req_path`; the exporter turns each
 * path into a low-cardinality route with the `route` label transform (user
 * patterns such as `/orders/*` first, then the default heuristic for ids,
 * numbers and UUIDs, capped at `routes.maxRoutes`), and adds up the rows that
 * end in the same route. The raw path is never exported.
 *
 * Only additive figures are exported (requests, errors, latency sum): a
 * quantile of one path cannot be merged with that of another path of the same
 * route, so there are no quantile gauges here; the mean latency is
 * `rate(duration_seconds_total) / rate(requests_total)`.
 */
import { libraryModule, type LibraryModule } from '../module.js'
import type { PxlCollectorSpec } from '../pxl-spec.js'
import { DEFAULT_MAX_ROUTES, patternProblem } from '../routes.js'
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
export const HTTP_ENDPOINT = 'http_endpoint'
/** `px.display` name of its table. */
export const HTTP_ENDPOINT_TABLE = 'http_endpoint_stats'
/** Columns of {@link HTTP_ENDPOINT_TABLE}, in order. `req_path` is raw (with its query string). */
export const HTTP_ENDPOINT_COLUMNS = [
  { name: 'namespace', type: 'STRING' },
  { name: 'service', type: 'STRING' },
  { name: 'req_method', type: 'STRING' },
  { name: 'req_path', type: 'STRING' },
  { name: 'requests', type: 'INT64' },
  { name: 'errors', type: 'INT64' },
  { name: 'latency_sum_ns', type: 'INT64' },
] as const satisfies readonly LibraryColumn[]

function routerOptions(options: LibraryOptions): { patterns: readonly string[]; maxRoutes: number } {
  const patterns = [...(options.routes?.patterns ?? [])]
  for (const pattern of patterns) {
    const problem = patternProblem(pattern)
    if (problem !== undefined) throw new TypeError(`route pattern ${JSON.stringify(pattern)} ${problem}`)
  }
  const maxRoutes = options.routes?.maxRoutes ?? DEFAULT_MAX_ROUTES
  if (!Number.isSafeInteger(maxRoutes) || maxRoutes < 0) throw new TypeError('routes.maxRoutes must be a non-negative integer')
  return { patterns, maxRoutes }
}

/** The PxL of the collector. */
export function httpEndpointScript(options: LibraryOptions): string {
  const r = resolveLibraryOptions(options)
  return libraryScript(HTTP_ENDPOINT, r, [
    '# Inbound HTTP requests (trace_role 2 = server side) answered in the range, by raw path.',
    sourceLine('df', 'http_events'),
    'df = df[df.trace_role == 2]',
    "df.namespace = df.ctx['namespace']",
    ...namespaceFilter('df'),
    "df.service = df.ctx['service']",
    'df = df[df.resp_status >= 100 and df.resp_status < 600]',
    'df.failure = df.resp_status >= error_status_min',
    "df = df.groupby(['namespace', 'service', 'req_method', 'req_path']).agg(",
    "    requests=('latency', px.count),",
    "    errors=('failure', px.sum),",
    "    latency_sum_ns=('latency', px.sum),",
    ')',
    projectLine('df', HTTP_ENDPOINT_COLUMNS),
  ], 'df', { errorStatus: true })
}

/** Builds the `http_endpoint` collector. @throws TypeError on invalid options. */
export function httpEndpointCollector(options: LibraryOptions): PxlCollectorSpec {
  return {
    name: HTTP_ENDPOINT,
    script: httpEndpointScript(options),
    table: HTTP_ENDPOINT_TABLE,
    execFuncs: libraryExecFuncs(HTTP_ENDPOINT, HTTP_ENDPOINT_TABLE, resolveLibraryOptions(options), { errorStatus: true }),
    ...commonSpecFields(options),
    routes: routerOptions(options),
    labels: [
      { column: 'namespace', label: 'namespace' },
      { column: 'service', label: 'service', transform: 'service-list' },
      { column: 'req_method', label: 'method' },
      { column: 'req_path', label: 'route', transform: 'route' },
    ],
    metrics: [
      { column: 'requests', name: 'pixie_http_endpoint_requests_total', help: 'Inbound HTTP requests by service, method and route, as traced by Pixie.', type: 'counter' },
      {
        column: 'errors',
        name: 'pixie_http_endpoint_errors_total',
        help: 'Inbound HTTP requests by service, method and route answered with an error status (>= errorStatusMin, default 500).',
        type: 'counter',
      },
      {
        column: 'latency_sum_ns',
        name: 'pixie_http_endpoint_request_duration_seconds_total',
        help: 'Sum of the latencies of the inbound HTTP requests by service, method and route, in seconds.',
        type: 'counter',
        scale: 1e-9,
      },
    ],
  }
}

/** This collector as a module of the collector list (src/collectors/index.ts). */
export const httpEndpoint: LibraryModule = libraryModule({
  name: HTTP_ENDPOINT,
  summary: 'Inbound HTTP requests per namespace, service, method and route: requests, errors and latency sum (counters).',
  takesRoutes: true,
  spec: httpEndpointCollector,
})
