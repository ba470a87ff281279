/**
 * The HTTP collector's poll pipeline: plan the ranges, run the script on
 * Pixie, decode and check the tables, add up the counters, then render every
 * family (text, protobuf and their gzip forms) into finished buffers.
 *
 * It holds only what the next run needs (the range planner and the counter
 * totals); the decoded rows and per-pod figures of a run are dropped once its
 * buffers are rendered. It runs in the collector's worker thread (see
 * http-worker.ts) or, for tests and fake Pixie APIs, on the caller's thread;
 * both give the same bytes.
 */
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { HttpCollectorConfig } from './http-options.js'
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
import { podLabel, serviceLabel, wellFormed } from './pixie-labels.js'
import { HttpCounterStore, checkCountRow, nativeByPod, writeNativeHistogramFamilies, type NativeByPod, type NativeColumns, type PodCountRow } from './http-counters.js'
import { formatDuration } from '../duration.js'
import { LabelTextCache, encodeFamilyProtobuf, renderFamilyText, type FamilyMeta, type RenderedFamily, type Sample } from '../metrics/snapshot-metric.js'
import type { RunContext } from './collector.js'
import { ProtoWriter } from '../metrics/protobuf-writer.js'

const gzipAsync = promisify(gzip)

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

/**
 * The per-pod rates `/error-rate` needs, packed for a transfer between
 * threads (one string and two transferable arrays, no object per pod):
 * `keys` is the JSON of `[namespace0, pod0, namespace1, pod1, …]`, one pair
 * per published row; the two arrays hold the rows' rates in the same order.
 */
export interface PackedRates {
  readonly keys: string
  readonly requestsPerSecond: Float64Array
  readonly errorsPerSecond: Float64Array
}

/** What one successful run hands over for publication. */
export interface PublishedRun {
  /** Rows Pixie returned. */
  readonly rows: number
  readonly skippedSeconds: number
  /** Pods with counter series after this run. */
  readonly counterPods: number
  /** One per family of {@link httpFamilies}, in that order. */
  readonly families: readonly RenderedFamily[]
  readonly rates: PackedRates
}

/** A family of the HTTP collector: name, help, type, and where its samples come from. */
export interface HttpFamily extends FamilyMeta {
  /** `stats`: the gauges of the run's window; `counters`: the running totals. */
  readonly source: 'stats' | 'counters'
}

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
] as const

/** The families `config` enables, in exposition order, with their help texts. */
export function httpFamilies(config: HttpCollectorConfig): HttpFamily[] {
  const window = formatDuration(config.windowMs)
  const refreshed = `Refreshed by a background Pixie poll over the last ${window}; absent for pods without requests in the window and once the data is stale.`
  const counted =
    'Added up from contiguous Pixie windows by the background poll (restarts from 0 when the exporter restarts); absent once the data is stale, removed when the pod has not been seen for expireAfter.'
  const all: HttpFamily[] = [
    { name: HTTP_REQUESTS_PER_SECOND, help: `Inbound HTTP requests per second served by the pod. ${refreshed}`, type: 'gauge', source: 'stats' },
    { name: HTTP_ERRORS_PER_SECOND, help: `Inbound HTTP responses per second with status >= ${config.errorStatusMin}. ${refreshed}`, type: 'gauge', source: 'stats' },
    { name: HTTP_ERROR_RATIO, help: `Share (0..1) of inbound HTTP responses with status >= ${config.errorStatusMin}. ${refreshed}`, type: 'gauge', source: 'stats' },
    // Typed as a summary with quantiles only: the `quantile` label is only
    // legal on summaries (promtool), and the values are point-in-time like gauges.
    { name: HTTP_LATENCY_SECONDS, help: `Latency quantiles of inbound HTTP requests served by the pod, in seconds. ${refreshed}`, type: 'summary', source: 'stats' },
    { name: HTTP_REQUESTS_TOTAL, help: `Inbound HTTP requests served by the pod, by status class. ${counted}`, type: 'counter', source: 'counters' },
    {
      name: HTTP_REQUEST_DURATION,
      help: `Latency of inbound HTTP requests served by the pod, in seconds (buckets counted exactly in PxL). ${counted}`,
      type: 'histogram',
      source: 'counters',
    },
  ]
  // `collectors.http.metrics` picks the families; a family left out is never registered.
  const enabled = new Set<string>(config.metrics ?? all.map((f) => f.name))
  return all.filter((f) => enabled.has(f.name))
}


function quantileSeconds(ns: number | undefined): number | undefined {
  // px.pluck_float64 yields 0.0 when the quantiles JSON is unusable; a real
  // request never takes 0 ns, so 0 and non-finite values mean "unknown".
  if (ns === undefined || !Number.isFinite(ns) || ns <= 0) return undefined
  return ns / 1e9
}

/** Where the pipeline's warnings go (a pino logger, or a forwarder to one). */
export interface PipelineLog {
  warn(fields: Record<string, unknown>, message: string): void
}

/** Options of {@link HttpPipeline}. */
export interface HttpPipelineOptions {
  readonly config: HttpCollectorConfig
  readonly log: PipelineLog
  /** Wall clock, ms since the epoch (Pixie's time ranges). */
  readonly now: () => number
  /** Monotonic clock, ms (counter expiry, length of count ranges). */
  readonly monotonic: () => number
}

/** The stateful core of the HTTP collector; see the file comment. */
export class HttpPipeline {
  readonly families: readonly HttpFamily[]
  readonly #options: HttpPipelineOptions
  readonly #planner: CountRangePlanner
  readonly #counters: HttpCounterStore
  readonly #bucketsNs: readonly bigint[]
  /** Label text of the counter store's pods, which live across runs. */
  readonly #counterLabels = new LabelTextCache({ flat: true })

  constructor(options: HttpPipelineOptions) {
    const { config } = options
    this.#options = options
    this.families = httpFamilies(config)
    this.#planner = new CountRangePlanner(config)
    this.#counters = new HttpCounterStore({
      bucketsSeconds: config.bucketsSeconds,
      expireAfterMs: config.expireAfterMs,
      ...(config.nativeHistogram !== undefined && { nativeSchema: config.nativeHistogram.schema }),
    })
    this.#bucketsNs = config.bucketsSeconds.map((s) => BigInt(Math.round(s * 1e9)))
  }

  /** Pods with counter series (including stale ones that are hidden). */
  get counterPods(): number {
    return this.#counters.size
  }

  /**
   * One poll: runs the script, checks everything, then updates the counters
   * and renders. Throws (leaving the counters and planner untouched) on any
   * failure before the update. `protobuf`: also render the protobuf forms.
   * The native histogram's buckets are asked of Pixie only for a run that
   * renders them (protobuf); with native histograms configured every run
   * does, unless the collector gave the protobuf forms up (HttpCollector.run).
   */
  async run(pixie: PixieApi, context: RunContext, protobuf: boolean): Promise<PublishedRun> {
    const { config, now, monotonic, log } = this.#options
    const nativeHistogram = protobuf ? config.nativeHistogram : undefined
    const plan = this.#planner.plan(now(), monotonic())
    if (plan.clockStepMs !== 0) {
      log.warn(
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
          ...(nativeHistogram !== undefined && { native: { schema: nativeHistogram.schema } }),
        },
      }),
    })
    let result = await pixie.executeScript({
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
    let native: NativeByPod = new Map()
    let nativeRowCount = 0
    if (plan.countStartMs !== undefined && nativeHistogram !== undefined) {
      const columns = nativeColumns(tableOf(result, HTTP_POD_NATIVE_BUCKETS_TABLE))
      nativeRowCount = columns.rows
      const checked = nativeByPod(counts, columns, columns.rows < config.maxRows)
      if (checked.dropped > 0) log.warn({ pods: checked.dropped }, 'native histogram buckets cut by collectors.http.maxRows; these pods miss this range in the native histogram')
      native = checked.byPod
    }
    // The columns are decoded: let them go before rendering.
    // eslint-disable-next-line no-useless-assignment -- drops the last reference to the decoded stream so GC can free it during rendering
    result = undefined as unknown as typeof result
    const rows = pods.rows + counts.length + nativeRowCount
    if (pods.rows >= config.maxRows || counts.length >= config.maxRows || nativeRowCount >= config.maxRows) {
      log.warn({ rows, maxRows: config.maxRows }, 'result reached collectors.http.maxRows; some pods may be missing')
    }
    // Everything checked: update the state in one synchronous step.
    this.#counters.add(counts, monotonic(), native)
    this.#planner.commit(plan)
    const families = await this.#render(pods.stats, protobuf)
    return { rows, skippedSeconds: plan.skippedMs / 1000, counterPods: this.#counters.size, families, rates: packRates(pods.stats) }
  }

  /** Renders every family of this run; the per-pod figures are not kept. */
  async #render(stats: readonly PodHttpStats[], protobuf: boolean): Promise<RenderedFamily[]> {
    const statsLabels = new LabelTextCache()
    const native = this.#options.config.nativeHistogram
    const rendered = this.families.map((family) => {
      const samples = () => this.#samples(family, stats)
      const cache = family.source === 'stats' ? statsLabels : this.#counterLabels
      const text = renderFamilyText(family, samples(), cache)
      let proto: Buffer | undefined
      if (protobuf) {
        // The text exposition stays classic (byte for byte the same); protobuf
        // scrapes also get the native buckets counted in PxL.
        const sumAndCount = this.#options.config.histogramSumAndCount ?? true
        if (family.name === HTTP_REQUEST_DURATION && native !== undefined) {
          const w = new ProtoWriter()
          writeNativeHistogramFamilies(w, this.#counters, family.name, family.help, native.classicBuckets, sumAndCount)
          proto = w.finish()
        } else if (family.name === HTTP_REQUEST_DURATION && !sumAndCount) {
          // A classic protobuf Histogram message always carries a count and a
          // sum (Prometheus stores them as _count and _sum): give it the real
          // ones rather than zeros when the text exposition leaves them out.
          proto = encodeFamilyProtobuf(family, () => this.#counters.histogramSamples(family.name, true))
        } else {
          proto = encodeFamilyProtobuf(family, samples)
        }
      }
      return { text, proto }
    })
    // zlib runs on libuv's pool: compress everything at once.
    return Promise.all(
      rendered.map(async ({ text, proto }) => {
        const [textGzip, protobufGzip] = await Promise.all([gzipAsync(text), proto === undefined ? undefined : gzipAsync(proto)])
        return { text, textGzip, ...(proto !== undefined && protobufGzip !== undefined && { protobuf: proto, protobufGzip }) }
      }),
    )
  }

  *#samples(family: HttpFamily, stats: readonly PodHttpStats[]): Generator<Sample> {
    switch (family.name) {
      case HTTP_REQUESTS_PER_SECOND:
        for (const p of stats) yield { labels: p.labels, value: p.requestsPerSecond }
        return
      case HTTP_ERRORS_PER_SECOND:
        for (const p of stats) yield { labels: p.labels, value: p.errorsPerSecond }
        return
      case HTTP_ERROR_RATIO:
        for (const p of stats) yield { labels: p.labels, value: p.errorRatio }
        return
      case HTTP_LATENCY_SECONDS:
        for (const p of stats) {
          for (const [quantile, key] of QUANTILES) {
            const v = p[key]
            if (v !== undefined) yield { labels: p.labels, extra: ['quantile', quantile], value: v }
          }
        }
        return
      case HTTP_REQUESTS_TOTAL:
        yield* this.#counters.requestSamples()
        return
      case HTTP_REQUEST_DURATION:
        yield* this.#counters.histogramSamples(HTTP_REQUEST_DURATION, this.#options.config.histogramSumAndCount ?? true)
        return
      default:
        throw new TypeError(`unknown HTTP family ${family.name}`)
    }
  }
}

function packRates(stats: readonly PodHttpStats[]): PackedRates {
  const requestsPerSecond = new Float64Array(stats.length)
  const errorsPerSecond = new Float64Array(stats.length)
  const keys: string[] = []
  stats.forEach((p, i) => {
    keys.push(p.namespace, p.pod)
    requestsPerSecond[i] = p.requestsPerSecond
    errorsPerSecond[i] = p.errorsPerSecond
  })
  return { keys: JSON.stringify(keys), requestsPerSecond, errorsPerSecond }
}

/** The per-pod rates of a {@link PackedRates}, one entry per pod (its rows summed: a pod under two Services has two rows). */
export function unpackRates(rates: PackedRates): { namespace: string; pod: string; requestsPerSecond: number; errorsPerSecond: number }[] {
  const keys = JSON.parse(rates.keys) as string[]
  const byPod = new Map<string, { namespace: string; pod: string; requestsPerSecond: number; errorsPerSecond: number }>()
  for (let i = 0; i < rates.requestsPerSecond.length; i++) {
    const namespace = keys[2 * i] ?? ''
    const pod = keys[2 * i + 1] ?? ''
    const key = `${namespace}/${pod}`
    let e = byPod.get(key)
    if (e === undefined) byPod.set(key, (e = { namespace, pod, requestsPerSecond: 0, errorsPerSecond: 0 }))
    e.requestsPerSecond += rates.requestsPerSecond[i] ?? 0
    e.errorsPerSecond += rates.errorsPerSecond[i] ?? 0
  }
  return [...byPod.values()]
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
      namespace: wellFormed(namespace[i] ?? ''),
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

/**
 * One label transform remembered per distinct raw value, for the length of
 * one decode: a table repeats each pod's context in many rows (the native
 * buckets: one row per pod and bucket), and each call would make new strings.
 */
function remembered(transform: (raw: string) => string): (raw: string) => string {
  const seen = new Map<string, string>()
  return (raw) => {
    let label = seen.get(raw)
    if (label === undefined) seen.set(raw, (label = transform(raw)))
    return label
  }
}

/** The columns of `http_pod_native_buckets`; throws CollectorResultError on a bad shape. */
function nativeColumns(table: PixieTable): NativeColumns {
  const namespace = columnOf(table, 'namespace', 'STRING')
  const pod = columnOf(table, 'pod', 'STRING')
  const service = columnOf(table, 'service', 'STRING')
  const bucket = columnOf(table, 'bucket', 'INT64')
  const count = columnOf(table, 'count', 'INT64')
  const namespaceLabel = remembered(wellFormed)
  const podLabelOf = remembered(podLabel)
  const serviceLabelOf = remembered(serviceLabel)
  return {
    rows: table.numRows,
    namespace: (i) => namespaceLabel(namespace[i] ?? ''),
    pod: (i) => podLabelOf(pod[i] ?? ''),
    service: (i) => serviceLabelOf(service[i] ?? ''),
    bucket: (i) => Number(bucket[i] ?? 0n),
    count: (i) => Number(count[i] ?? 0n),
  }
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
    const labels = { namespace: wellFormed(namespace[i] ?? ''), pod: podLabel(pod[i] ?? ''), service: serviceLabel(service[i] ?? '') }
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
