/**
 * The simulated answers to the built-in library scripts
 * (src/collectors/library/): one table each, computed from the scenario's
 * pods over the range the request's plugin config carries. Like Pixie's
 * groupby, a group has a row only when it had data in the range.
 */
import { HTTP_ENDPOINT_COLUMNS, HTTP_ENDPOINT_TABLE } from '../../collectors/library/http-endpoint.js'
import { HTTP_SERVICE_COLUMNS, HTTP_SERVICE_TABLE } from '../../collectors/library/http-service.js'
import { NETWORK_COLUMNS, NETWORK_TABLE } from '../../collectors/library/network.js'
import { PROTOCOL_COLUMNS } from '../../collectors/library/protocol.js'
import { RESOURCES_COLUMNS, RESOURCES_TABLE } from '../../collectors/library/resources.js'
import { DNS_TABLE } from '../../collectors/library/dns.js'
import { MYSQL_TABLE } from '../../collectors/library/mysql.js'
import type { ColumnType } from '../../pixie/types.js'
import { renderServices, type PodTraffic } from '../traffic.js'
import { LIBRARY_MODEL, PodResources, protocolCounts, type LinearRate } from './model.js'

/** A cell value: STRING as string, INT64/TIME64NS as number or decimal string, FLOAT64 as number, BOOLEAN as boolean. */
export type CellValue = string | number | boolean

/** One simulated result table. */
export interface SimulatedTable {
  /** The `px.display` name. */
  readonly name: string
  readonly columns: readonly { readonly name: string; readonly type: ColumnType }[]
  /** Rows, each in column order. */
  readonly rows: readonly (readonly CellValue[])[]
  /** Rows dropped by `max_output_rows_per_table`. */
  readonly truncated: number
  /** Pixie's records processed (events or samples read), for the execution stats. */
  readonly recordsProcessed: number
}

/** What every library table computation gets. */
export interface LibraryQuery {
  readonly traffic: readonly PodTraffic[]
  /** Range, ms after the simulator's start. */
  readonly startMs: number
  readonly endMs: number
  readonly include: readonly string[]
  readonly exclude: readonly string[]
  readonly maxRows: number
  /** HTTP scripts: the error threshold read back from the script. */
  readonly errorStatusMin: number
}

function kept(q: LibraryQuery, namespace: string): boolean {
  if (q.include.length > 0 && !q.include.includes(namespace)) return false
  return !q.exclude.includes(namespace)
}

function finish(name: string, columns: SimulatedTable['columns'], rows: CellValue[][], q: LibraryQuery, recordsProcessed: number): SimulatedTable {
  return { name, columns, rows: rows.slice(0, q.maxRows), truncated: Math.max(0, rows.length - q.maxRows), recordsProcessed }
}

/** Requests and errors of one pod over the range, by the query's error threshold. */
function httpCounts(model: PodTraffic, q: LibraryQuery): { requests: number; errors: number } {
  let requests = 0
  let errors = 0
  model.countsByIndex(q.startMs, q.endMs).forEach((n, i) => {
    requests += n
    if ((model.codes[i] ?? 0) >= q.errorStatusMin) errors += n
  })
  return { requests, errors }
}

/**
 * `http_service_stats`: per (namespace, ctx['service']) of pods with at least
 * one service, the sums over its pods. The quantiles are those of the pod
 * that served the most requests (its dominant phase, as in http_pod_stats).
 */
export function simulateHttpService(q: LibraryQuery): SimulatedTable {
  const groups = new Map<string, { namespace: string; service: string; requests: number; errors: number; sum: number; top: number; model: PodTraffic }>()
  let records = 0
  for (const model of q.traffic) {
    const { pod } = model
    const service = renderServices(pod)
    if (service === '' || !kept(q, pod.namespace)) continue
    const { requests, errors } = httpCounts(model, q)
    if (requests === 0) continue
    records += requests
    const key = `${pod.namespace}\n${service}`
    const sum = model.latencySumNs(q.startMs, q.endMs)
    const g = groups.get(key)
    if (g === undefined) groups.set(key, { namespace: pod.namespace, service, requests, errors, sum, top: requests, model })
    else {
      g.requests += requests
      g.errors += errors
      g.sum += sum
      if (requests > g.top) {
        g.top = requests
        g.model = model
      }
    }
  }
  const rows = [...groups.values()].map((g) => {
    const latency = g.model.latencyFor(q.startMs, q.endMs)
    return [g.namespace, g.service, g.requests, g.errors, g.sum, Math.floor(latency?.p50 ?? 0), Math.floor(latency?.p90 ?? 0), Math.floor(latency?.p99 ?? 0)]
  })
  return finish(HTTP_SERVICE_TABLE, HTTP_SERVICE_COLUMNS, rows, q, records)
}

/** The synthetic endpoints every simulated pod serves, with their weights out of {@link ENDPOINT_PATTERN}'s length. */
export const SIMULATED_ENDPOINTS = [
  { method: 'GET', path: '/api/orders/1001' },
  { method: 'GET', path: '/api/orders/1002' },
  { method: 'GET', path: '/api/orders/5f0c6a2e-3b1d-4c8e-9a7f-2d4b6e8c0a1f/items' },
  { method: 'POST', path: '/api/orders' },
  { method: 'GET', path: '/api/orders?page=2' },
] as const

/**
 * Request j of a pod (counting successes and errors separately) goes to
 * endpoint ENDPOINT_PATTERN[j mod 10]: weights 3, 2, 2, 2, 1 out of 10.
 */
export const ENDPOINT_PATTERN = [0, 1, 0, 2, 3, 0, 1, 2, 3, 4] as const

/** How many of the first `n` requests go to endpoint `k`. Non-decreasing in n. */
export function endpointShare(n: number, k: number): number {
  const period = ENDPOINT_PATTERN.length
  const full = Math.floor(n / period)
  let count = 0
  ENDPOINT_PATTERN.forEach((e, p) => {
    if (e === k) count += full + (p < n % period ? 1 : 0)
  })
  return count
}

/** Cumulative (all codes, error codes, latency sum) of a pod at `offsetMs`. */
function httpCumulative(model: PodTraffic, offsetMs: number, errorStatusMin: number): { all: number; errors: number; sumNs: number } {
  let all = 0
  let errors = 0
  model.codes.forEach((code, i) => {
    const n = model.cumulativeCount(i, offsetMs)
    all += n
    if (code >= errorStatusMin) errors += n
  })
  return { all, errors, sumNs: offsetMs > 0 ? model.latencySumNs(0, offsetMs) : 0 }
}

/**
 * `http_endpoint_stats`: every pod's requests spread over
 * {@link SIMULATED_ENDPOINTS} by {@link endpointShare} (successes and errors
 * each), the latency sum by weight (floor of the cumulative sum × weight/10);
 * rows of pods with the same namespace and ctx['service'] are added up, as
 * Pixie's groupby would.
 */
export function simulateHttpEndpoint(q: LibraryQuery): SimulatedTable {
  const weights = SIMULATED_ENDPOINTS.map((_, k) => endpointShare(ENDPOINT_PATTERN.length, k))
  const rows = new Map<string, CellValue[]>()
  let records = 0
  for (const model of q.traffic) {
    const { pod } = model
    if (!kept(q, pod.namespace) || !(q.endMs > q.startMs)) continue
    const a = httpCumulative(model, q.startMs, q.errorStatusMin)
    const b = httpCumulative(model, q.endMs, q.errorStatusMin)
    if (b.all - a.all === 0) continue
    records += b.all - a.all
    const service = renderServices(pod)
    SIMULATED_ENDPOINTS.forEach((endpoint, k) => {
      const ok = endpointShare(b.all - b.errors, k) - endpointShare(a.all - a.errors, k)
      const errors = endpointShare(b.errors, k) - endpointShare(a.errors, k)
      if (ok + errors === 0) return
      const weight = (weights[k] ?? 0) / ENDPOINT_PATTERN.length
      const sum = Math.floor(b.sumNs * weight) - Math.floor(a.sumNs * weight)
      const key = JSON.stringify([pod.namespace, service, endpoint.method, endpoint.path])
      const row = rows.get(key)
      if (row === undefined) rows.set(key, [pod.namespace, service, endpoint.method, endpoint.path, ok + errors, errors, sum])
      else {
        row[4] = Number(row[4]) + ok + errors
        row[5] = Number(row[5]) + errors
        row[6] = Number(row[6]) + sum
      }
    })
  }
  return finish(HTTP_ENDPOINT_TABLE, HTTP_ENDPOINT_COLUMNS, [...rows.values()], q, records)
}

/** `pod_resources`: per pod alive in the range, CPU ns used and RSS bytes (see model.ts). */
export function simulateResources(q: LibraryQuery): SimulatedTable {
  const rows: CellValue[][] = []
  for (const { pod } of q.traffic) {
    if (!kept(q, pod.namespace)) continue
    const model = new PodResources(pod)
    const rss = model.peak(LIBRARY_MODEL.rssBytes, q.startMs, q.endMs)
    if (rss === undefined) continue
    rows.push([pod.namespace, `${pod.namespace}/${pod.name}`, model.increase(LIBRARY_MODEL.cpuNsPerSecond, q.startMs, q.endMs), rss])
  }
  return finish(RESOURCES_TABLE, RESOURCES_COLUMNS, rows, q, rows.length)
}

/** `pod_network`: per pod alive in the range, bytes received and sent (see model.ts). */
export function simulateNetwork(q: LibraryQuery): SimulatedTable {
  const rows: CellValue[][] = []
  for (const { pod } of q.traffic) {
    if (!kept(q, pod.namespace)) continue
    const model = new PodResources(pod)
    if (!model.alive(q.startMs, q.endMs)) continue
    rows.push([
      pod.namespace,
      `${pod.namespace}/${pod.name}`,
      model.increase(LIBRARY_MODEL.rxBytesPerSecond, q.startMs, q.endMs),
      model.increase(LIBRARY_MODEL.txBytesPerSecond, q.startMs, q.endMs),
    ])
  }
  return finish(NETWORK_TABLE, NETWORK_COLUMNS, rows, q, rows.length)
}

function simulateProtocol(table: string, rate: LinearRate, errorShare: number, latencyNs: number, q: LibraryQuery): SimulatedTable {
  const rows: CellValue[][] = []
  let records = 0
  for (const { pod } of q.traffic) {
    if (!kept(q, pod.namespace)) continue
    const c = protocolCounts(new PodResources(pod), rate, errorShare, latencyNs, q.startMs, q.endMs)
    if (c.requests === 0) continue
    records += c.requests
    rows.push([pod.namespace, `${pod.namespace}/${pod.name}`, 'client', c.requests, c.errors, c.latencySumNs])
  }
  return finish(table, PROTOCOL_COLUMNS, rows, q, records)
}

/** `dns_pod_stats`: DNS queries every pod sends (role client), see model.ts. */
export function simulateDns(q: LibraryQuery): SimulatedTable {
  const m = LIBRARY_MODEL
  return simulateProtocol(DNS_TABLE, m.dnsQueriesPerSecond, m.dnsErrorShare, m.dnsLatencyNs, q)
}

/** `mysql_pod_stats`: MySQL queries every pod with HTTP traffic sends (role client), see model.ts. */
export function simulateMysql(q: LibraryQuery): SimulatedTable {
  const m = LIBRARY_MODEL
  return simulateProtocol(MYSQL_TABLE, m.mysqlQueriesPerSecond, m.mysqlErrorShare, m.mysqlLatencyNs, q)
}
