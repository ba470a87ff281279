/**
 * Families rendered elsewhere (a collector's worker thread) keep only their
 * gzip form once gzip scrapes are all that come (SnapshotMetric.shed): the
 * plain text is freed. What must hold whatever the order of scrapes, runs
 * and reloads: every scrape gets the same bytes as if the text were held,
 * a secret is never sent, and a scrape never mixes two runs.
 */
import t from 'tap'
import { gunzipSync, gzipSync } from 'node:zlib'
import { Gauge, Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { BufferReleaser } from '../../src/metrics/buffer-release.js'
import { Exposition, prepareExposition } from '../../src/metrics/exposition.js'
import { SnapshotMetric, type RenderedFamily } from '../../src/metrics/snapshot-metric.js'
import { SECRET_PLACEHOLDER, Secrets } from '../../src/secrets.js'
import { sinkLogger } from '../fixtures/logger.js'

/** A family as a worker hands it over: buffers that own their memory. */
function family(name: string, run: number, extra = ''): RenderedFamily {
  const lines = [`# HELP ${name} Help.`, `# TYPE ${name} gauge`]
  for (let i = 0; i < 2000; i++) lines.push(`${name}{pod="web-${i}"${extra}} ${run * 1000 + i}`)
  const text = Buffer.from(lines.join('\n'), 'utf8')
  const own = (b: Buffer) => Buffer.from(new Uint8Array(b).buffer)
  return { text: own(text), textGzip: own(gzipSync(text)) }
}

/** Two rendered families fed by a fake collector, a plain gauge between them, and the app serving them. */
async function setup(secrets?: Secrets) {
  const registry = new Registry()
  const releaser = new BufferReleaser()
  let published: RenderedFamily[] = []
  const released: Buffer[] = []
  const snapshot = (name: string, i: number) =>
    new SnapshotMetric(
      {
        name,
        help: 'Help.',
        type: 'gauge',
        rendered: () => published[i],
        releaseText: (text) => {
          released.push(text)
          releaser.release([text])
        },
      },
      registry,
    )
  // A prom-client metric between the two: the exposition mixes held text, shed families and fresh text.
  const metrics = [snapshot('alpha', 0)]
  new Gauge({ name: 'plain_gauge', help: 'Registered by prom-client.', registers: [registry] }).set(1)
  metrics.push(snapshot('beta', 1))
  const app = await buildApp({ registry, jobs: [], logger: sinkLogger('silent').logger, now: Date.now, landing: { version: 'x', pixieAddress: 'a:1', clusterId: 'c', simulated: false }, bufferReleaser: releaser, ...(secrets !== undefined && { secrets }) })
  t.teardown(() => app.close())
  /** Publishes a run and does what the exporter does after a job's success (prescan, then shed). */
  const publish = async (run: number, extra = '') => {
    published = [family('alpha', run, extra), family('beta', run, extra)]
    prepareExposition(registry, secrets)
    // prepare's chain: a few turns of the event loop.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r))
  }
  /** Publishes run `searched` and starts its search, then at once publishes run `run` (with no search of its own). */
  const publishRaced = async (searched: number, run: number, extra: string) => {
    published = [family('alpha', searched), family('beta', searched)]
    prepareExposition(registry, secrets)
    published = [family('alpha', run, extra), family('beta', run, extra)]
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r))
  }
  const gzipScrape = async () => gunzipSync((await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } })).rawPayload).toString('utf8')
  const plainScrape = async () => (await app.inject('/metrics')).body
  const expected = (run: number, extra = '') => `${family('alpha', run, extra).text.toString('utf8')}\n\n# HELP plain_gauge Registered by prom-client.\n# TYPE plain_gauge gauge\nplain_gauge 1\n\n${family('beta', run, extra).text.toString('utf8')}\n`
  return { registry, metrics, publish, publishRaced, gzipScrape, plainScrape, expected, released, releaser, published: () => published }
}

t.test('with gzip scrapes only, the plain text is freed after publication; scrapes serve the same bytes from the gzip form', async (t) => {
  const s = await setup()
  await s.publish(1)
  t.equal(await s.gzipScrape(), s.expected(1), 'the first gzip scrape: the whole exposition')
  await s.publish(2)
  t.equal(s.released.length, 4, 'each run: both families\' texts handed to the releaser')
  t.ok(s.published().every((f) => f.text.length === 0), 'and freed: the Buffers are detached (their memory is gone)')
  t.ok(s.releaser.freedBytes > 0, 'the releaser freed them')
  t.equal(await s.gzipScrape(), s.expected(2), 'a gzip scrape after the text is gone: the same bytes')
  t.equal(await s.plainScrape(), s.expected(2), 'a plain scrape inflates the gzip form: the same bytes')
  t.match(await s.registry.metrics(), /alpha\{pod="web-1999"\} 3999/, "prom-client's own rendering (get()) still reads the family")
})

t.test('a plain scrape keeps the text held for the next run; a run without one lets it go', async (t) => {
  const s = await setup()
  await s.publish(1)
  t.equal(s.released.length, 2, 'no plain scrape yet: shed')
  t.equal(await s.plainScrape(), s.expected(1), 'a plain scrape of a shed run')
  await s.publish(2)
  t.equal(s.released.length, 2, 'asked during the previous run: run 2 keeps its text')
  t.ok(s.published().every((f) => f.text.length > 0), 'held')
  t.equal(await s.plainScrape(), s.expected(2), 'plain, from the held text')
  t.equal(await s.gzipScrape(), s.expected(2), 'gzip too')
  await s.publish(3)
  t.equal(s.released.length, 2, 'asked during run 2: run 3 keeps it too')
  t.equal(await s.gzipScrape(), s.expected(3), 'only gzip scrapes during run 3')
  await s.publish(4)
  t.equal(s.released.length, 4, 'run 4 sheds: nobody asked for plain text during run 3')
})

t.test('a family that holds a secret keeps its text and is scrubbed; a secret added after the text was shed is still never sent', async (t) => {
  const KEY = 'px-api-0123456789abcdef'
  const LATER = 'px-api-fedcba9876543210'
  const secrets = new Secrets([KEY])
  const s = await setup(secrets)
  await s.publish(1, `,echo="${KEY}"`)
  t.equal(s.released.length, 0, 'the text holds a secret: not shed (scrubbing needs it)')
  const scrubbed = await s.gzipScrape()
  t.notOk(scrubbed.includes(KEY), 'gzip scrape: the secret is not sent')
  t.ok(scrubbed.includes(`echo="${SECRET_PLACEHOLDER}"`), 'it is replaced by the placeholder')

  await s.publish(2, `,echo="${LATER}"`)
  t.equal(s.released.length, 2, 'run 2 holds no known secret: shed')
  secrets.add(LATER) // a reload brings a new key that the shed text happens to hold
  const gz = await s.gzipScrape()
  t.notOk(gz.includes(LATER), 'gzip scrape after the reload: the new secret is not sent')
  t.equal(gz, s.expected(2, `,echo="${SECRET_PLACEHOLDER}"`), 'the whole exposition, scrubbed')
  const plain = await s.plainScrape()
  t.notOk(plain.includes(LATER), 'plain scrape: not sent either')
})

t.test('a plain scrape that inflates shed families never mixes two runs, even when a run is published meanwhile', async (t) => {
  const s = await setup()
  await s.publish(1)
  t.equal(s.released.length, 2, 'run 1 is shed')
  const exposition = new Exposition(s.registry)
  const rendering = exposition.render() // takes the families at once; inflates off the event loop
  await s.publish(2)
  const text = (await rendering).text()
  t.equal(text, s.expected(1), 'every family from run 1, the run published when the scrape came')
  t.equal((await exposition.render()).text(), s.expected(2), 'the next scrape: run 2')
})

t.test('a gzip scrape leaves shed families out of the chunks it searches and serves them from their gzip form', async (t) => {
  const s = await setup()
  await s.publish(1)
  const exposition = new Exposition(s.registry)
  const zipped = await exposition.render({ text: false })
  const held = Buffer.concat(zipped.chunks).toString('utf8')
  t.ok(held.includes('plain_gauge 1') && !held.includes('alpha{') && !held.includes('beta{'), 'only the prom-client part is held as text')
  t.equal(gunzipSync(await zipped.gzip()).toString('utf8'), s.expected(1), 'the gzip body is the whole exposition')
  t.equal(zipped.shedUnsearched(0), false, 'searched for every secret known (none)')
  t.equal(zipped.shedUnsearched(1), true, 'a secret added since: not searched for it')
})

t.test('a run published while another is being searched is never sent with a secret', async (t) => {
  const KEY = 'px-api-0123456789abcdef'
  const secrets = new Secrets([KEY])
  const s = await setup(secrets)
  await s.publish(1)
  t.equal(s.released.length, 2, 'run 1: searched, shed')
  // Run 2 comes right after run 3 was published, before its search: run 2 holds the key.
  await s.publishRaced(3, 2, `,echo="${KEY}"`)
  t.equal(s.released.length, 2, 'run 2 is not shed: its text holds the key')
  const gz = await s.gzipScrape()
  t.notOk(gz.includes(KEY), 'a gzip scrape of run 2 does not send the key')
  t.ok(gz.includes(`echo="${SECRET_PLACEHOLDER}"`), 'it is scrubbed')
})

t.test('plain scrapes of shed runs hold one inflated text at most: the previous run\'s is freed', async (t) => {
  const s = await setup()
  await s.publish(1)
  t.equal(await s.plainScrape(), s.expected(1), 'run 1 inflated for a plain scrape')
  t.equal(await s.plainScrape(), s.expected(1), 'a second plain scrape of run 1 (the same inflated text)')
  const before = s.released.length
  await s.publish(2)
  t.equal(s.released.length, before, 'run 2 is held (a plain scrape came during run 1)')
  await s.publish(3)
  t.equal(s.released.length, before + 2, 'run 3 is shed (no plain scrape during run 2)')
  const freedBefore = s.releaser.freedBytes
  t.equal(await s.plainScrape(), s.expected(3), 'run 3 inflated')
  await new Promise((r) => setImmediate(r))
  t.ok(s.released.length >= before + 4, 'the texts inflated for run 1 were handed to the releaser')
  t.ok(s.releaser.freedBytes > freedBefore, 'and freed')
})
