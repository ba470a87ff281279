import type { Metric, Registry } from 'prom-client'
import { encodeFamily, familyFromValues, type MetricFamilyMessage } from './protobuf.js'

/** Label names and values; the same object may be shared by many samples (its text is cached). */
export type Labels = Readonly<Record<string, string>>

/** One exported sample. */
export interface Sample {
  /** Labels, often one object per pod shared by all its samples. */
  readonly labels: Labels
  /** One more label appended after `labels` (e.g. `le`, `quantile`, `status_class`). */
  readonly extra?: readonly [name: string, value: string]
  readonly value: number
  /** e.g. `<name>_bucket`; defaults to the metric's name. */
  readonly metricName?: string
}

/** Options of {@link SnapshotMetric}. */
export interface SnapshotMetricOptions {
  readonly name: string
  readonly help: string
  readonly type: 'gauge' | 'counter' | 'histogram' | 'summary'
  /** Produces the samples from the collector's current snapshot. */
  readonly samples: () => Iterable<Sample>
  /**
   * Changes whenever `samples` would produce something different (a new run
   * was published, the data turned stale). Rendered text is reused while it
   * stays the same. Default: render every time.
   */
  readonly version?: () => string
  /**
   * The metric's protobuf families (src/metrics/protobuf.ts), when they are not
   * simply its samples: e.g. a native histogram. Default: built from `samples`.
   */
  readonly protobuf?: () => readonly MetricFamilyMessage[]
}

// The Prometheus text format escapes, exactly as prom-client does.
const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeLabel = (s: string) => escapeHelp(s).replace(/"/g, '\\"')
/** prom-client's number rendering (including its `Nan` spelling). */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan'
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf'
  return `${value}`
}

/**
 * A metric whose samples are read from a snapshot that the collector replaces
 * in one assignment after each successful run, so a scrape sees one whole run.
 *
 * It renders its own exposition text, byte for byte what prom-client's
 * Registry renders for the same samples (test/metrics/exposition.ts checks
 * it), but much faster: the label text of a shared labels object is escaped
 * once, and the text is rebuilt only when `version` changes. It also
 * implements the part of prom-client's metric contract that `Registry` uses
 * (`name`, `help`, `type`, `aggregator`, `get()`), so it lives on the registry
 * that is passed in, next to ordinary prom-client metrics.
 */
export class SnapshotMetric {
  readonly name: string
  readonly help: string
  readonly type: SnapshotMetricOptions['type']
  readonly aggregator = 'sum' as const
  readonly #samples: () => Iterable<Sample>
  readonly #version: (() => string) | undefined
  readonly #protobuf: (() => readonly MetricFamilyMessage[]) | undefined
  #cache: { version: string; body: Buffer; gzip?: Promise<Buffer> } | undefined
  #protobufCache: { version: string; body: Buffer } | undefined

  constructor(options: SnapshotMetricOptions, registry: Registry) {
    this.name = options.name
    this.help = options.help
    this.type = options.type
    this.#samples = options.samples
    this.#version = options.version
    this.#protobuf = options.protobuf
    // Registry only calls get() and reads name/type; see the class comment.
    registry.registerMetric(this as unknown as Metric)
  }

  /** prom-client's view (used by `registry.metrics()` and `getMetricsAsJSON()`). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: { labels: Labels; value: number; metricName?: string }[] }> {
    const values = [...this.#samples()].map((s) => ({
      labels: s.extra === undefined ? s.labels : { ...s.labels, [s.extra[0]]: s.extra[1] },
      value: s.value,
      ...(s.metricName !== undefined && { metricName: s.metricName }),
    }))
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** The exposition text of this metric (no trailing newline), as UTF-8, rebuilt only when the version changed. */
  render(): Buffer {
    const version = this.#version?.()
    if (version !== undefined && this.#cache?.version === version) return this.#cache.body
    const body = Buffer.from(this.#format(), 'utf8')
    this.#cache = version === undefined ? undefined : { version, body }
    return body
  }

  /**
   * This metric as length-delimited protobuf MetricFamily messages (empty when
   * it has no samples), rebuilt only when the version changed.
   */
  protobuf(): Buffer {
    const version = this.#version?.()
    if (version !== undefined && this.#protobufCache?.version === version) return this.#protobufCache.body
    const families =
      this.#protobuf?.() ??
      [
        familyFromValues(
          this.name,
          this.help,
          this.type,
          [...this.#samples()].map((s) => ({
            labels: s.extra === undefined ? s.labels : { ...s.labels, [s.extra[0]]: s.extra[1] },
            value: s.value,
            ...(s.metricName !== undefined && { metricName: s.metricName }),
          })),
        ),
      ].filter((f) => f !== undefined)
    const body = Buffer.concat(families.filter((f) => f.metric.length > 0).map(encodeFamily))
    this.#protobufCache = version === undefined ? undefined : { version, body }
    return body
  }

  /** The gzip form of `body` (as returned by render), compressed once per version. */
  gzip(body: Buffer, compress: (data: Buffer) => Promise<Buffer>): Promise<Buffer> {
    const cache = this.#cache
    // A new run may have been published since `body` was rendered: then
    // compress what was rendered, so text and gzip always agree.
    if (cache === undefined || cache.body !== body) return compress(body)
    // Concurrent scrapes share one compression (zlib runs off the event loop).
    cache.gzip ??= compress(body)
    return cache.gzip
  }

  /**
   * Renders now and starts compressing in the background, so that the first
   * scrape after a new run is served from the cache like every other one.
   */
  prepare(compress: (data: Buffer) => Promise<Buffer>): void {
    void this.gzip(this.render(), compress).catch(() => undefined)
  }

  #format(): string {
    const labelText = new WeakMap<Labels, string>()
    const textOf = (labels: Labels): string => {
      let text = labelText.get(labels)
      if (text === undefined) {
        text = Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',')
        labelText.set(labels, text)
      }
      return text
    }
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`]
    for (const s of this.#samples()) {
      let labels = textOf(s.labels)
      if (s.extra !== undefined) labels += `${labels === '' ? '' : ','}${s.extra[0]}="${escapeLabel(s.extra[1])}"`
      lines.push(`${s.metricName ?? this.name}${labels === '' ? '' : `{${labels}}`} ${valueText(s.value)}`)
    }
    return lines.join('\n')
  }

  /** prom-client calls reset() on registry.resetMetrics(); the snapshot belongs to the collector. */
  reset(): void {}
}
