import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { Registry } from 'prom-client'
import type { Secrets } from '../secrets.js'
import { SnapshotMetric } from './snapshot-metric.js'
import { encodeFamily, familyFromValues, type ValueLike } from './protobuf.js'

const gzip = promisify(gzipCallback)
const EMPTY = Buffer.alloc(0)

/** The part of prom-client's Registry we use; `getMetricsAsString` exists at run time but not in its types. */
interface RegistryInternals {
  getMetricsAsArray(): unknown[]
  getMetricsAsString(metric: unknown): Promise<string>
}

/** One rendered exposition. */
export interface RenderedExposition {
  /**
   * The exposition as UTF-8 buffers, in order; cached parts are shared, not
   * copied. Rendered with `text: false`, the families whose plain text was
   * shed (SnapshotMetric.shed) are left out: only {@link gzip} has them.
   */
  readonly chunks: readonly Buffer[]
  /** The whole text (decodes the chunks; for tests and small outputs). */
  text(): string
  /** The body gzip-compressed; cached parts are compressed once per change of their data. */
  gzip(): Promise<Buffer>
  /**
   * Whether a family left out of {@link chunks} (text shed) was searched for
   * fewer than `secrets` secrets: a secret was added since (a reload), so
   * the caller renders the text again to search it.
   */
  shedUnsearched(secrets: number): boolean
}

/** Options of {@link Exposition.render}. */
export interface RenderOptions {
  /**
   * Whether the caller needs the text of every family (a plain scrape);
   * false: families whose text was shed are served from their gzip form and
   * are not in `chunks` (a gzip scrape). Default true.
   */
  readonly text?: boolean
  /**
   * Whether this is a client asking for the plain text, so that the next
   * run keeps it held (SnapshotMetric.shed); default: `text`. False for a
   * render that only needs the text to search or scrub it.
   */
  readonly ask?: boolean
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
        const bodies = metric.preparedBodies()
        if (secrets !== undefined && !secrets.empty) for (const body of bodies) await secrets.prescan(body)
        // Searched (cached): the plain text can go unless it holds a secret or plain scrapes ask for it.
        metric.shed(secrets, bodies)
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
      shedUnsearched: () => false,
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

  async render(options: RenderOptions = {}): Promise<RenderedExposition> {
    const wantText = options.text ?? true
    // Data being rendered in the background (prepareExposition): wait for
    // it, once, rather than render it again at once on the serving thread.
    const preparing = this.#registry
      .getMetricsAsArray()
      .map((m) => (m instanceof SnapshotMetric ? m.ready() : undefined))
      .filter((p) => p !== undefined)
    if (preparing.length > 0) await Promise.all(preparing)
    const metrics = this.#registry.getMetricsAsArray()
    type Segment = { body: Buffer; metric?: SnapshotMetric; shed?: { readonly gzip: Buffer; readonly searchedSecrets: number } }
    // First every snapshot metric's part, synchronously: each takes its
    // collector's current family at once (text() inflates a shed one off the
    // event loop, awaited below), so every family comes from the run that was
    // published when the scrape came, whatever is published meanwhile.
    // Only a plain scrape asks for the text, which keeps it held for the next
    // run (see SnapshotMetric.shed).
    const ask = options.ask ?? wantText
    const parts = metrics.map((metric): Segment | Promise<Segment> | undefined => {
      if (!(metric instanceof SnapshotMetric)) return undefined
      const shed = wantText ? undefined : metric.shedForm()
      if (shed !== undefined) return { body: EMPTY, shed }
      if (!wantText) return { body: metric.render(), metric }
      return metric.text(ask).then((body) => ({ body, metric }))
    })
    const segments: (Segment | Promise<Segment>)[] = []
    let fresh = ''
    for (let i = 0; i < metrics.length; i++) {
      fresh += i === 0 ? '' : '\n\n'
      const part = parts[i]
      if (part !== undefined) {
        if (fresh !== '') segments.push({ body: Buffer.from(fresh, 'utf8') })
        fresh = ''
        segments.push(part)
      } else {
        fresh += await this.#registry.getMetricsAsString(metrics[i])
      }
    }
    segments.push({ body: Buffer.from(`${fresh}\n`, 'utf8') })
    const all = await Promise.all(segments)
    const held = all.filter((s) => s.shed === undefined)
    return {
      chunks: held.map((s) => s.body),
      text: () => Buffer.concat(held.map((s) => s.body)).toString('utf8'),
      async gzip() {
        const members = await Promise.all(all.map((s) => s.shed?.gzip ?? (s.metric === undefined ? gzip(s.body) : s.metric.gzip(s.body, gzip))))
        return Buffer.concat(members)
      },
      shedUnsearched: (secrets) => all.some((s) => s.shed !== undefined && s.shed.searchedSecrets < secrets),
    }
  }
}
