/**
 * PromQL building blocks shared by the Grafana dashboards and the Prometheus
 * rules, so that both select workloads, canaries and the exporter the same way.
 *
 * Pods of a Deployment or an Argo Rollout are named
 * `<workload>-<pod-template-hash>-<suffix>`; the exporter only knows pod names,
 * so the workload and the hash are derived from them with regular expressions.
 */

/** Matches one pod-name segment: the pod-template hash or the random suffix. */
export const SEGMENT = '[a-z0-9]+'

/**
 * Anchored (PromQL anchors every regex) pattern with the workload as `$1`:
 * `canary-demo-6d8c6b9c8f-x7k2p` → `canary-demo`.
 */
export const WORKLOAD_FROM_POD = `(.+)-${SEGMENT}-${SEGMENT}`

/** Pods whose names carry a workload and a pod-template hash. */
export const WORKLOAD_POD = `.+-${SEGMENT}-${SEGMENT}`

/**
 * The `up` job of the exporter: `pixie-exporter` for the ServiceMonitor in
 * deploy/components/servicemonitor and for a hand-written scrape job of that
 * name; `<namespace>/pixie-exporter` for the PodMonitor.
 */
export const EXPORTER_JOB_MATCHER = 'job=~"(.*/)?pixie-exporter"'

/**
 * Defaults of our Argo analysis templates, drawn as threshold lines on the
 * canary dashboard and used by the error-ratio alert. The contract test checks
 * them against analysis-templates/ once that directory exists.
 */
export const DEFAULT_MAX_ERROR_RATIO = 0.05
/** p99 latency threshold of the analysis templates, in seconds. */
export const DEFAULT_MAX_P99_SECONDS = 0.5

/**
 * Removes the duplicate every exporter replica adds (deploy/overlays/ha): the
 * copies differ only in `instance`. `max` is the pessimistic pick for ratios
 * and latencies; for rates the copies are (almost) equal.
 */
export function dedupReplicas(expr: string): string {
  return `max without (instance) (${expr})`
}

/** Adds a `workload` label derived from `pod`. */
export function withWorkload(expr: string): string {
  return `label_replace(${expr}, "workload", "$1", "pod", "${WORKLOAD_FROM_POD}")`
}
