import type { Metric, Registry } from 'prom-client'

/** One exported sample: labels, value, and for histograms the suffixed name. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
  /** e.g. `<name>_bucket`; defaults to the metric's name. */
  readonly metricName?: string
}

/** Options of {@link SnapshotMetric}. */
export interface SnapshotMetricOptions {
  readonly name: string
  readonly help: string
  readonly type: 'gauge' | 'counter' | 'histogram' | 'summary'
  /** Produces the samples at scrape time from the collector's current snapshot. */
  readonly samples: () => Iterable<Sample>
}

/**
 * A metric whose samples are read at scrape time from a snapshot that the
 * collector replaces in one assignment after each successful run. Unlike a
 * prom-client Gauge refilled in `collect()`, it does no per-series hashing, so
 * scraping 10,000 pods stays cheap, and a scrape sees one whole run.
 *
 * It implements the part of prom-client's metric contract that `Registry`
 * uses (`name`, `help`, `type`, `aggregator`, `get()`), so it is registered on
 * the registry that is passed in, next to ordinary prom-client metrics.
 */
export class SnapshotMetric {
  readonly name: string
  readonly help: string
  readonly type: SnapshotMetricOptions['type']
  readonly aggregator = 'sum' as const
  readonly #samples: () => Iterable<Sample>

  constructor(options: SnapshotMetricOptions, registry: Registry) {
    this.name = options.name
    this.help = options.help
    this.type = options.type
    this.#samples = options.samples
    // Registry only calls get() and reads name/type; see the class comment.
    registry.registerMetric(this as unknown as Metric)
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.#samples()] }
  }

  /** prom-client calls reset() on registry.resetMetrics(); the snapshot belongs to the collector. */
  reset(): void {}
}
