/**
 * Answers pixie-exporter's HTTP script (`query_name`
 * `pixie-exporter/http_pod_stats`). The request calls up to three functions,
 * each returning one table named by its output_table_prefix:
 *
 * - `http_pod_stats(start_time: int, end_time: int, include_namespaces: str,
 *   exclude_namespaces: str, error_status_min: int)`: per pod, inbound
 *   requests, errors and latency quantiles over [start_time, end_time);
 * - `http_pod_counts(start_time, end_time, include_namespaces,
 *   exclude_namespaces, le_0: int, le_1: int, ...)`: per pod, requests by
 *   status class, latency sum and the cumulative count of each latency bucket
 *   `le_i` (upper bound in ns);
 * - `http_pod_native_buckets(start_time, end_time, include_namespaces,
 *   exclude_namespaces, scale: float)`: per pod and exponential bucket
 *   `ceil(log2(seconds) * scale)` (scale = 2^schema), the requests in it.
 */
import type { Wire } from '../../pixie/proto.js'
import { simulateHttpPodCounts, type HttpPodCountsRows } from '../http-pod-counts.js'
import { simulateHttpPodStats, type HttpQuery } from '../http-pod-stats.js'
import { STATUS_CLASSES } from '../traffic.js'
import { column, intArg, floatArg, regexArg, SimCompileError, type Answerer, type FuncCall, type SimColumn, type SimTable } from './answerer.js'

const RANGE_AND_NAMESPACES = [
  { name: 'start_time', type: 'int' },
  { name: 'end_time', type: 'int' },
  { name: 'include_namespaces', type: 'str' },
  { name: 'exclude_namespaces', type: 'str' },
] as const

const STATS = 'http_pod_stats'
const COUNTS = 'http_pod_counts'
const NATIVE = 'http_pod_native_buckets'

/** Relation of `http_pod_stats`, as Pixie sends it. */
const STATS_COLUMNS: readonly SimColumn[] = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'service', type: 'STRING' },
  { name: 'requests', type: 'INT64' },
  { name: 'errors', type: 'INT64' },
  { name: 'latency_p50_ns', type: 'FLOAT64' },
  { name: 'latency_p90_ns', type: 'FLOAT64' },
  { name: 'latency_p99_ns', type: 'FLOAT64' },
]

/** Relation of `http_pod_counts` for `buckets` latency buckets. */
function countsColumns(buckets: number): SimColumn[] {
  return [
    { name: 'namespace', type: 'STRING' },
    { name: 'pod', type: 'STRING' },
    { name: 'service', type: 'STRING' },
    { name: 'requests', type: 'INT64' },
    ...STATUS_CLASSES.map((c) => ({ name: `s${c}`, type: 'INT64' as const })),
    { name: 'latency_sum_ns', type: 'INT64' },
    ...Array.from({ length: buckets }, (_, i) => ({ name: `le_${i}`, type: 'INT64' as const })),
  ]
}

/** Relation of `http_pod_native_buckets`. */
const NATIVE_COLUMNS: readonly SimColumn[] = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'service', type: 'STRING' },
  { name: 'bucket', type: 'INT64' },
  { name: 'count', type: 'INT64' },
]

const slice = <T>(values: readonly T[], from: number, to: number): T[] => values.slice(from, to)

/** The `le_<i>` arguments of an http_pod_counts call, in index order; they must be 0..n-1 without gaps. */
function bucketBounds(call: FuncCall): bigint[] {
  const bounds: bigint[] = []
  for (let i = 0; call.args.has(`le_${i}`); i++) bounds.push(intArg(call, `le_${i}`))
  const given = [...call.args.keys()].filter((k) => k.startsWith('le_')).length
  if (given !== bounds.length) throw new SimCompileError(`Function '${COUNTS}': the arguments le_0, le_1, ... must be numbered from 0 without gaps`)
  bounds.forEach((b, i) => {
    if (b <= 0n || (i > 0 && b <= (bounds[i - 1] ?? 0n))) throw new SimCompileError(`Function '${COUNTS}': le_${i} must be positive and greater than le_${i - 1}`)
  })
  return bounds
}

function schemaOf(call: FuncCall): number {
  const scale = floatArg(call, 'scale')
  const schema = Math.log2(scale)
  if (!Number.isInteger(schema) || schema < 0 || schema > 8) {
    throw new SimCompileError(`simulator: Function '${NATIVE}': scale must be 2^schema for a schema from 0 to 8, got ${scale}`)
  }
  return schema
}

function query(call: FuncCall, maxRows: number, extra: Partial<HttpQuery> = {}): HttpQuery {
  const keepIn = regexArg(call, 'include_namespaces')
  const keepOut = regexArg(call, 'exclude_namespaces')
  return {
    startNs: intArg(call, 'start_time'),
    endNs: intArg(call, 'end_time'),
    errorStatusMin: 0,
    keepNamespace: (ns) => keepIn(ns) && !keepOut(ns),
    maxRows,
    ...extra,
  }
}

/** The answerer of `pixie-exporter/http_pod_stats`. */
export const HTTP_POD_STATS_ANSWERER: Answerer = {
  queryName: 'pixie-exporter/http_pod_stats',
  functions: [
    { name: STATS, params: [...RANGE_AND_NAMESPACES, { name: 'error_status_min', type: 'int' }] },
    { name: COUNTS, params: RANGE_AND_NAMESPACES, extra: { pattern: /^le_\d+$/, type: 'int' } },
    { name: NATIVE, params: [...RANGE_AND_NAMESPACES, { name: 'scale', type: 'float' }] },
  ],
  answer(calls, context) {
    const { traffic, startedAt, maxRows } = context
    const statsCall = calls.find((c) => c.funcName === STATS)
    const countsCall = calls.find((c) => c.funcName === COUNTS)
    const nativeCall = calls.find((c) => c.funcName === NATIVE)
    const stats = statsCall === undefined ? undefined : simulateHttpPodStats(traffic, query(statsCall, maxRows, { errorStatusMin: Number(intArg(statsCall, 'error_status_min')) }), startedAt)
    // One pass computes both count tables (they share the cell model); the
    // native table follows the counts call's range when both are called.
    const rangeCall = countsCall ?? nativeCall
    const counts: HttpPodCountsRows | undefined =
      rangeCall === undefined
        ? undefined
        : simulateHttpPodCounts(
            traffic,
            query(rangeCall, maxRows, {
              counts: {
                startNs: intArg(rangeCall, 'start_time'),
                bucketsNs: countsCall === undefined ? [] : bucketBounds(countsCall),
                ...(nativeCall !== undefined && { native: { schema: schemaOf(nativeCall) } }),
              },
            }),
            startedAt,
          )
    const tables: SimTable[] = calls.map((call): SimTable => {
      const name = call.outputTablePrefix
      if (call.funcName === STATS && stats !== undefined) {
        const r = stats
        return {
          name,
          columns: STATS_COLUMNS,
          length: r.length,
          truncated: r.truncated,
          cols: (from, to): Wire.Column[] => [
            column('STRING', slice(r.namespace, from, to)),
            column('STRING', slice(r.pod, from, to)),
            column('STRING', slice(r.service, from, to)),
            column('INT64', slice(r.requests, from, to)),
            column('INT64', slice(r.errors, from, to)),
            column('FLOAT64', slice(r.latencyP50Ns, from, to)),
            column('FLOAT64', slice(r.latencyP90Ns, from, to)),
            column('FLOAT64', slice(r.latencyP99Ns, from, to)),
          ],
        }
      }
      if (call.funcName === COUNTS && counts !== undefined) {
        const r = counts
        return {
          name,
          columns: countsColumns(r.bucketsNs.length),
          length: r.length,
          truncated: r.truncated,
          cols: (from, to) => [
            column('STRING', slice(r.namespace, from, to)),
            column('STRING', slice(r.pod, from, to)),
            column('STRING', slice(r.service, from, to)),
            column('INT64', slice(r.requests, from, to)),
            ...r.byClass.map((c) => column('INT64', slice(c, from, to))),
            column('INT64', slice(r.latencySumNs, from, to)),
            ...r.buckets.map((c) => column('INT64', slice(c, from, to))),
          ],
        }
      }
      const n = counts?.native
      if (call.funcName === NATIVE && n !== undefined) {
        return {
          name,
          columns: NATIVE_COLUMNS,
          length: n.length,
          truncated: n.truncated,
          cols: (from, to) => [
            column('STRING', slice(n.namespace, from, to)),
            column('STRING', slice(n.pod, from, to)),
            column('STRING', slice(n.service, from, to)),
            column('INT64', slice(n.bucket, from, to)),
            column('INT64', slice(n.count, from, to)),
          ],
        }
      }
      throw new SimCompileError(`Function to execute, '${call.funcName}', not found.`)
    })
    return {
      tables,
      recordsProcessed: (stats?.recordsProcessed ?? 0) + (counts?.recordsProcessed ?? 0),
      logFields: {
        ...(stats !== undefined && { windowSeconds: Number(intArg(statsCall as FuncCall, 'end_time') - intArg(statsCall as FuncCall, 'start_time')) / 1e9 }),
        ...(counts !== undefined && { countSeconds: (counts.endMs - counts.startMs) / 1_000 }),
      },
      // A correct exporter discards a malformed or cancelled answer, so only complete ones count.
      ...(countsCall !== undefined && counts !== undefined && { onComplete: () => context.truth.record(counts) }),
    }
  },
}
