/**
 * The rows of the library tables (see answerers/): one table each, computed
 * from the scenario's pods over the range the request's plugin config
 * carries. Like Pixie's
 * groupby, a group has a row only when it had data in the range.
 */
import type { CellValue } from '../answerers/answerer.js'
import { renderServices, type PodTraffic } from '../traffic.js'
import { LIBRARY_MODEL, PodResources, protocolCounts, type LinearRate } from './model.js'

/** Rows of one library table, before Pixie's row limit, each in the answerer's column order. */
export interface LibraryRows {
  readonly rows: readonly (readonly CellValue[])[]
  /** Pixie's records processed (events or samples read), for the execution stats. */
  readonly recordsProcessed: number
}

/** What every library table computation gets: the functions' parameters, decoded. */
export interface LibraryQuery {
  readonly traffic: readonly PodTraffic[]
  /** Range (the plugin time), ms after the simulator's start. */
  readonly startMs: number
  readonly endMs: number
  /** The namespace filter (`include_namespaces` / `exclude_namespaces`). */
  readonly keepNamespace: (namespace: string) => boolean
  /** HTTP functions: their `error_status_min` argument. */
  readonly errorStatusMin: number
}

function kept(q: LibraryQuery, namespace: string): boolean {
  return q.keepNamespace(namespace)
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
export function simulateHttpService(q: LibraryQuery): LibraryRows {
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
  return { rows: rows, recordsProcessed: records }
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
export function simulateHttpEndpoint(q: LibraryQuery): LibraryRows {
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
  return { rows: [...rows.values()], recordsProcessed: records }
}

/** `pod_resources`: per pod alive in the range, CPU ns used and RSS bytes (see model.ts). */
export function simulateResources(q: LibraryQuery): LibraryRows {
  const rows: CellValue[][] = []
  for (const { pod } of q.traffic) {
    if (!kept(q, pod.namespace)) continue
    const model = new PodResources(pod)
    const rss = model.peak(LIBRARY_MODEL.rssBytes, q.startMs, q.endMs)
    if (rss === undefined) continue
    rows.push([pod.namespace, `${pod.namespace}/${pod.name}`, model.increase(LIBRARY_MODEL.cpuNsPerSecond, q.startMs, q.endMs), rss])
  }
  return { rows, recordsProcessed: rows.length }
}

/** `pod_network`: per pod alive in the range, bytes received and sent (see model.ts). */
export function simulateNetwork(q: LibraryQuery): LibraryRows {
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
  return { rows, recordsProcessed: rows.length }
}

function simulateProtocol(rate: LinearRate, errorShare: number, latencyNs: number, q: LibraryQuery): LibraryRows {
  const rows: CellValue[][] = []
  let records = 0
  for (const { pod } of q.traffic) {
    if (!kept(q, pod.namespace)) continue
    const c = protocolCounts(new PodResources(pod), rate, errorShare, latencyNs, q.startMs, q.endMs)
    if (c.requests === 0) continue
    records += c.requests
    rows.push([pod.namespace, `${pod.namespace}/${pod.name}`, 'client', c.requests, c.errors, c.latencySumNs])
  }
  return { rows, recordsProcessed: records }
}

/** `dns_pod_stats`: DNS queries every pod sends (role client), see model.ts. */
export function simulateDns(q: LibraryQuery): LibraryRows {
  const m = LIBRARY_MODEL
  return simulateProtocol(m.dnsQueriesPerSecond, m.dnsErrorShare, m.dnsLatencyNs, q)
}

/** `mysql_pod_stats`: MySQL queries every pod with HTTP traffic sends (role client), see model.ts. */
export function simulateMysql(q: LibraryQuery): LibraryRows {
  const m = LIBRARY_MODEL
  return simulateProtocol(m.mysqlQueriesPerSecond, m.mysqlErrorShare, m.mysqlLatencyNs, q)
}
