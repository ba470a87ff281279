import type { Metric, Registry } from 'prom-client'
import { promisify } from 'node:util'
import { gunzip as gunzipCallback, gunzipSync } from 'node:zlib'
import type { Secrets } from '../secrets.js'
import { MetricType, beginFamily, beginMetric, familyFromValues, parseBound, writeFamily, writeHistogram, writeLabelPair, writeValue, type ClassicBucket } from './protobuf.js'
import { ProtoWriter } from './protobuf-writer.js'
import { nextTurn } from '../turns.js'

/** A metric's exposition rendered once per run: what a scrape sends, ready to write. */
export interface RenderedFamily {
  /** The text exposition with HELP and TYPE (no trailing newline), UTF-8. */
  readonly text: Buffer
  /** `text` gzip-compressed (one gzip member). */
  readonly textGzip: Buffer
  /** Length-delimited protobuf MetricFamily messages (empty without samples); absent when not prepared. */
  readonly protobuf?: Buffer
  /** `protobuf` gzip-compressed; present with it. */
  readonly protobufGzip?: Buffer
}

/** Name, help and type of a metric family. */
export interface FamilyMeta {
  readonly name: string
  readonly help: string
  readonly type: 'gauge' | 'counter' | 'histogram' | 'summary'
}

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
  /**
   * Produces the samples from the collector's current snapshot. Exactly one
   * of `samples` and `rendered` is given.
   */
  readonly samples?: () => Iterable<Sample>
  /**
   * The metric rendered elsewhere (e.g. by a collector's worker thread):
   * its finished text, protobuf and their gzip forms, or undefined when it
   * has no samples now (never published, or stale). The object must change
   * whenever the data does; it is the cache key.
   */
  readonly rendered?: () => RenderedFamily | undefined
  /**
   * Rendered mode: frees a family's plain text, keeping its gzip form (see
   * {@link SnapshotMetric.shed}). Absent: the text is always kept.
   */
  readonly releaseText?: (text: Buffer) => void
  /**
   * Changes whenever `samples` would produce something different (a new run
   * was published, the data turned stale). Rendered text is reused while it
   * stays the same. Default: render every time.
   */
  readonly version?: () => string
}

// The Prometheus text format escapes, exactly as prom-client does.
const escapeHelp = (s: string) => (s.includes('\\') || s.includes('\n') ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : s)
const escapeLabel = (s: string) => {
  const h = escapeHelp(s)
  return h.includes('"') ? h.replace(/"/g, '\\"') : h
}
/** prom-client's number rendering (including its `Nan` spelling). */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan'
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf'
  return `${value}`
}

/**
 * The same text as one flat string. A string built with `+=` or a template
 * is a tree of pieces in V8 (a "cons string", ~5 times the size of its
 * text for a pod's labels); text kept for long (a label cache that lives
 * as long as a pod's counters, a map key) is stored flat.
 */
export function flatString(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8')
}

/**
 * Caches the escaped label text of label objects shared by many samples (and
 * of the extra labels, few distinct ones). One cache may serve several
 * families and, for label objects that live on (a counter store's pods),
 * several runs: a WeakMap lets go of the text with the object.
 */
export class LabelTextCache {
  readonly #labels = new WeakMap<Labels, string>()
  readonly #extra = new Map<string, Map<string, string>>()
  readonly #flat: boolean

  /** `flat`: store each text as one flat string ({@link flatString}), for a cache that lives long (costs a copy per label set). */
  constructor(options: { readonly flat?: boolean } = {}) {
    this.#flat = options.flat ?? false
  }

  /** `k1="v1",k2="v2"` (escaped), in insertion order. */
  of(labels: Labels): string {
    let text = this.#labels.get(labels)
    if (text === undefined) {
      text = ''
      for (const k in labels) text += `${text === '' ? '' : ','}${k}="${escapeLabel(labels[k] ?? '')}"`
      if (this.#flat) text = flatString(text)
      this.#labels.set(labels, text)
    }
    return text
  }

  /** `name="value"` (escaped). */
  extra(name: string, value: string): string {
    let byValue = this.#extra.get(name)
    if (byValue === undefined) this.#extra.set(name, (byValue = new Map()))
    let text = byValue.get(value)
    if (text === undefined) {
      text = `${name}="${escapeLabel(value)}"`
      // Bounded: extra labels are le/quantile/status_class values, not pod names.
      if (byValue.size < 4096) byValue.set(value, text)
    }
    return text
  }
}

function headerText(meta: FamilyMeta): string {
  return `# HELP ${meta.name} ${escapeHelp(meta.help)}\n# TYPE ${meta.name} ${meta.type}`
}

function sampleLine(meta: FamilyMeta, s: Sample, cache: LabelTextCache): string {
  let labels = cache.of(s.labels)
  if (s.extra !== undefined) labels += `${labels === '' ? '' : ','}${cache.extra(s.extra[0], s.extra[1])}`
  return `${s.metricName ?? meta.name}${labels === '' ? '' : `{${labels}}`} ${valueText(s.value)}`
}

/** The text exposition of one family, byte for byte what prom-client renders for the same samples (no trailing newline). */
export function formatFamilyText(meta: FamilyMeta, samples: Iterable<Sample>, cache: LabelTextCache = new LabelTextCache()): string {
  let out = headerText(meta)
  for (const s of samples) out += `\n${sampleLine(meta, s, cache)}`
  return out
}

/** Text is encoded in pieces of about this many characters. */
const PIECE_CHARS = 1 << 18

/**
 * {@link formatFamilyText} as UTF-8, encoded piece by piece: a family of
 * hundreds of thousands of samples never exists as one string (nor as the
 * chain of concatenations that builds it), only as the final buffer and
 * pieces of a quarter million characters.
 */
export function renderFamilyText(meta: FamilyMeta, samples: Iterable<Sample>, cache: LabelTextCache = new LabelTextCache()): Buffer {
  const pieces: Buffer[] = []
  let piece = headerText(meta)
  for (const s of samples) {
    piece += `\n${sampleLine(meta, s, cache)}`
    if (piece.length >= PIECE_CHARS) {
      pieces.push(Buffer.from(piece, 'utf8'))
      piece = ''
    }
  }
  pieces.push(Buffer.from(piece, 'utf8'))
  return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces)
}

/** {@link renderFamilySliced} yields to the event loop after this many samples (a few ms of work). */
export const RENDER_SLICE_SAMPLES = 2000

/**
 * {@link renderFamilyText} on the serving thread without holding it: the
 * event loop gets a turn after every `sliceSamples` samples. `current` is
 * asked after each turn; once it says false (a newer run was published, so
 * the samples changed under the iteration) rendering stops and resolves
 * undefined. Same bytes as {@link formatFamilyText}.
 */
export async function renderFamilySliced(
  meta: FamilyMeta,
  samples: Iterable<Sample>,
  current: () => boolean,
  sliceSamples = RENDER_SLICE_SAMPLES,
): Promise<Buffer | undefined> {
  const cache = new LabelTextCache()
  const pieces: Buffer[] = []
  let piece = headerText(meta)
  let n = 0
  for (const s of samples) {
    piece += `\n${sampleLine(meta, s, cache)}`
    if (piece.length >= PIECE_CHARS) {
      pieces.push(Buffer.from(piece, 'utf8'))
      piece = ''
    }
    if (++n % sliceSamples === 0) {
      await nextTurn()
      if (!current()) return undefined
    }
  }
  pieces.push(Buffer.from(piece, 'utf8'))
  return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces)
}

/**
 * The protobuf MetricFamily message of one family (an empty buffer without
 * samples), the same messages as {@link familyFromValues} makes of the
 * samples. It is written as the samples stream, with no object per series;
 * a histogram's samples are grouped per series as they come (the buckets,
 * `_sum` and `_count` of one label set one after the other, as every
 * producer here writes them). Input that does not stream (a series' samples
 * apart, a summary with `_sum` and `_count`) takes the general path:
 * `samples` is called a second time.
 */
export function encodeFamilyProtobuf(meta: FamilyMeta, samples: () => Iterable<Sample>): Buffer {
  const w = new ProtoWriter()
  if (!writeSamplesProtobuf(w, meta, samples())) {
    w.truncate(0)
    const family = familyFromValues(meta.name, meta.help, meta.type, [...samples()].map(valueOf))
    if (family !== undefined && family.metric.length > 0) writeFamily(w, family)
  }
  return w.finish()
}

/** A sample as prom-client's `get()` shows it: the extra label merged into the labels. */
function valueOf(s: Sample): { labels: Readonly<Record<string, string>>; value: number; metricName?: string } {
  return {
    labels: s.extra === undefined ? s.labels : { ...s.labels, [s.extra[0]]: s.extra[1] },
    value: s.value,
    ...(s.metricName !== undefined && { metricName: s.metricName }),
  }
}

/** The label pairs of a sample in prom-client's order (the extra label replaces one of the same name in place), without `without`. */
function writeSampleLabels(w: ProtoWriter, labels: Labels, extra: Sample['extra'], without?: string): void {
  let extraDone = extra === undefined
  for (const name of Object.keys(labels)) {
    if (name === without) continue
    if (extra !== undefined && name === extra[0]) {
      writeLabelPair(w, name, extra[1])
      extraDone = true
    } else {
      writeLabelPair(w, name, String(labels[name]))
    }
  }
  if (!extraDone && extra !== undefined && extra[0] !== without) writeLabelPair(w, extra[0], extra[1])
}

/** Identity of a series' label set without `le`, as familyFromValues groups them. */
function groupKey(labels: Labels, extra: Sample['extra']): string {
  const merged: Record<string, string> = extra === undefined ? { ...labels } : { ...labels, [extra[0]]: extra[1] }
  delete merged.le
  return JSON.stringify(Object.entries(merged))
}

/** Streams the family into `w`; false (with `w` possibly written to) when the samples need the general path. */
function writeSamplesProtobuf(w: ProtoWriter, meta: FamilyMeta, samples: Iterable<Sample>): boolean {
  const start = w.length
  const { name } = meta
  const sumName = `${name}_sum`
  const countName = `${name}_count`
  let metrics = 0
  if (meta.type !== 'histogram') {
    // A summary of quantiles only (no _sum, _count) is sent UNTYPED; see familyFromValues.
    const kind = meta.type === 'summary' ? 'untyped' : meta.type
    const family = beginFamily(w, name, meta.help, kind === 'untyped' ? MetricType.UNTYPED : kind === 'counter' ? MetricType.COUNTER : MetricType.GAUGE)
    for (const s of samples) {
      if (kind === 'untyped' && (s.metricName === sumName || s.metricName === countName)) return false
      const metric = beginMetric(w)
      writeSampleLabels(w, s.labels, s.extra)
      writeValue(w, kind, s.value)
      w.end(metric)
      metrics++
    }
    if (metrics === 0) w.truncate(start)
    else w.end(family)
    return true
  }
  const family = beginFamily(w, name, meta.help, MetricType.HISTOGRAM)
  const done = new Set<string>()
  let group: { labels: Labels; extra: Sample['extra'] } | undefined
  let bucket: ClassicBucket[] = []
  let sampleSum = 0
  let sampleCount = 0
  const flush = () => {
    if (group === undefined) return
    const metric = beginMetric(w)
    writeSampleLabels(w, group.labels, group.extra, 'le')
    writeHistogram(w, { sampleCount, sampleSum, bucket })
    w.end(metric)
    metrics++
    bucket = []
    sampleSum = 0
    sampleCount = 0
  }
  for (const s of samples) {
    if (Object.hasOwn(s.labels, 'le')) return false
    const isBucket = s.metricName !== sumName && s.metricName !== countName
    if (isBucket && s.extra?.[0] !== 'le') return false
    // The series' labels besides le: the sample's labels, and its extra label unless that is le.
    const extra = s.extra?.[0] === 'le' ? undefined : s.extra
    if (group === undefined || group.labels !== s.labels || group.extra?.[0] !== extra?.[0] || group.extra?.[1] !== extra?.[1]) {
      flush()
      const key = groupKey(s.labels, extra)
      // The series came back after another one: only the general path groups that.
      if (done.has(key)) return false
      done.add(key)
      group = { labels: s.labels, extra }
    }
    if (s.metricName === sumName) sampleSum = s.value
    else if (s.metricName === countName) sampleCount = s.value
    else bucket.push({ cumulativeCount: s.value, upperBound: parseBound(s.extra?.[1]) })
  }
  flush()
  if (metrics === 0) w.truncate(start)
  else w.end(family)
  return true
}

const unescapeLabel = (s: string) => s.replace(/\\(\\|n|")/g, (_m, c: string) => (c === 'n' ? '\n' : c))
function parseValue(text: string): number {
  if (text === 'Nan') return Number.NaN
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  return Number(text)
}

/**
 * The samples of a family's rendered text (as {@link formatFamilyText}
 * writes it), for prom-client's `get()` view of a pre-rendered metric.
 */
export function parseFamilyText(name: string, text: string): { labels: Record<string, string>; value: number; metricName?: string }[] {
  const values: { labels: Record<string, string>; value: number; metricName?: string }[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const brace = line.indexOf('{')
    const space = brace === -1 ? line.indexOf(' ') : line.lastIndexOf(' ')
    const metricName = line.slice(0, brace === -1 ? space : brace)
    const labels: Record<string, string> = {}
    if (brace !== -1) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g
      const inner = line.slice(brace + 1, line.lastIndexOf('}'))
      for (let m = re.exec(inner); m !== null; m = re.exec(inner)) labels[m[1] ?? ''] = unescapeLabel(m[2] ?? '')
    }
    values.push({ labels, value: parseValue(line.slice(space + 1)), ...(metricName !== name && { metricName }) })
  }
  return values
}

/**
 * A metric whose samples are read from a snapshot that the collector replaces
 * in one assignment after each successful run, so a scrape sees one whole run.
 *
 * It renders its own exposition text, byte for byte what prom-client's
 * Registry renders for the same samples (test/metrics/exposition.ts checks
 * it), but much faster: the label text of a shared labels object is escaped
 * once, and the text is rebuilt only when `version` changes. Or it serves
 * text, protobuf and gzip forms rendered elsewhere (`rendered`, e.g. by a
 * worker thread), and only swaps them. It also implements the part of
 * prom-client's metric contract that `Registry` uses (`name`, `help`, `type`,
 * `aggregator`, `get()`), so it lives on the registry that is passed in, next
 * to ordinary prom-client metrics.
 */
export class SnapshotMetric {
  readonly name: string
  readonly help: string
  readonly type: SnapshotMetricOptions['type']
  readonly aggregator = 'sum' as const
  readonly #samples: (() => Iterable<Sample>) | undefined
  readonly #rendered: (() => RenderedFamily | undefined) | undefined
  readonly #version: (() => string) | undefined
  #cache: { version: string; body: Buffer; gzip?: Promise<Buffer> } | undefined
  #protobufCache: { version: string; body: Buffer; gzip?: Promise<Buffer> } | undefined
  /** The background rendering in progress (prepare), by version. */
  #preparing: { version: string; done: Promise<void> } | undefined
  /** HELP and TYPE only: what is served without samples (rendered mode). */
  #empty: { body: Buffer; gzip?: Promise<Buffer> } | undefined
  readonly #parsed = new WeakMap<RenderedFamily, ReturnType<typeof parseFamilyText>>()
  readonly #releaseText: ((text: Buffer) => void) | undefined
  /** Families whose plain text was freed, with the number of secrets it had been searched for. */
  readonly #textless = new WeakMap<RenderedFamily, number>()
  /** The text of a shed family, inflated from its gzip form for a plain scrape (held for the rest of its run). */
  #inflated: { readonly family: RenderedFamily; readonly body: Promise<Buffer> } | undefined
  /** The family whose plain text a scrape last asked for (see shed). */
  #textAskedFor: RenderedFamily | undefined

  constructor(options: SnapshotMetricOptions, registry: Registry) {
    if ((options.samples === undefined) === (options.rendered === undefined)) {
      throw new TypeError(`SnapshotMetric ${options.name}: give exactly one of samples and rendered`)
    }
    this.name = options.name
    this.help = options.help
    this.type = options.type
    this.#samples = options.samples
    this.#rendered = options.rendered
    this.#releaseText = options.releaseText
    this.#version = options.version
    // Registry only calls get() and reads name/type; see the class comment.
    registry.registerMetric(this as unknown as Metric)
  }

  #sampleList(): Iterable<Sample> {
    return this.#samples?.() ?? []
  }

  /** prom-client's view (used by `registry.metrics()` and `getMetricsAsJSON()`). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: { labels: Labels; value: number; metricName?: string }[] }> {
    let values: { labels: Labels; value: number; metricName?: string }[]
    if (this.#rendered !== undefined) {
      const rendered = this.#rendered()
      if (rendered === undefined) values = []
      else {
        let parsed = this.#parsed.get(rendered)
        if (parsed === undefined) this.#parsed.set(rendered, (parsed = parseFamilyText(this.name, this.#textOf(rendered).toString('utf8'))))
        values = parsed
      }
    } else {
      values = [...this.#sampleList()].map(valueOf)
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  #emptyBody(): { body: Buffer; gzip?: Promise<Buffer> } {
    this.#empty ??= { body: Buffer.from(formatFamilyText(this, []), 'utf8') }
    return this.#empty
  }

  /** A rendered family's text: the one it holds, or its gzip form inflated at once (tests and prom-client's get()). */
  #textOf(rendered: RenderedFamily): Buffer {
    return this.#textless.has(rendered) ? gunzipSync(rendered.textGzip) : rendered.text
  }

  /**
   * The exposition text of this metric (no trailing newline), as UTF-8,
   * rebuilt only when the version changed. A rendered family whose text was
   * shed is inflated at once, here: scrapes use {@link text}.
   */
  render(): Buffer {
    if (this.#rendered !== undefined) {
      const rendered = this.#rendered()
      return rendered === undefined ? this.#emptyBody().body : this.#textOf(rendered)
    }
    const version = this.#version?.()
    if (version !== undefined && this.#cache?.version === version) return this.#cache.body
    const body = Buffer.from(formatFamilyText(this, this.#sampleList()), 'utf8')
    this.#cache = version === undefined ? undefined : { version, body }
    return body
  }

  /**
   * This metric as length-delimited protobuf MetricFamily messages (empty when
   * it has no samples), rebuilt only when the version changed; undefined when
   * a pre-rendered metric has no protobuf form prepared for this run.
   */
  protobuf(): Buffer | undefined {
    if (this.#rendered !== undefined) {
      const rendered = this.#rendered()
      return rendered === undefined ? EMPTY : rendered.protobuf
    }
    const version = this.#version?.()
    if (version !== undefined && this.#protobufCache?.version === version) return this.#protobufCache.body
    const body = encodeFamilyProtobuf(this, () => this.#sampleList())
    this.#protobufCache = version === undefined ? undefined : { version, body }
    return body
  }

  /**
   * The exposition text for a scrape (as {@link render}), of the family
   * current at the call: a shed family's text is inflated from its gzip form
   * off the event loop, once per run. `ask`: a client asked for the plain
   * text, so the next run keeps it (see {@link shed}).
   */
  async text(ask = true): Promise<Buffer> {
    const rendered = this.#rendered?.()
    if (rendered === undefined) return this.render()
    if (ask) this.#textAskedFor = rendered
    if (!this.#textless.has(rendered)) return rendered.text
    if (this.#inflated?.family !== rendered) {
      // The text inflated for an earlier run is freed (once no response sends it): one at most is held.
      const previous = this.#inflated?.body
      this.#inflated = { family: rendered, body: gunzip(rendered.textGzip) }
      void previous?.then((body) => this.#releaseText?.(body), () => undefined)
    }
    return this.#inflated.body
  }

  /**
   * The current family's gzip form when its plain text was shed, with the
   * number of secrets that text was searched for; undefined when the text is
   * held (or in samples mode).
   */
  shedForm(): { readonly gzip: Buffer; readonly searchedSecrets: number } | undefined {
    const rendered = this.#rendered?.()
    const searched = rendered === undefined ? undefined : this.#textless.get(rendered)
    return rendered === undefined || searched === undefined ? undefined : { gzip: rendered.textGzip, searchedSecrets: searched }
  }

  /**
   * Frees the current family's plain text, keeping its gzip form, which is
   * what Prometheus asks for: at 10,000 pods the HTTP collector's text is
   * ~13 MiB, its gzip form ~0.7 MiB. Only with `releaseText`, and only when
   * the text holds none of `secrets` (a body with one must be scrubbed, which
   * needs the text; call after `secrets.prescan`, so this search is cached)
   * and no scrape asked for the plain text during the previous run: a client
   * that scrapes plain text keeps it held, one that stops lets it go. A plain
   * scrape of a shed family inflates it (see {@link text}). `searched`: the
   * bodies searched (preparedBodies); nothing is done when the current
   * family's text is not among them (a newer run came meanwhile: its own
   * search and shed follow).
   */
  shed(secrets: Secrets | undefined, searched: readonly Buffer[]): void {
    const rendered = this.#rendered?.()
    if (this.#releaseText === undefined || rendered === undefined || this.#textless.has(rendered) || !searched.includes(rendered.text)) return
    const asked = this.#textAskedFor !== undefined
    this.#textAskedFor = undefined
    if (asked) return
    if (secrets !== undefined && !secrets.empty && secrets.foundIn(rendered.text)) return
    this.#textless.set(rendered, secrets?.size ?? 0)
    this.#releaseText(rendered.text)
  }

  /** The gzip form of `body` (as returned by render or text), compressed once per version. */
  gzip(body: Buffer, compress: (data: Buffer) => Promise<Buffer>): Promise<Buffer> {
    if (this.#rendered !== undefined) {
      const rendered = this.#rendered()
      if (rendered !== undefined && (this.#textless.has(rendered) || rendered.text === body)) return Promise.resolve(rendered.textGzip)
      const empty = this.#emptyBody()
      if (empty.body !== body) return compress(body)
      empty.gzip ??= compress(body)
      return empty.gzip
    }
    const cache = this.#cache
    // A new run may have been published since `body` was rendered: then
    // compress what was rendered, so text and gzip always agree.
    if (cache === undefined || cache.body !== body) return compress(body)
    // Concurrent scrapes share one compression (zlib runs off the event loop).
    cache.gzip ??= compress(body)
    return cache.gzip
  }

  /** The gzip form of `body` (as returned by protobuf), compressed once per version. */
  protobufGzip(body: Buffer, compress: (data: Buffer) => Promise<Buffer>): Promise<Buffer> {
    if (this.#rendered !== undefined) {
      const rendered = this.#rendered()
      if (rendered?.protobuf === body && rendered.protobufGzip !== undefined) return Promise.resolve(rendered.protobufGzip)
      return compress(body)
    }
    const cache = this.#protobufCache
    if (cache === undefined || cache.body !== body) return compress(body)
    cache.gzip ??= compress(body)
    return cache.gzip
  }

  /**
   * Renders the current data in the background, a slice of samples at a
   * time (the serving thread keeps answering: a PxL collector's 10,000 pods
   * would otherwise hold it for tens of ms), then starts compressing, so that
   * the first scrape after a new run is served from the cache like every
   * other one. A scrape that comes first renders at once, as always. Resolves
   * when the text is cached (or a newer run made it moot).
   */
  async prepare(compress: (data: Buffer) => Promise<Buffer>): Promise<void> {
    const versionOf = this.#version
    if (this.#rendered !== undefined || versionOf === undefined) {
      void this.gzip(this.render(), compress).catch(() => undefined)
      return
    }
    const version = versionOf()
    if (this.#cache?.version !== version) {
      const done = (async () => {
        const body = await renderFamilySliced(this, this.#sampleList(), () => versionOf() === version)
        if (body === undefined || versionOf() !== version) return
        // A scrape may have rendered the same version meanwhile: keep the one it is serving.
        if (this.#cache?.version !== version) this.#cache = { version, body }
      })()
      this.#preparing = { version, done }
      try {
        await done
      } finally {
        if (this.#preparing?.done === done) this.#preparing = undefined
      }
      if (versionOf() !== version) return
    }
    const cached = this.#cache
    if (cached !== undefined) void this.gzip(cached.body, compress).catch(() => undefined)
  }

  /**
   * Resolves once the background rendering of the current data (see
   * {@link prepare}) is done; undefined when none is in progress for it. A
   * scrape that comes during one waits for it (Exposition.render) instead
   * of rendering the same data again at once on the serving thread.
   */
  ready(): Promise<void> | undefined {
    const preparing = this.#preparing
    if (preparing === undefined || this.#version?.() !== preparing.version || this.#cache?.version === preparing.version) return undefined
    return preparing.done.catch(() => undefined)
  }

  /**
   * The bodies a scrape of the current data sends and that exist already:
   * the text (once rendered), and the protobuf form when it was rendered
   * elsewhere (a worker). Nothing is rendered here.
   */
  preparedBodies(): Buffer[] {
    if (this.#rendered === undefined) {
      const version = this.#version?.()
      return version !== undefined && this.#cache?.version === version ? [this.#cache.body] : []
    }
    const rendered = this.#rendered()
    if (rendered === undefined) return []
    const text = this.#textless.has(rendered) ? [] : [rendered.text]
    return rendered.protobuf === undefined ? text : [...text, rendered.protobuf]
  }

  /** prom-client calls reset() on registry.resetMetrics(); the snapshot belongs to the collector. */
  reset(): void {}
}

const EMPTY = Buffer.alloc(0)
const gunzip = promisify(gunzipCallback)
