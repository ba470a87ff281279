import t from 'tap'
import { gunzipSync } from 'node:zlib'
import { Counter, Gauge, Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { HttpCollector } from '../../src/collectors/http.js'
import { Exposition } from '../../src/metrics/exposition.js'
import { SnapshotMetric } from '../../src/metrics/snapshot-metric.js'
import { sinkLogger } from '../fixtures/logger.js'
import { ScriptedPixie, answer, httpConfig, type PodRow } from '../fixtures/http-fixtures.js'

const row = (i: number, errors = 1): PodRow => ({
  namespace: 'default',
  pod: `default/app-6d8c6b9c8f-p${i}`,
  service: 'default/app',
  requests: 100,
  errors,
  p50: 2e7,
  p90: 5e7,
  p99: 9e7,
})

async function populated() {
  let now = 1_700_000_000_000
  const registry = new Registry()
  new Gauge({ name: 'before_gauge', help: 'A plain gauge registered first.', registers: [registry] }).set(3)
  const collector = new HttpCollector({
    pixie: new ScriptedPixie([answer([row(1), row(2, 7)]), answer([row(1, 50)])]),
    registry,
    logger: sinkLogger().logger,
    now: () => now,
    config: httpConfig(),
  })
  const after = new Counter({ name: 'after_total', help: 'A plain counter registered last.', labelNames: ['x'], registers: [registry] })
  after.inc({ x: 'a"b\\c' }, 2)
  const run = async () => {
    await collector.run({ signal: new AbortController().signal, timeoutMs: 1000 })
    now += 10_000
  }
  return { registry, run, advance: (ms: number) => (now += ms) }
}

t.test('the exposition is byte-for-byte what prom-client renders', async (t) => {
  const s = await populated()
  await s.run()
  const exposition = new Exposition(s.registry)
  t.equal((await exposition.render()).text(), await s.registry.metrics(), 'same text after a run')
  t.equal((await exposition.render()).text(), await s.registry.metrics(), 'same text from the cache')
  await s.run()
  t.equal((await exposition.render()).text(), await s.registry.metrics(), 'same text after the next run')
  s.advance(3_600_000)
  const stale = (await exposition.render()).text()
  t.equal(stale, await s.registry.metrics(), 'same text once the data is stale')
  t.notMatch(stale, /^pixie_http_/m, 'and the stale per-pod samples are gone')
})

t.test('snapshot metrics are rendered once per version', async (t) => {
  const registry = new Registry()
  let calls = 0
  let version = 'a'
  new SnapshotMetric(
    {
      name: 'snap',
      help: 'Snapshot.',
      type: 'gauge',
      samples: () => {
        calls++
        return [{ labels: { v: version }, value: 1 }]
      },
      version: () => version,
    },
    registry,
  )
  const exposition = new Exposition(registry)
  await exposition.render()
  await exposition.render()
  t.equal(calls, 1, 'the second render reused the text')
  version = 'b'
  t.match((await exposition.render()).text(), /snap\{v="b"\} 1/, 'a new version is rendered')
  t.equal(calls, 2, 'exactly once more')
})

t.test('the gzip form decompresses to the text, across cached and fresh members', async (t) => {
  const s = await populated()
  await s.run()
  const rendered = await new Exposition(s.registry).render()
  t.equal(gunzipSync(await rendered.gzip()).toString('utf8'), rendered.text(), 'multi-member gzip is the text')
  t.equal(gunzipSync(await rendered.gzip()).toString('utf8'), rendered.text(), 'again from the cached members')
})

t.test('/metrics answers gzip when asked, plain text otherwise', async (t) => {
  const s = await populated()
  await s.run()
  const app = await buildApp({
    registry: s.registry,
    jobs: [],
    logger: sinkLogger().logger,
    now: Date.now,
    landing: { version: 'x', pixieAddress: 'a:1', clusterId: 'c', simulated: false },
  })
  t.teardown(() => app.close())
  const plain = await app.inject('/metrics')
  t.equal(plain.headers['content-encoding'], undefined, 'no encoding by default')
  const zipped = await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip, deflate' } })
  t.equal(zipped.headers['content-encoding'], 'gzip', 'gzip when accepted')
  t.equal(zipped.headers.vary, 'accept-encoding', 'caches are told the body varies')
  t.equal(gunzipSync(zipped.rawPayload).toString('utf8'), plain.body, 'same content either way')
})

t.test('the fast formatter matches prom-client on escaping, special values and bare names', async (t) => {
  const registry = new Registry()
  const shared = { pod: 'a"b\\c\nd', service: '' }
  const metric = new SnapshotMetric(
    {
      name: 'odd_values',
      help: 'Help with \\ backslash\nand newline.',
      type: 'histogram',
      samples: () => [
        { labels: shared, extra: ['le', '+Inf'] as const, value: Number.POSITIVE_INFINITY, metricName: 'odd_values_bucket' },
        { labels: shared, value: Number.NaN, metricName: 'odd_values_sum' },
        { labels: {}, value: Number.NEGATIVE_INFINITY },
        { labels: {}, extra: ['x', 'y'] as const, value: 1e-7 },
        { labels: shared, value: 1.2345678901234567e19 },
      ],
    },
    registry,
  )
  const prom = await (registry as unknown as { getMetricsAsString(m: unknown): Promise<string> }).getMetricsAsString(metric)
  t.equal(metric.render().toString('utf8'), prom, 'identical bytes')
})

t.test('prepare renders a samples-based metric in slices in the background: same bytes, cached for scrapes, dropped when a newer run comes first', async (t) => {
  const { RENDER_SLICE_SAMPLES, formatFamilyText, renderFamilySliced } = await import('../../src/metrics/snapshot-metric.js')
  const samples = Array.from({ length: RENDER_SLICE_SAMPLES * 3 + 7 }, (_, i) => ({
    labels: { pod: i % 2 === 0 ? `web-${i}` : `a "quoted" \\ pod\nkäse-${i}` },
    value: i / 3,
  }))
  const meta = { name: 'sliced_things', help: 'Things, rendered in slices.', type: 'gauge' as const }
  let finished = false
  const rendering = renderFamilySliced(meta, samples, () => true).then((b) => ((finished = true), b))
  const finishedAtFirstTurn = await new Promise<boolean>((r) => setImmediate(() => r(finished)))
  t.equal(finishedAtFirstTurn, false, 'the event loop turned while the family was being rendered')
  const body = await rendering
  t.equal(body?.toString('utf8'), formatFamilyText(meta, samples), 'byte for byte what the one-piece formatter writes')
  t.equal(await renderFamilySliced(meta, samples, () => false), undefined, 'a run published meanwhile makes it stop with nothing')

  let version = 1
  const registry = new Registry()
  let rendersBySamples = 0
  const metric = new SnapshotMetric(
    {
      ...meta,
      samples: () => {
        rendersBySamples++
        return samples.map((s) => ({ ...s, value: s.value + version }))
      },
      version: () => String(version),
    },
    registry,
  )
  const compress = async (b: Buffer) => Buffer.from(b)
  await metric.prepare(compress)
  t.equal(rendersBySamples, 1, 'prepare rendered once')
  const prepared = metric.preparedBodies()
  t.equal(prepared.length, 1, 'the prepared text is there for the secrets scan')
  t.equal(metric.render(), prepared[0], 'a scrape serves the prepared buffer itself, without rendering again')
  t.equal(rendersBySamples, 1, 'no second rendering')
  t.equal(metric.render().toString('utf8'), formatFamilyText(meta, samples.map((s) => ({ ...s, value: s.value + 1 }))), 'the text of version 1')

  // A newer run is published while version 2 is being prepared: that preparation is dropped.
  version = 2
  const stale = metric.prepare(compress)
  await new Promise((r) => setImmediate(r))
  version = 3
  await stale
  t.same(metric.preparedBodies(), [], 'nothing prepared for version 3 yet, and version 2 was not cached as current')
  t.equal(metric.render().toString('utf8'), formatFamilyText(meta, samples.map((s) => ({ ...s, value: s.value + 3 }))), 'a scrape renders version 3 itself')
})

t.test('a scrape during a background rendering waits for it (the event loop turning) instead of rendering the same data at once', async (t) => {
  const { RENDER_SLICE_SAMPLES, formatFamilyText } = await import('../../src/metrics/snapshot-metric.js')
  const samples = Array.from({ length: RENDER_SLICE_SAMPLES * 4 }, (_, i) => ({ labels: { pod: `web-${i}` }, value: i }))
  const meta = { name: 'waited_things', help: 'Things, rendered once.', type: 'gauge' as const }
  let version = 1
  let renders = 0
  const registry = new Registry()
  const metric = new SnapshotMetric(
    {
      ...meta,
      samples: () => {
        renders++
        return samples.map((s) => ({ ...s, value: s.value + version }))
      },
      version: () => String(version),
    },
    registry,
  )
  const compress = async (b: Buffer) => Buffer.from(b)
  const exposition = new Exposition(registry)
  const preparing = metric.prepare(compress)
  t.ok(metric.ready() !== undefined, 'a rendering is in progress for the current data')
  let turns = 0
  const ticker = setInterval(() => turns++, 0)
  const scraped = await exposition.render()
  clearInterval(ticker)
  await preparing
  t.equal(renders, 1, 'the scrape did not render the family itself')
  t.ok(turns > 0, `the event loop turned while the scrape waited (${turns} timer turns)`)
  t.ok(scraped.text().includes(formatFamilyText(meta, samples.map((s) => ({ ...s, value: s.value + 1 })))), 'the scrape has the prepared text of the current data')
  t.equal(metric.ready(), undefined, 'nothing in progress once it is cached')

  // A run published during the rendering: the scrape does not wait for a rendering of older data.
  version = 2
  const older = metric.prepare(compress)
  version = 3
  t.equal(metric.ready(), undefined, 'no wait for a rendering of data already replaced')
  const now = await exposition.render()
  t.ok(now.text().includes(formatFamilyText(meta, samples.map((s) => ({ ...s, value: s.value + 3 })))), 'the scrape renders the newest data itself')
  await older
})
