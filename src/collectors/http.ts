import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { Registry } from 'prom-client'
import { SnapshotMetric } from '../metrics/snapshot-metric.js'
import type { Logger } from 'pino'
import type { HttpCollectorConfig } from '../config/types.js'
import { CollectorResultError } from '../errors.js'
import { checkRowCap } from './row-cap.js'
import {
  HTTP_POD_COUNTS_TABLE,
  HTTP_POD_NATIVE_BUCKETS_TABLE,
  HTTP_POD_STATS_TABLE,
  STATUS_CLASSES,
  buildHttpPodStatsRequest,
} from '../pixie/scripts/http-pod-stats.js'
import { columnOf, tableOf } from '../pixie/table.js'
import type { PixieApi, PixieTable } from '../pixie/types.js'
import {
  HTTP_ERRORS_PER_SECOND,
  HTTP_ERROR_RATIO,
  HTTP_LATENCY_SECONDS,
  HTTP_REQUESTS_PER_SECOND,
  HTTP_REQUESTS_TOTAL,
  HTTP_REQUEST_DURATION,
} from '../metrics/names.js'
import { CountRangePlanner } from './count-range.js'
import { HTTP_METRIC_FAMILIES } from '../config/schema.js'
import { familyFromValues } from '../metrics/protobuf.js'
import { HttpCounterStore, checkCountRow, checkNativeRows, nativeHistogramFamilies, type PodCountRow, type PodNativeRow } from './http-counters.js'
import { formatDuration } from '../duration.js'
import { defaultStaleAfterMs } from '../scheduler/schedule.js'
import type { Collector, RunContext, RunSummary } from './collector.js'

const gzipAsync = promisify(gzip)

/** Dependencies of the built-in HTTP collector. */
export interface HttpCollectorDeps {
  readonly pixie: PixieApi
  readonly registry: Registry
  readonly logger: Logger
  /** Wall clock, ms since the epoch: Pixie's time ranges and published timestamps only. */
  readonly now: () => number
  /**
   * Monotonic clock, ms: staleness, counter expiry and the length of count
   * ranges. Default: `now` (tests that drive a single fake clock); the
   * exporter passes `performance.now`.
   */
  readonly monotonic?: () => number
  readonly config: HttpCollectorConfig
}

/** One pod's figures over the window. */
export interface PodHttpStats {
  /** `{namespace, pod, service}`, one object per pod shared by all its samples. */
  readonly labels: Readonly<Record<string, string>>
  readonly namespace: string
  readonly pod: string
  readonly service: string
  readonly requestsPerSecond: number
  readonly errorsPerSecond: number
  readonly errorRatio: number
  /** Seconds; undefined when Pixie gave no usable quantile. */
  readonly p50: number | undefined
  readonly p90: number | undefined
  readonly p99: number | undefined
}

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
] as const

/**
 * Turns Pixie's `ctx['service']` into the plain label value: `ns/svc` → `svc`,
 * `["ns/a","ns/b"]` → `a,b`, `""` → `""`.
 */
export function serviceLabel(raw: string): string {
  let names: unknown = [raw]
  if (raw.startsWith('[')) {
    try {
      names = JSON.parse(raw)
    } catch {
      names = [raw]
    }
  }
  if (!Array.isArray(names)) names = [raw]
  return (names as unknown[])
    .filter((n): n is string => typeof n === 'string' && n !== '')
    .map((n) => n.slice(n.indexOf('/') + 1))
    .join(',')
}

/** `ns/pod` → `pod` (Pixie's `ctx['pod']` carries the namespace). */
export function podLabel(raw: string): string {
  return raw.slice(raw.indexOf('/') + 1)
}

function quantileSeconds(ns: number | undefined): number | undefined {
  // px.pluck_float64 yields 0.0 when the quantiles JSON is unusable; a real
  // request never takes 0 ns, so 0 and non-finite values mean "unknown".
  if (ns === undefined || !Number.isFinite(ns) || ns <= 0) return undefined
  return ns / 1e9
}

/**
 * The built-in collector: one PxL run per schedule tick for ALL pods, giving
 * per-pod request rate, error rate, error ratio and latency quantiles over the
 * window. See src/pixie/scripts/http-pod-stats.ts for the script.
 */
export class HttpCollector implements Collector {
  readonly name = 'http'
  readonly schedule: HttpCollectorConfig['schedule']
  readonly timeoutMs: number
  readonly staleAfterMs: number
  #lastSuccessAt: number | undefined
  #lastSuccessMonotonic: number | undefined
  #pods: readonly PodHttpStats[] = []
  /** Bumped on every publication; with freshness, the cache key of the rendered exposition. */
  #publications = 0
  readonly #deps: HttpCollectorDeps
  readonly #monotonic: () => number
  readonly #planner: CountRangePlanner
  readonly #counters: HttpCounterStore
  readonly #bucketsNs: readonly bigint[]
  /** This collector's metrics, prepared (rendered, compressed) after each publication. */
  readonly #metrics: SnapshotMetric[] = []

  constructor(deps: HttpCollectorDeps) {
    this.#deps = deps
    this.#monotonic = deps.monotonic ?? deps.now
    this.schedule = deps.config.schedule
    this.timeoutMs = deps.config.timeoutMs
    this.staleAfterMs = deps.config.staleAfterMs ?? defaultStaleAfterMs(deps.config.schedule)
    this.#planner = new CountRangePlanner(deps.config)
    this.#counters = new HttpCounterStore({
      bucketsSeconds: deps.config.bucketsSeconds,
      expireAfterMs: deps.config.expireAfterMs,
      ...(deps.config.nativeHistogram !== undefined && { nativeSchema: deps.config.nativeHistogram.schema }),
    })
    this.#bucketsNs = deps.config.bucketsSeconds.map((s) => BigInt(Math.round(s * 1e9)))
    this.#register()
  }

  get lastSuccessAt(): number | undefined {
    return this.#lastSuccessAt
  }

  get lastSuccessMonotonic(): number | undefined {
    return this.#lastSuccessMonotonic
  }

  /** Pods with counter series (including stale ones that are hidden). */
  get counterPods(): number {
    return this.#counters.size
  }

  /** The pods currently published (empty once stale). */
  get pods(): readonly PodHttpStats[] {
    return this.#fresh() ? this.#pods : []
  }

  /** Changes whenever the exported samples would change. */
  #version(): string {
    return `${this.#publications}:${this.#fresh()}`
  }

  #fresh(): boolean {
    return this.#lastSuccessMonotonic !== undefined && this.#monotonic() - this.#lastSuccessMonotonic <= this.staleAfterMs
  }

  #register(): void {
    const { registry, config } = this.#deps
    const window = formatDuration(config.windowMs)
    const refreshed = `Refreshed by a background Pixie poll over the last ${window}; absent for pods without requests in the window and once the data is stale.`
    // Samples are read at scrape time from the last published run; the array
    // is swapped in one assignment, so a scrape sees one whole run.
    // `collectors.http.metrics` picks the families; a family left out is never registered.
    const enabled = new Set<string>(config.metrics ?? HTTP_METRIC_FAMILIES)
    const track = (m: SnapshotMetric) => {
      this.#metrics.push(m)
      return m
    }
    const perPod = (name: string, help: string, value: (p: PodHttpStats) => number) =>
      track(new SnapshotMetric(
        {
          name,
          help: `${help} ${refreshed}`,
          type: 'gauge',
          samples: () => this.pods.map((p) => ({ labels: p.labels, value: value(p) })),
          version: () => this.#version(),
        },
        registry,
      ))
    if (enabled.has(HTTP_REQUESTS_PER_SECOND)) perPod(HTTP_REQUESTS_PER_SECOND, 'Inbound HTTP requests per second served by the pod.', (p) => p.requestsPerSecond)
    if (enabled.has(HTTP_ERRORS_PER_SECOND)) perPod(
      HTTP_ERRORS_PER_SECOND,
      `Inbound HTTP responses per second with status >= ${config.errorStatusMin}.`,
      (p) => p.errorsPerSecond,
    )
    if (enabled.has(HTTP_ERROR_RATIO)) perPod(HTTP_ERROR_RATIO, `Share (0..1) of inbound HTTP responses with status >= ${config.errorStatusMin}.`, (p) => p.errorRatio)
    // Typed as a summary with quantiles only: the `quantile` label is only
    // legal on summaries (promtool), and the values are point-in-time like gauges.
    if (enabled.has(HTTP_LATENCY_SECONDS)) track(new SnapshotMetric(
      {
        name: HTTP_LATENCY_SECONDS,
        help: `Latency quantiles of inbound HTTP requests served by the pod, in seconds. ${refreshed}`,
        type: 'summary',
        version: () => this.#version(),
        samples: () =>
          this.pods.flatMap((p) =>
            QUANTILES.flatMap(([quantile, key]) => {
              const v = p[key]
              return v === undefined ? [] : [{ labels: p.labels, extra: ['quantile', quantile] as const, value: v }]
            }),
          ),
      },
      registry,
    ))
    const counted = 'Added up from contiguous Pixie windows by the background poll (restarts from 0 when the exporter restarts); absent once the data is stale, removed when the pod has not been seen for expireAfter.'
    if (enabled.has(HTTP_REQUESTS_TOTAL)) track(new SnapshotMetric(
      {
        name: HTTP_REQUESTS_TOTAL,
        help: `Inbound HTTP requests served by the pod, by status class. ${counted}`,
        type: 'counter',
        version: () => this.#version(),
        samples: () => (this.#fresh() ? this.#counters.requestSamples() : []),
      },
      registry,
    ))
    const native = config.nativeHistogram
    const durationHelp = `Latency of inbound HTTP requests served by the pod, in seconds (buckets counted exactly in PxL). ${counted}`
    const sumAndCount = config.histogramSumAndCount ?? true
    if (enabled.has(HTTP_REQUEST_DURATION)) track(new SnapshotMetric(
      {
        name: HTTP_REQUEST_DURATION,
        help: durationHelp,
        type: 'histogram',
        version: () => this.#version(),
        samples: () => (this.#fresh() ? this.#counters.histogramSamples(HTTP_REQUEST_DURATION, sumAndCount) : []),
        // The text exposition stays classic (byte for byte the same); protobuf
        // scrapes also get the native buckets counted in PxL.
        ...(native !== undefined && {
          protobuf: () => (this.#fresh() ? nativeHistogramFamilies(this.#counters, HTTP_REQUEST_DURATION, durationHelp, native.classicBuckets, sumAndCount) : []),
        }),
        // A classic protobuf Histogram message always carries a count and a
        // sum (Prometheus stores them as _count and _sum): give it the real
        // ones rather than zeros when the text exposition leaves them out.
        ...(native === undefined && !sumAndCount && {
          protobuf: () => {
            if (!this.#fresh()) return []
            const values = [...this.#counters.histogramSamples(HTTP_REQUEST_DURATION, true)].map((s) => ({
              labels: s.extra === undefined ? s.labels : { ...s.labels, [s.extra[0]]: s.extra[1] },
              value: s.value,
              ...(s.metricName !== undefined && { metricName: s.metricName }),
            }))
            const family = familyFromValues(HTTP_REQUEST_DURATION, durationHelp, 'histogram', values)
            return family === undefined ? [] : [family]
          },
        }),
      },
      registry,
    ))
  }

  async run(context: RunContext): Promise<RunSummary> {
    const { pixie, config, now, logger } = this.#deps
    const plan = this.#planner.plan(now(), this.#monotonic())
    if (plan.clockStepMs !== 0) {
      logger.warn(
        { clockStepSeconds: plan.clockStepMs / 1000, countSeconds: plan.countStartMs === undefined ? 0 : (plan.endMs - plan.countStartMs) / 1000 },
        'the wall clock was stepped since the last counted range; the count range now covers the monotonic time elapsed, ending at the new time',
      )
    }
    const request = buildHttpPodStatsRequest({
      startNs: msToNs(plan.windowStartMs),
      endNs: msToNs(plan.endMs),
      errorStatusMin: config.errorStatusMin,
      include: config.namespaces.include,
      exclude: config.namespaces.exclude,
      maxRows: config.maxRows,
      ...(plan.countStartMs !== undefined && {
        counts: {
          startNs: msToNs(plan.countStartMs),
          bucketsNs: this.#bucketsNs,
          ...(config.nativeHistogram !== undefined && { native: { schema: config.nativeHistogram.schema } }),
        },
      }),
    })
    const result = await pixie.executeScript({
      ...request,
      timeoutMs: context.timeoutMs,
      signal: context.signal,
      maxRowsPerTable: config.maxRows,
    })
    // A Pixie (or proxy) that ignores the pragma must not get past the cap,
    // whatever PixieApi implementation is in use.
    checkRowCap(result, config.maxRows)
    // Decode and check everything before publishing anything.
    const pods = toPodStats(tableOf(result, HTTP_POD_STATS_TABLE), config.windowMs / 1000)
    const counts = plan.countStartMs === undefined ? [] : toCountRows(tableOf(result, HTTP_POD_COUNTS_TABLE), this.#bucketsNs.length)
    let native: PodNativeRow[] = []
    let nativeRowCount = 0
    if (plan.countStartMs !== undefined && config.nativeHistogram !== undefined) {
      const decoded = toNativeRows(tableOf(result, HTTP_POD_NATIVE_BUCKETS_TABLE))
      nativeRowCount = decoded.length
      const checked = checkNativeRows(counts, decoded, decoded.length < config.maxRows)
      if (checked.dropped > 0) logger.warn({ pods: checked.dropped }, 'native histogram buckets cut by collectors.http.maxRows; these pods miss this range in the native histogram')
      native = checked.rows
    }
    const rows = pods.rows + counts.length + nativeRowCount
    if (pods.rows >= config.maxRows || counts.length >= config.maxRows || nativeRowCount >= config.maxRows) {
      logger.warn({ rows, maxRows: config.maxRows }, 'result reached collectors.http.maxRows; some pods may be missing')
    }
    // Publish synchronously: scrapes see the previous run or this one, never a mix.
    const publishedAt = now()
    const publishedMonotonic = this.#monotonic()
    this.#pods = pods.stats
    this.#counters.add(counts, publishedMonotonic, native)
    this.#planner.commit(plan)
    this.#lastSuccessAt = publishedAt
    this.#lastSuccessMonotonic = publishedMonotonic
    this.#publications++
    // Render and compress now, on the poll's time, not on the next scrape's.
    for (const metric of this.#metrics) metric.prepare(gzipAsync)
    return { rows, skippedSeconds: plan.skippedMs / 1000 }
  }
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n
}

/** Decodes `http_pod_counts`; throws CollectorResultError on a bad shape or inconsistent row. */
function toCountRows(table: PixieTable, buckets: number): PodCountRow[] {
  const namespace = columnOf(table, 'namespace', 'STRING')
  const pod = columnOf(table, 'pod', 'STRING')
  const service = columnOf(table, 'service', 'STRING')
  const requests = columnOf(table, 'requests', 'INT64')
  const classes = STATUS_CLASSES.map((c) => columnOf(table, `s${c}`, 'INT64'))
  const latencySum = columnOf(table, 'latency_sum_ns', 'INT64')
  const bucketColumns = Array.from({ length: buckets }, (_, i) => columnOf(table, `le_${i}`, 'INT64'))
  const rows: PodCountRow[] = []
  for (let i = 0; i < table.numRows; i++) {
    const row: PodCountRow = {
      namespace: namespace[i] ?? '',
      pod: podLabel(pod[i] ?? ''),
      service: serviceLabel(service[i] ?? ''),
      requests: Number(requests[i] ?? 0n),
      byClass: classes.map((c) => Number(c[i] ?? 0n)),
      latencySumSeconds: Number(latencySum[i] ?? 0n) / 1e9,
      buckets: bucketColumns.map((c) => Number(c[i] ?? 0n)),
    }
    checkCountRow(row, i, buckets)
    rows.push(row)
  }
  return rows
}

/** Decodes `http_pod_native_buckets`; throws CollectorResultError on a bad shape. */
function toNativeRows(table: PixieTable): PodNativeRow[] {
  const namespace = columnOf(table, 'namespace', 'STRING')
  const pod = columnOf(table, 'pod', 'STRING')
  const service = columnOf(table, 'service', 'STRING')
  const bucket = columnOf(table, 'bucket', 'INT64')
  const count = columnOf(table, 'count', 'INT64')
  const rows: PodNativeRow[] = []
  for (let i = 0; i < table.numRows; i++) {
    rows.push({
      namespace: namespace[i] ?? '',
      pod: podLabel(pod[i] ?? ''),
      service: serviceLabel(service[i] ?? ''),
      bucket: Number(bucket[i] ?? 0n),
      count: Number(count[i] ?? 0n),
    })
  }
  return rows
}

/** Decodes the result table into per-pod figures; throws CollectorResultError on a bad shape. */
function toPodStats(table: PixieTable, windowSeconds: number): { stats: PodHttpStats[]; rows: number } {
  const namespace = columnOf(table, 'namespace', 'STRING')
  const pod = columnOf(table, 'pod', 'STRING')
  const service = columnOf(table, 'service', 'STRING')
  const requests = columnOf(table, 'requests', 'INT64')
  const errors = columnOf(table, 'errors', 'INT64')
  const p50 = columnOf(table, 'latency_p50_ns', 'FLOAT64')
  const p90 = columnOf(table, 'latency_p90_ns', 'FLOAT64')
  const p99 = columnOf(table, 'latency_p99_ns', 'FLOAT64')
  const stats: PodHttpStats[] = []
  const seen = new Set<string>()
  for (let i = 0; i < table.numRows; i++) {
    const req = Number(requests[i] ?? 0n)
    const err = Number(errors[i] ?? 0n)
    // No invented zeros: a pod without requests has no ratio to report.
    if (!(req > 0)) continue
    if (err < 0 || err > req) {
      throw new CollectorResultError(`row ${i}: errors (${err}) must be between 0 and requests (${req})`)
    }
    const labels = { namespace: namespace[i] ?? '', pod: podLabel(pod[i] ?? ''), service: serviceLabel(service[i] ?? '') }
    // A gauge cannot hold two values for one series: a result that repeats a
    // label set is malformed (Pixie's groupby gives one row per group).
    const key = `${labels.namespace}\u0000${labels.pod}\u0000${labels.service}`
    if (seen.has(key)) throw new CollectorResultError(`row ${i}: pod ${labels.namespace}/${labels.pod} (service "${labels.service}") appears twice`)
    seen.add(key)
    stats.push({
      labels,
      ...labels,
      requestsPerSecond: req / windowSeconds,
      errorsPerSecond: err / windowSeconds,
      errorRatio: err / req,
      p50: quantileSeconds(p50[i]),
      p90: quantileSeconds(p90[i]),
      p99: quantileSeconds(p99[i]),
    })
  }
  return { stats, rows: table.numRows }
}
