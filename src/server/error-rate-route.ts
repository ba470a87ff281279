/**
 * `GET /error-rate/:namespace/:pod`: the compatibility endpoint for the old
 * Pixie demo's Argo *web* provider template. It answers from the exporter's
 * cache (the HTTP collector's last published poll), never with a Pixie query
 * per request, and never with a 2xx that could pass an analysis by accident.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'
import type { PodRates as CollectorPodRates } from '../collectors/http.js'
import { HTTP_ERRORS_PER_SECOND, HTTP_REQUESTS_PER_SECOND } from '../metrics/names.js'
import type { CollectorJob } from '../scheduler/job.js'

/** The figures of one pod the endpoint needs. */
export type PodRates = CollectorPodRates

/** Whether the cached data may be served, with the reason when not. */
export type Freshness = { readonly ready: true } | { readonly ready: false; readonly reason: string }

/** Options of {@link errorRateRoute}. */
export interface ErrorRateRouteOptions {
  /**
   * The pods currently published by the HTTP collector (e.g. `() =>
   * collector.pods`, which is empty once the data is stale).
   */
  readonly pods: () => readonly PodRates[] | Promise<readonly PodRates[]>
  /** Whether that data is fresh (e.g. the collector job's `readiness()`). */
  readonly freshness: () => Freshness
}

/** The 200 answer: Argo's web provider reads it with `jsonPath: "{$.error_rate}"` or `"{$}"`. */
export interface ErrorRateAnswer {
  /** errors / requests over the matched pods (status >= errorStatusMin), 0..1. */
  readonly error_rate: number
  /** Requests per second over the window, summed over the matched pods. */
  readonly requests_per_second: number
  /** Number of matched pods. */
  readonly pods: number
}

/** A Kubernetes namespace name: an RFC 1123 label. */
const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
/** A pod name (or a prefix of one): an RFC 1123 subdomain, at most 253 characters. */
const POD_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Checks the path parameters; returns the problem, or undefined when both are valid names. */
export function invalidParams(namespace: string, pod: string): string | undefined {
  if (!NAMESPACE_RE.test(namespace)) return `namespace ${JSON.stringify(namespace.slice(0, 80))} is not a valid Kubernetes namespace name (RFC 1123 label)`
  if (pod.length > 253 || !POD_RE.test(pod)) return `pod ${JSON.stringify(pod.slice(0, 80))} is not a valid Kubernetes pod name (RFC 1123 subdomain)`
  return undefined
}

/**
 * Aggregates the pods of `namespace` named exactly `pod` or `pod-…` (so
 * `canary-demo-7f6d5c9b4b` selects that ReplicaSet's pods, and never
 * `canary-demo-7f6d5c9b4b2-…` or another namespace's pods).
 */
export function aggregate(pods: readonly PodRates[], namespace: string, pod: string): ErrorRateAnswer | undefined {
  let requests = 0
  let errors = 0
  // A pod may come in several rows (one per Service selecting it): all of its
  // rows count, and it counts once.
  const matched = new Set<string>()
  for (const p of pods) {
    if (p.namespace !== namespace || !(p.pod === pod || p.pod.startsWith(`${pod}-`))) continue
    requests += p.requestsPerSecond
    errors += p.errorsPerSecond
    matched.add(p.pod)
  }
  // The collector publishes only pods with requests, so a match implies requests > 0.
  if (matched.size === 0 || !(requests > 0)) return undefined
  return { error_rate: errors / requests, requests_per_second: requests, pods: matched.size }
}

/**
 * Registers `GET /error-rate/:namespace/:pod`. Answers (always JSON):
 * 200 `{error_rate, requests_per_second, pods}`; 400 for an invalid name;
 * 503 when the collector has not succeeded yet or its data is stale; 404 when
 * no pod matched (no traffic in the window, or a wrong name). Non-2xx answers
 * carry `{"error": "..."}`, which Argo's web provider records as an Error.
 */
export const errorRateRoute: FastifyPluginAsync<ErrorRateRouteOptions> = async (app, options) => {
  if (typeof options.pods !== 'function' || typeof options.freshness !== 'function') {
    throw new TypeError('errorRateRoute needs pods() and freshness() options')
  }
  app.get<{ Params: { namespace: string; pod: string } }>('/error-rate/:namespace/:pod', async (req, reply) => {
    const { namespace, pod } = req.params
    void reply.header('cache-control', 'no-store')
    const invalid = invalidParams(namespace, pod)
    if (invalid !== undefined) return reply.code(400).send({ error: invalid })
    const pods = await options.pods()
    const fresh = options.freshness()
    if (!fresh.ready) return reply.code(503).send({ error: `no current data: ${fresh.reason}` })
    const answer = aggregate(pods, namespace, pod)
    if (answer === undefined) {
      return reply.code(404).send({ error: `no pod named ${pod} or ${pod}-… served HTTP requests in namespace ${namespace} during the last window` })
    }
    return reply.code(200).send(answer)
  })
}

/**
 * Options for {@link errorRateRoute} read from the app's own cache: the HTTP
 * collector's per-pod rate gauges in `registry` (the same snapshot `/metrics`
 * serves, empty once stale) and the `http` job's readiness.
 */
export function errorRateFromRegistry(source: {
  readonly registry: Registry
  readonly jobs: readonly (Pick<CollectorJob, 'name' | 'readiness'> & { readonly collector?: object })[]
}): ErrorRateRouteOptions {
  // Read registry and jobs on every request: a configuration reload replaces them.
  return {
    freshness: () => source.jobs.find((j) => j.name === 'http')?.readiness() ?? { ready: false, reason: 'the http collector is not configured' },
    async pods() {
      // The HTTP collector keeps its last run's per-pod rates in a compact
      // form (its exposition is rendered off this thread): ask it first.
      const collector = source.jobs.find((j) => j.name === 'http')?.collector
      if (collector !== undefined && 'pods' in collector) return (collector as { readonly pods: readonly PodRates[] }).pods
      const { registry } = source
      const read = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values ?? []
      const [rps, eps] = await Promise.all([read(HTTP_REQUESTS_PER_SECOND), read(HTTP_ERRORS_PER_SECOND)])
      // One entry per pod, summing every series of that pod: a pod selected by
      // two Services has a series under each, and the ratio must be the one
      // sum(errors)/sum(requests) over the published series gives.
      const byPod = new Map<string, { namespace: string; pod: string; requestsPerSecond: number; errorsPerSecond: number }>()
      const entry = (l: Partial<Record<string, string | number>>) => {
        const namespace = String(l.namespace ?? '')
        const pod = String(l.pod ?? '')
        const key = `${namespace}/${pod}`
        let e = byPod.get(key)
        if (e === undefined) byPod.set(key, (e = { namespace, pod, requestsPerSecond: 0, errorsPerSecond: 0 }))
        return e
      }
      for (const s of rps) entry(s.labels).requestsPerSecond += s.value
      for (const s of eps) entry(s.labels).errorsPerSecond += s.value
      return [...byPod.values()]
    },
  }
}
