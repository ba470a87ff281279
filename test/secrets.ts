/**
 * src/secrets.ts, the one redaction of secrets (issue 13, defect 4): text,
 * errors with every field Pixie can fill, and log lines written by pino
 * (children, bindings, `{ err }` with details, JSON-escaped forms).
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { PixieCompileError, PixieQueryError } from '../src/errors.js'
import { SECRET_PLACEHOLDER, Secrets, scrubErrorWith, scrubText } from '../src/secrets.js'

const KEY = 'px-api-7c1d-secret-key'

t.test('scrubText replaces every occurrence, ignores values too short to be secrets', async (t) => {
  t.equal(scrubText(`a ${KEY} b ${KEY}`, [KEY]), 'a <secret> b <secret>')
  t.equal(scrubText('abc', ['ab']), 'abc', 'a 2-character value is not a secret')
  t.equal(SECRET_PLACEHOLDER, '<secret>')
  const quoted = 'px"key\\with-escapes'
  t.equal(scrubText(JSON.stringify({ m: `x ${quoted}` }), [quoted]), '{"m":"x <secret>"}', 'the JSON-escaped form too')
})

t.test('scrubErrorWith reaches message, stack, compiler error details and the cause chain', async (t) => {
  const compile = new PixieCompileError(
    [
      { line: 1, column: 2, message: `name '${KEY}' is not defined` },
      { line: 3, column: 4, message: 'fine' },
    ],
    3,
    { cause: new Error(`gRPC status 3: ${KEY}`, { cause: new Error(`deeper ${KEY}`) }) },
  )
  const scrubbed = scrubErrorWith(compile, [KEY])
  t.equal(scrubbed, compile, 'scrubbed in place (same object, same class)')
  t.ok(scrubbed instanceof PixieCompileError)
  const all = JSON.stringify({
    message: scrubbed.message,
    stack: scrubbed.stack,
    details: scrubbed.compilerErrors,
    cause: String(scrubbed.cause),
    deeper: String((scrubbed.cause as Error).cause),
  })
  t.notMatch(all, KEY, 'the key is nowhere')
  t.same(
    scrubbed.compilerErrors.map((e) => [e.line, e.column, e.message]),
    [
      [1, 2, "name '<secret>' is not defined"],
      [3, 4, 'fine'],
    ],
    'line and column kept, message scrubbed',
  )
  const plain = new PixieQueryError(`failed: ${KEY}`, 2)
  t.equal(new Secrets([KEY]).scrubError(plain).message, 'failed: <secret>', 'Secrets.scrubError')
})

t.test('a logger made with pinoOptions() never writes a secret, whatever the call', async (t) => {
  const secrets = new Secrets()
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(chunk.toString('utf8'))
      done()
    },
  })
  const logger = pino({ level: 'debug', ...secrets.pinoOptions() }, stream)
  // Known after the logger was made (as with a reload): still scrubbed.
  secrets.add(KEY)
  const child = logger.child({ component: `pixie ${KEY}` })
  const err = new PixieCompileError([{ line: 1, column: 1, message: `bad ${KEY}` }], 3)
  child.error({ err }, 'run failed')
  child.warn(`message with ${KEY}`)
  child.info({ apiKey: 'short' }, 'config')
  child.debug({ nested: { deeper: [KEY] }, headers: { 'pixie-api-key': 'abcd' } }, 'fields')
  const text = lines.join('')
  t.equal(lines.length, 4, 'four lines')
  t.notMatch(text, KEY, 'no line holds the key')
  t.notMatch(text, /"short"|"abcd"/, 'key fields are censored by path whatever their value')
  t.match(text, /"message":"bad <secret>"/, 'compiler error details logged, scrubbed')
  t.equal(new Secrets(['abc']).empty, true, 'short values are not kept')
})

t.test('the HTTP app scrubs pages, answers and the exposition (plain and gzip)', async (t) => {
  const { Registry, Gauge } = await import('prom-client')
  const { gunzipSync } = await import('node:zlib')
  const { buildApp } = await import('../src/app.js')
  const registry = new Registry()
  new Gauge({ name: 'echo', help: 'h', labelNames: ['service'], registers: [registry] }).set({ service: `svc-${KEY}` }, 1)
  const app = await buildApp({
    registry,
    jobs: [
      {
        name: 'http',
        status: () => ({ name: 'http', schedule: 'every 5s', running: false, lastRunAt: 1, lastOutcome: 'error', lastSuccessAt: undefined, lastDurationMs: 1, lastRows: undefined, lastError: `echo ${KEY}`, staleAfterMs: 15000 }),
        readiness: () => ({ ready: false, reason: `last error: ${KEY}` }),
        stop: async () => {},
      } as never,
    ],
    logger: pino({ level: 'silent' }),
    now: Date.now,
    landing: { version: 'x', pixieAddress: 'a:1', clusterId: 'c', simulated: false },
    secrets: new Secrets([KEY]),
  })
  t.teardown(() => app.close())
  const plain = await app.inject('/metrics')
  t.match(plain.body, 'echo{service="svc-<secret>"} 1', 'exposition scrubbed')
  const zipped = await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } })
  t.match(gunzipSync(zipped.rawPayload).toString(), 'svc-<secret>', 'gzip exposition scrubbed')
  const { PROTOBUF_CONTENT_TYPE, prefersProtobuf } = await import('../src/metrics/protobuf.js')
  const accept = `${PROTOBUF_CONTENT_TYPE},text/plain;version=0.0.4;q=0.5`
  t.equal(prefersProtobuf(accept), true, 'this Accept header asks for protobuf')
  const proto = await app.inject({ url: '/metrics', headers: { accept } })
  t.match(proto.headers['content-type'], /^text\/plain/, 'a protobuf scrape holding the key is answered in text (a binary body cannot be scrubbed)')
  t.match(proto.body, 'svc-<secret>', 'scrubbed')
  for (const url of ['/', '/-/ready', '/error-rate/demo/app']) {
    const res = await app.inject(url)
    t.notMatch(res.body, KEY, `${url}: no key`)
  }
  const page = await app.inject('/')
  t.equal(page.statusCode, 200, 'the landing page is served (not an error page that trivially holds no key)')
  t.match(page.body, 'echo <secret>', 'landing page: the last error, scrubbed')
  t.match((await app.inject('/-/ready')).body, 'last error: <secret>', '/-/ready reason scrubbed')
})

t.test('PixieClient errors carry no echoed key in any field, health checks included', async (t) => {
  const { PixieClient } = await import('../src/pixie/client.js')
  const { startFakeVizier, statusResponse, metadataResponse, DataType } = await import('./fixtures/fake-vizier.js')
  const echoes = [
    { responses: [statusResponse(3, `m ${KEY}`, [{ line: 1, column: 1, message: KEY }, { line: 2, column: 3, message: `x ${KEY} y` }])], end: { code: 3, details: KEY } },
    { responses: [statusResponse(0, `quirk ${KEY}`)], end: { code: 0 } },
    { end: { code: 16, details: KEY } },
    { end: { code: 13, details: `auth middleware failed ${KEY}` } },
    { responses: [metadataResponse(KEY, KEY, [{ name: KEY, type: DataType.STRING }], KEY), metadataResponse(KEY, KEY, [{ name: KEY, type: DataType.STRING }], KEY)], end: { code: 0 } },
  ] as const
  let n = 0
  const server = await startFakeVizier({
    executeScript: () => echoes[n++ % echoes.length] ?? {},
    healthCheck: { responses: [statusResponse(9, `health ${KEY}`, [{ line: 1, column: 1, message: KEY }])], end: 'hang' },
  })
  t.teardown(() => server.close())
  const client = new PixieClient({ address: server.address, clusterId: '10000000-0000-0000-0000-000000000001', apiKey: KEY, tls: 'plaintext', logger: pino({ level: 'silent' }) })
  t.teardown(() => client.close())
  const everything = (e: unknown): string => {
    const err = e as Error & Record<string, unknown>
    return JSON.stringify({ ...err, message: err.message, stack: err.stack, cause: String(err.cause), causeStack: (err.cause as Error | undefined)?.stack })
  }
  for (let i = 0; i < echoes.length; i++) {
    const error = await client.executeScript({ script: 'import px', timeoutMs: 5000 }).then(
      () => new Error('resolved'),
      (e: unknown) => e,
    )
    t.ok(error instanceof Error && 'code' in error, `echo ${i}: a coded error (${String((error as Error).name)})`)
    t.notMatch(everything(error), KEY, `echo ${i}: no field holds the key`)
  }
  const health = await client.healthCheck({ timeoutMs: 5000 }).then(
    () => new Error('resolved'),
    (e: unknown) => e,
  )
  t.notMatch(everything(health), KEY, 'health check error: no field holds the key')
  t.match(everything(health), '<secret>', 'and it shows <secret> where the key was')
})

t.test('a key with HTML-special characters is scrubbed from the landing page, where the error text is HTML-escaped', async (t) => {
  const { Registry } = await import('prom-client')
  const { buildApp } = await import('../src/app.js')
  const key = `px-api-<b>&"'-html-key`
  const app = await buildApp({
    registry: new Registry(),
    jobs: [
      {
        name: 'http',
        status: () => ({ name: 'http', schedule: 'every 5s', running: false, lastRunAt: 1, lastOutcome: 'error', lastSuccessAt: undefined, lastDurationMs: 1, lastRows: undefined, lastError: `echo ${key}`, staleAfterMs: 15000 }),
        readiness: () => ({ ready: false, reason: `last error: ${key}` }),
        stop: async () => {},
      } as never,
    ],
    logger: pino({ level: 'silent' }),
    now: Date.now,
    landing: { version: 'x', pixieAddress: 'a:1', clusterId: 'c', simulated: false },
    secrets: new Secrets([key]),
  })
  t.teardown(() => app.close())
  const page = await app.inject('/')
  t.equal(page.statusCode, 200, `landing page served: ${page.body.slice(0, 300)}`)
  t.notMatch(page.body, 'html-key', `no form of the key on the page: ${page.body.match(/echo[^<]*/)?.[0] ?? ''}`)
  t.match(page.body, 'echo <secret>', 'the placeholder where the key was')
  t.notMatch((await app.inject('/-/ready')).body, 'html-key', '/-/ready: no key')
})

t.test('prescan searches a body in slices with the event loop free in between, across slice boundaries, and foundIn reuses its answer', async (t) => {
  const secrets = new Secrets([KEY])
  const body = Buffer.alloc(64 * 1024, 'pixie_http_requests_total{pod="web-0"} 1\n')
  // The key straddles the boundary between the first two 4 KiB slices.
  body.write(KEY, 4096 - 5)
  await secrets.prescan(body, 4096)
  t.equal(secrets.foundIn(body), true, 'the key across a slice boundary is found')

  const clean = Buffer.alloc(64 * 1024, 'pixie_http_requests_total{pod="web-0"} 1\n')
  let finished = false
  const prescan = secrets.prescan(clean, 4096).then(() => (finished = true))
  // A callback queued now runs between two slices: the scan of 16 slices is not over yet.
  const finishedAtFirstTurn = await new Promise<boolean>((r) => setImmediate(() => r(finished)))
  t.equal(finishedAtFirstTurn, false, 'the event loop turned while the body was being searched')
  await prescan
  // The answer is remembered: writing the key into the buffer afterwards is
  // not seen, i.e. foundIn did not search the body again.
  clean.write(KEY, 100)
  t.equal(secrets.foundIn(clean), false, 'foundIn answers from the prescan without searching again')
  secrets.add('another-secret-value')
  t.equal(secrets.foundIn(clean), true, 'a secret added since invalidates the answer: the body is searched again (and holds the first key now)')
})
