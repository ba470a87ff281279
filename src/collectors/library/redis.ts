/**
 * Library collector `redis`: Redis requests per pod, trace role and command
 * from Pixie's `redis_events` table (columns `trace_role`, `req_cmd`,
 * `req_args`, `resp`, `latency`, ...). `command` is Stirling's `req_cmd`, the
 * request's command name (`GET`, `SET`, `HGETALL`, ...), a bounded set.
 *
 * No error counter: `redis_events` has no status column, only the reply as
 * text (`resp`), and telling an error reply from a string that merely looks
 * like one is guesswork. Requests and the latency sum are exact.
 */
import { libraryModule, type LibraryModule } from '../module.js'
import type { PxlCollectorSpec } from '../pxl-spec.js'
import {
  commonSpecFields,
  namespaceFilter,
  projectLine,
  libraryExecFuncs,
  libraryScript,
  resolveLibraryOptions,
  sourceLine,
  type LibraryColumn,
  type LibraryOptions,
} from './options.js'

/** Name of the collector (its query_name is `pixie-exporter/<name>`). */
export const REDIS = 'redis'
/** `px.display` name of its table. */
export const REDIS_TABLE = 'redis_pod_stats'
/** Columns of {@link REDIS_TABLE}, in order. `pod` is `<namespace>/<pod>`; latencies are ns. */
export const REDIS_COLUMNS = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'role', type: 'STRING' },
  { name: 'req_cmd', type: 'STRING' },
  { name: 'requests', type: 'INT64' },
  { name: 'latency_sum_ns', type: 'INT64' },
] as const satisfies readonly LibraryColumn[]

/** The PxL of the collector. */
export function redisScript(options: LibraryOptions): string {
  const r = resolveLibraryOptions(options)
  return libraryScript(REDIS, r, [
    '# Redis requests traced in the range, per pod, trace role and command.',
    sourceLine('df', 'redis_events'),
    'df = df[df.trace_role == 1 or df.trace_role == 2]',
    "df.namespace = df.ctx['namespace']",
    ...namespaceFilter('df'),
    "df.pod = df.ctx['pod']",
    "df = df[df.pod != '']",
    "df.role = px.select(df.trace_role == 2, 'server', 'client')",
    "df = df.groupby(['namespace', 'pod', 'role', 'req_cmd']).agg(",
    "    requests=('latency', px.count),",
    "    latency_sum_ns=('latency', px.sum),",
    ')',
    projectLine('df', REDIS_COLUMNS),
  ], 'df')
}

/** Builds the `redis` collector's spec. @throws TypeError on invalid options. */
export function redisCollector(options: LibraryOptions): PxlCollectorSpec {
  return {
    name: REDIS,
    script: redisScript(options),
    table: REDIS_TABLE,
    execFuncs: libraryExecFuncs(REDIS, REDIS_TABLE, resolveLibraryOptions(options)),
    ...commonSpecFields(options),
    labels: [
      { column: 'namespace', label: 'namespace' },
      { column: 'pod', label: 'pod', transform: 'strip-namespace' },
      { column: 'role', label: 'role' },
      { column: 'req_cmd', label: 'command' },
    ],
    metrics: [
      { column: 'requests', name: 'pixie_redis_requests_total', help: 'Redis requests traced by Pixie, by pod, role (client or server) and command.', type: 'counter' },
      {
        column: 'latency_sum_ns',
        name: 'pixie_redis_request_duration_seconds_total',
        help: 'Sum of the latencies of the Redis requests, by pod, role and command, in seconds.',
        type: 'counter',
        scale: 1e-9,
      },
    ],
  }
}

/** This collector as a module of the collector list (src/collectors/index.ts). */
export const redis: LibraryModule = libraryModule({
  name: REDIS,
  summary: 'Redis requests per namespace, pod, role and command: requests and latency sum (counters).',
  spec: redisCollector,
})
