// Writes analysis-templates/*.yaml: each AnalysisTemplate and its
// ClusterAnalysisTemplate form, from the definitions below (one place for the
// freshness gate, the selectors and the shared args, so the twelve-odd files
// cannot drift apart). `--check` writes nothing and exits 1 when a committed
// file differs. Rationale for every default: docs/argo-rollouts.md.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const dir = join(root, 'analysis-templates')
const check = process.argv.includes('--check')

/** Shared args: every template declaring one gives it the same default (Argo merges them). */
const ARG = {
  namespace: { comment: "the Rollout's namespace (valueFrom.fieldRef metadata.namespace)" },
  rollout: { comment: "the Rollout's name (valueFrom.fieldRef metadata.name)" },
  'canary-hash': { comment: 'valueFrom.podTemplateHashValue: Latest' },
  'stable-hash': { comment: 'valueFrom.podTemplateHashValue: Stable' },
  'prometheus-address': { value: '', comment: 'empty: Argo uses the controller-wide ARGO_ROLLOUTS_PROMETHEUS_ADDRESS' },
  'exporter-address': { value: 'http://pixie-exporter.pixie-exporter.svc:10049', comment: "base URL of pixie-exporter's Service" },
  'max-error-ratio': { value: '0.05', comment: 'fail above this share of errors (0..1)' },
  'max-increase': { value: '0.02', comment: 'allowed canary ratio − stable ratio (0..1)' },
  'max-p99-seconds': { value: '0.5', comment: "fail when the canary's p99 is above this (seconds)" },
  'max-latency-factor': { value: '1.5', comment: 'fail when canary quantile > factor × stable quantile + floor' },
  'latency-floor-seconds': { value: '0.025', comment: 'absolute slack added to factor × stable (seconds)' },
  'min-rps': { value: '1', comment: 'below this many requests/s (per side / per pod) the result is NaN (Inconclusive)' },
  'min-requests': { value: '50', comment: 'fewer requests in the range (per side) give NaN (Inconclusive)' },
  range: { value: '30s', comment: 'rate() range; at least 4 scrape intervals' },
  'error-classes': { value: '5xx', comment: 'status classes counted as errors (regex); "4xx|5xx" is the old demo\'s definition' },
  'max-data-age': { value: '15', comment: "seconds; data whose exporter's last successful poll is older is not judged (NaN)" },
  interval: { value: '5s', comment: 'time between measurements' },
  count: { value: '24', comment: 'measurements (2 minutes at 5s); must be >= inconclusive-limit' },
  'failure-limit': { value: '0', comment: 'Failed measurements tolerated: the first one aborts' },
  'inconclusive-limit': { value: '2', comment: 'Inconclusive measurements tolerated; one more pauses the rollout' },
  'coverage-delay': { value: '25s', comment: 'the data-fresh check runs this much later than the judging metric (> max-data-age + interval)' },
}

const LAST_SUCCESS = 'pixie_exporter_collector_last_success_timestamp_seconds{collector="http"}'
/** Keeps only the series of exporter replicas whose last successful poll is recent enough. */
const FRESH = `on (instance) (time() - ${LAST_SUCCESS} <= {{args.max-data-age}})`
const sel = (hash) => `namespace="{{args.namespace}}", pod=~"{{args.rollout}}-{{args.${hash}}}-[a-z0-9]+"`
const fresh = (expr) => `${expr} and ${FRESH}`

/** Guarded gauge ratio of one side, as ONE scalar (NaN without enough fresh traffic). */
function gaugeRatio(hash, pad = '') {
  const errors = `sum(max by (namespace, pod) (${fresh(`pixie_http_errors_per_second{${sel(hash)}}`)}))`
  const requests = `sum(max by (namespace, pod) (${fresh(`pixie_http_requests_per_second{${sel(hash)}}`)}))`
  return [
    `${pad}scalar(`,
    `${pad}    ${errors}`,
    `${pad}  / ${requests}`,
    `${pad}  and on ()`,
    `${pad}    ${requests} >= {{args.min-rps}}`,
    `${pad})`,
  ].join('\n')
}

function quantile(q, hash, pad = '') {
  const buckets = `sum by (le) (max by (namespace, pod, le) (${fresh(`rate(pixie_http_request_duration_seconds_bucket{${sel(hash)}}[{{args.range}}])`)}))`
  // The +Inf bucket counts every request (the default series set has no _count).
  const requests = `sum(max by (namespace, pod) (${fresh(`increase(pixie_http_request_duration_seconds_bucket{${sel(hash)}, le="+Inf"}[{{args.range}}])`)}))`
  return [
    `${pad}scalar(`,
    `${pad}    histogram_quantile(${q}, ${buckets})`,
    `${pad}  and on ()`,
    `${pad}    ${requests} >= {{args.min-requests}}`,
    `${pad})`,
  ].join('\n')
}

const RUN_FIELDS = {
  interval: '"{{args.interval}}"',
  count: '"{{args.count}}"',
  failureLimit: '"{{args.failure-limit}}"',
  inconclusiveLimit: '"{{args.inconclusive-limit}}"',
}

const notNaN = (limit) => ({
  successCondition: `"!isNaN(result) && result <= ${limit}"`,
  failureCondition: `"!isNaN(result) && result > ${limit}"`,
})

/** The data-fresh metric every Prometheus template carries (see the header comment of each file). */
function coverage(metric) {
  return {
    name: `${metric}-data-fresh`,
    fields: {
      initialDelay: '"{{args.coverage-delay}}"',
      interval: '"{{args.interval}}"',
      count: '"{{args.count}}"',
      inconclusiveLimit: '"0"',
    },
    successCondition: '"!isNaN(result) && result <= {{args.max-data-age}}"',
    failureCondition: '"false"',
    // Only the replicas exporting the canary's series count: another
    // exporter deployment (a shard for other namespaces) cannot vouch for it.
    query: `scalar(min_over_time((time() - max(${LAST_SUCCESS} and on (instance) group by (instance) (pixie_http_requests_total{${sel('canary-hash')}})))[{{args.interval}}:1s]))`,
  }
}

const COVERAGE_COMMENT = `#
# Freshness. Each judging query keeps only the series of exporter replicas
# whose last successful Pixie poll is at most {{args.max-data-age}} s old
# (poll interval 5s + scrape 5s + 5s slack), so a measurement never judges frozen
# data: during a Pixie outage it answers NaN (Inconclusive). The *-data-fresh
# metric runs the same number of measurements {{args.coverage-delay}} later
# and checks that the freshest replica exporting the canary's series was
# fresh during its last interval; its
# last measurement therefore sees an outage that began even just before the
# judging metric's last measurement, and with inconclusiveLimit 0 the run is
# Inconclusive instead of Successful. Stale data never fails a canary: it
# pauses the rollout.`

const TEMPLATES = [
  {
    file: 'error-ratio.yaml',
    name: 'pixie-canary-error-ratio',
    comment: `# Canary error ratio from pixie-exporter's windowed gauges (the fast form).
#
# One measurement reads the canary pods' errors and requests over the
# exporter's window (collectors.http.window, default 10s, refreshed every
# collectors.http.interval, default 5s). Errors are responses with
# status >= collectors.http.errorStatusMin (default 500: 4xx are not errors).
#
# The query always answers ONE value (PromQL scalar()): the canary's error
# ratio (0..1) when its pods served at least {{args.min-rps}} requests per
# second together, NaN otherwise (no traffic, too little, wrong hash, stale
# data): Inconclusive, never Successful, never an Error. Canary pods are
# selected exactly (namespace, <rollout>-<canary-hash>-<suffix>); \`max by
# (namespace, pod)\` removes the duplicates of two exporter replicas.`,
    args: ['namespace', 'rollout', 'canary-hash', 'prometheus-address', 'max-error-ratio', 'min-rps', 'max-data-age', 'interval', 'count', 'failure-limit', 'inconclusive-limit', 'coverage-delay'],
    metrics: [{ name: 'canary-error-ratio', ...notNaN('{{args.max-error-ratio}}'), query: gaugeRatio('canary-hash') }],
  },
  {
    file: 'error-ratio-counters.yaml',
    name: 'pixie-canary-error-ratio-counters',
    comment: `# Canary error ratio from pixie-exporter's counters, over a rate range you
# choose: every request of the range counts, whatever the exporter's window.
#
#   rate(pixie_http_requests_total{canary, status_class=~"{{args.error-classes}}"}[range])
#   / rate(pixie_http_requests_total{canary}[range])
#
# The default range is 30s (6 scrapes at 5s): a canary that turns bad late in
# the analysis reaches the threshold after 30s × 0.05 / ratio of bad traffic
# (2s at 82 % 5xx, 6s at 25 %), as fast as the gauges. The trade: a 30s ratio
# rests on fewer requests than a 2m one, so {{args.min-requests}} gates it and
# short error bursts count fully; widen the range for low-traffic services.
# The answer is NaN (Inconclusive) with fewer than {{args.min-requests}}
# requests in the range or stale data.`,
    args: ['namespace', 'rollout', 'canary-hash', 'prometheus-address', 'max-error-ratio', 'error-classes', 'range', 'min-requests', 'max-data-age', 'interval', 'count', 'failure-limit', 'inconclusive-limit', 'coverage-delay'],
    metrics: [
      {
        name: 'canary-error-ratio-counters',
        ...notNaN('{{args.max-error-ratio}}'),
        query: (() => {
          const rate = (extra) => `sum(max by (namespace, pod, status_class) (${fresh(`rate(pixie_http_requests_total{${sel('canary-hash')}${extra}}[{{args.range}}])`)}))`
          const inc = `sum(max by (namespace, pod, status_class) (${fresh(`increase(pixie_http_requests_total{${sel('canary-hash')}}[{{args.range}}])`)}))`
          return ['scalar(', `    ${rate(', status_class=~"{{args.error-classes}}"')}`, `  / ${rate('')}`, '  and on ()', `    ${inc} >= {{args.min-requests}}`, ')'].join('\n')
        })(),
      },
    ],
  },
  {
    file: 'vs-stable.yaml',
    name: 'pixie-canary-vs-stable',
    comment: `# Canary compared with stable: the canary's error ratio may exceed the stable
# pods' ratio by at most {{args.max-increase}} (a difference of ratios, so
# 0.02 = two percentage points). Time-of-day effects and failing dependencies
# hit both, so they cancel out. Each side is gated on {{args.min-rps}} and on
# fresh data; NaN on either side gives NaN: Inconclusive.`,
    args: ['namespace', 'rollout', 'canary-hash', 'stable-hash', 'prometheus-address', 'max-increase', 'min-rps', 'max-data-age', 'interval', 'count', 'failure-limit', 'inconclusive-limit', 'coverage-delay'],
    metrics: [{ name: 'canary-vs-stable-error-ratio', ...notNaN('{{args.max-increase}}'), query: `${gaugeRatio('canary-hash')}\n-\n${gaugeRatio('stable-hash')}` }],
  },
  {
    file: 'latency-p99.yaml',
    name: 'pixie-canary-latency-p99',
    comment: `# Canary p99 latency from pixie-exporter's histogram against an ABSOLUTE
# threshold (an SLO-style gate), aggregated over all canary pods (buckets add
# up; quantiles of different pods cannot be averaged):
#
#   histogram_quantile(0.99, sum by (le) (rate(pixie_http_request_duration_seconds_bucket{canary}[range])))
#
# A canary three times slower than stable but under the threshold passes this
# template: use pixie-canary-latency-vs-stable (latency-vs-stable.yaml) to
# judge a regression. The estimate interpolates inside a bucket (default
# bounds 0.025, 0.1, 0.25, 0.5, 1 s): choose a threshold AT a bucket bound
# (0.25, 0.5, 1), where the decision is exact (more than 1 % of requests
# slower than the threshold), and below the highest bound (a p99 beyond it
# is reported as that bound).
# NaN (Inconclusive) below {{args.min-requests}} requests in the range or
# with stale data.`,
    args: ['namespace', 'rollout', 'canary-hash', 'prometheus-address', 'max-p99-seconds', 'range', 'min-requests', 'max-data-age', 'interval', 'count', 'failure-limit', 'inconclusive-limit', 'coverage-delay'],
    metrics: [{ name: 'canary-latency-p99', ...notNaN('{{args.max-p99-seconds}}'), query: quantile('0.99', 'canary-hash') }],
  },
  {
    file: 'latency-vs-stable.yaml',
    name: 'pixie-canary-latency-vs-stable',
    comment: `# Canary latency compared with stable, at p99 and at p90 (two metrics):
#
#   canary quantile − {{args.max-latency-factor}} × stable quantile  must be <= {{args.latency-floor-seconds}} s
#
# i.e. the canary may be at most 1.5 times slower than stable, plus 25 ms of
# absolute slack so that fast services (stable p99 of a few ms) do not fail on
# noise. Both quantiles come from the histogram over the same range; each
# side needs {{args.min-requests}} requests in the range and fresh data,
# otherwise the answer is NaN (Inconclusive). p90 catches a regression of the
# bulk of requests that a noisy p99 might hide; p99 catches the tail.`,
    args: ['namespace', 'rollout', 'canary-hash', 'stable-hash', 'prometheus-address', 'max-latency-factor', 'latency-floor-seconds', 'range', 'min-requests', 'max-data-age', 'interval', 'count', 'failure-limit', 'inconclusive-limit', 'coverage-delay'],
    metrics: [['0.99', 'p99'], ['0.9', 'p90']].map(([q, p]) => ({
      name: `canary-latency-${p}-vs-stable`,
      ...notNaN('{{args.latency-floor-seconds}}'),
      query: `${quantile(q, 'canary-hash')}\n-\n{{args.max-latency-factor}} *\n${quantile(q, 'stable-hash')}`,
    })),
    coverageOf: 'canary-latency-vs-stable',
  },
  {
    file: 'worst-pod.yaml',
    name: 'pixie-canary-worst-pod',
    comment: `# The worst canary pod's error ratio (errors / requests per second of each
# pod, from the window gauges): one bad pod among several healthy ones
# fails the analysis even when the canary's aggregate ratio would pass (a bad
# node, a bad volume, one pod with a broken cache). Pods below {{args.min-rps}}
# requests per second are not judged; NaN (Inconclusive) when none is, or
# when the data is stale.`,
    args: ['namespace', 'rollout', 'canary-hash', 'prometheus-address', 'max-error-ratio', 'min-rps', 'max-data-age', 'interval', 'count', 'failure-limit', 'inconclusive-limit', 'coverage-delay'],
    metrics: [
      {
        name: 'canary-worst-pod-error-ratio',
        ...notNaN('{{args.max-error-ratio}}'),
        query: [
          'scalar(',
          '  max(',
          `      max by (namespace, pod) (${fresh(`pixie_http_errors_per_second{${sel('canary-hash')}}`)})`,
          `    / max by (namespace, pod) (${fresh(`pixie_http_requests_per_second{${sel('canary-hash')}}`)})`,
          '    and',
          `      max by (namespace, pod) (${fresh(`pixie_http_requests_per_second{${sel('canary-hash')}}`)}) >= {{args.min-rps}}`,
          '  )',
          ')',
        ].join('\n'),
      },
    ],
  },
]

function argLines(names) {
  return names.map((n) => {
    const a = ARG[n]
    if (a === undefined) throw new Error(`unknown arg ${n}`)
    const head = `    - name: ${n}`
    if (a.value === undefined) return `${head.padEnd(30)} # ${a.comment}`
    return `${`${head}`.padEnd(30)} # ${a.comment}\n      value: ${JSON.stringify(a.value)}`
  })
}

function metricLines(m, fields) {
  const out = [`    - name: ${m.name}`]
  for (const [k, v] of Object.entries(fields)) out.push(`      ${k}: ${v}`)
  out.push(`      successCondition: ${m.successCondition}`, `      failureCondition: ${m.failureCondition}`)
  out.push('      provider:', '        prometheus:', '          address: "{{args.prometheus-address}}"', '          query: |')
  for (const l of m.query.split('\n')) out.push(`            ${l}`)
  return out
}

function render(t, kind) {
  const header =
    kind === 'AnalysisTemplate'
      ? `${t.comment}\n${COVERAGE_COMMENT}\n#\n# Generated by scripts/generate-analysis-templates.mjs; edit it there.`
      : `# ClusterAnalysisTemplate form of ${t.file} (same spec; reference it with clusterScope: true).\n# Generated by scripts/generate-analysis-templates.mjs; test/analysis/manifests.ts checks that the specs are identical.`
  const cov = coverage(t.coverageOf ?? t.metrics[0].name)
  return [
    header,
    'apiVersion: argoproj.io/v1alpha1',
    `kind: ${kind}`,
    'metadata:',
    `  name: ${t.name}`,
    '  labels:',
    '    app.kubernetes.io/part-of: pixie-exporter',
    'spec:',
    '  args:',
    ...argLines(t.args),
    '  metrics:',
    ...t.metrics.flatMap((m) => metricLines(m, RUN_FIELDS)),
    ...metricLines(cov, cov.fields),
    '',
  ].join('\n')
}

let stale = 0
for (const t of TEMPLATES) {
  for (const [file, kind] of [
    [t.file, 'AnalysisTemplate'],
    [`cluster-${t.file}`, 'ClusterAnalysisTemplate'],
  ]) {
    const content = render(t, kind)
    const path = join(dir, file)
    let current
    try {
      current = readFileSync(path, 'utf8')
    } catch {
      current = undefined
    }
    if (current === content) continue
    if (check) {
      console.error(`analysis-templates/${file} is not what scripts/generate-analysis-templates.mjs generates; run npm run templates`)
      stale++
      continue
    }
    writeFileSync(path, content)
    console.log(`wrote analysis-templates/${file}`)
  }
}
process.exit(stale === 0 ? 0 : 1)
