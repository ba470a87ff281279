import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { Registry } from 'prom-client'
import type { Secrets } from '../secrets.js'
import { SnapshotMetric } from './snapshot-metric.js'
import { encodeFamily, familyFromValues, type ValueLike } from './protobuf.js'

const gzip = promisify(gzipCallback)

/** The part of prom-client's Registry we use; `getMetricsAsString` exists at run time but not in its types. */
interface RegistryInternals {
  getMetricsAsArray(): unknown[]
  getMetricsAsString(metric: unknown): Promise<string>
}

/** One rendered exposition. */
export interface RenderedExposition {
  /** The exposition as UTF-8 buffers, in order; cached parts are shared, not copied. */
  readonly chunks: readonly Buffer[]
  /** The whole text (decodes the chunks; for tests and small outputs). */
  text(): string
  /** The body gzip-compressed; cached parts are compressed once per change of their data. */
  gzip(): Promise<Buffer>
}

/**
 * Renders (in slices, see SnapshotMetric.prepare) and compresses every
 * snapshot metric of `registry` in the background, right after a
 * publication, so that the first scrape after a poll is served from the
 * cache like every other one (at 10,000 pods, rendering and compressing
 * take seconds). With `secrets`, the bodies are also searched
 * for them in the background (Secrets.prescan). The exporter calls it when a
 * job succeeds; the collectors know nothing of the transport.
 */
export function prepareExposition(registry: Registry, secrets?: Secrets): void {
  for (const metric of (registry as unknown as RegistryInternals).getMetricsAsArray()) {
    if (!(metric instanceof SnapshotMetric)) continue
    void metric
      .prepare(gzip)
      .then(async () => {
        // The secrets check of the first scrape after a poll (src/app.ts), done now, in slices.
        if (secrets !== undefined && !secrets.empty) for (const body of metric.preparedBodies()) await secrets.prescan(body)
      })
      .catch(() => undefined)
  }
}

/**
 * Builds the Prometheus text exposition of a registry: exactly what
 * `registry.metrics()` returns for the same data (same order, same bytes),
 * but the per-pod snapshot metrics are rendered once per change of their data
 * instead of on every scrape, and rendered fast (see SnapshotMetric).
 *
 * The gzip form is a multi-member gzip stream (RFC 1952 §2.2): cached members
 * for the snapshot metrics, fresh members for the rest (self and process
 * metrics, small). Decompressors that follow the RFC, Prometheus' among them,
 * read it as one body.
 */
export class Exposition {
  readonly #registry: RegistryInternals

  constructor(registry: Registry) {
    this.#registry = registry as unknown as RegistryInternals
  }

  /**
   * The protobuf exposition (length-delimited MetricFamily messages) of the
   * same metrics, in the same order; metrics without samples are left out.
   * Snapshot metrics reuse their encoding while their data is unchanged.
   * Undefined when a pre-rendered metric has no protobuf form for its
   * current run (the caller answers in text, which Prometheus also accepts).
   */
  async renderProtobufParts(): Promise<RenderedExposition | undefined> {
    const segments: { body: Buffer; metric?: SnapshotMetric }[] = []
    let fresh: Buffer[] = []
    const flush = () => {
      if (fresh.length > 0) segments.push({ body: Buffer.concat(fresh) })
      fresh = []
    }
    for (const metric of this.#registry.getMetricsAsArray()) {
      if (metric instanceof SnapshotMetric) {
        const body = metric.protobuf()
        if (body === undefined) return undefined
        if (body.length === 0) continue
        flush()
        segments.push({ body, metric })
        continue
      }
      const data = (await (metric as { get(): Promise<{ name: string; help: string; type: string; values: ValueLike[] }> }).get())
      const family = familyFromValues(data.name, data.help, data.type, data.values)
      if (family !== undefined) fresh.push(encodeFamily(family))
    }
    flush()
    return {
      chunks: segments.map((s) => s.body),
      text: () => Buffer.concat(segments.map((s) => s.body)).toString('latin1'),
      async gzip() {
        // Multi-member gzip, as for the text: cached members for the snapshot metrics.
        const members = await Promise.all(segments.map((s) => (s.metric === undefined ? gzip(s.body) : s.metric.protobufGzip(s.body, gzip))))
        return Buffer.concat(members)
      },
    }
  }

  /** The protobuf exposition as one buffer (see {@link renderProtobufParts}); throws when a metric has no protobuf form prepared. */
  async renderProtobuf(): Promise<Buffer> {
    const parts = await this.renderProtobufParts()
    if (parts === undefined) throw new TypeError('a pre-rendered metric has no protobuf form for its current run')
    return Buffer.concat(parts.chunks)
  }

  async render(): Promise<RenderedExposition> {
    // Data being rendered in the background (prepareExposition): wait for
    // it, once, rather than render it again at once on the serving thread.
    const preparing = this.#registry
      .getMetricsAsArray()
      .map((m) => (m instanceof SnapshotMetric ? m.ready() : undefined))
      .filter((p) => p !== undefined)
    if (preparing.length > 0) await Promise.all(preparing)
    const metrics = this.#registry.getMetricsAsArray()
    const segments: { body: Buffer; metric?: SnapshotMetric }[] = []
    let fresh = ''
    for (let i = 0; i < metrics.length; i++) {
      const metric = metrics[i]
      fresh += i === 0 ? '' : '\n\n'
      if (metric instanceof SnapshotMetric) {
        if (fresh !== '') segments.push({ body: Buffer.from(fresh, 'utf8') })
        fresh = ''
        segments.push({ body: metric.render(), metric })
      } else {
        fresh += await this.#registry.getMetricsAsString(metric)
      }
    }
    segments.push({ body: Buffer.from(`${fresh}\n`, 'utf8') })
    return {
      chunks: segments.map((s) => s.body),
      text: () => Buffer.concat(segments.map((s) => s.body)).toString('utf8'),
      async gzip() {
        const members = await Promise.all(segments.map((s) => (s.metric === undefined ? gzip(s.body) : s.metric.gzip(s.body, gzip))))
        return Buffer.concat(members)
      },
    }
  }
}
