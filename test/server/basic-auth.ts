/**
 * Basic auth (issue 13, defect 9): bcrypt never runs on the serving thread,
 * outcomes are cached per credential for a short time, unknown users cost
 * as much as known ones, an auth flood is shed with 503 (and under-pressure
 * still answers first), and the health probes can be exempted for the
 * kubelet. Figures (latency under a flood) are printed by bench/auth-flood.mjs.
 */
import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import bcrypt from 'bcryptjs'
import { Registry } from 'prom-client'
import { buildApp, type AppDeps } from '../../src/app.js'
import { basicAuthHook, bcryptCost, workerPasswordVerifier, type PasswordVerifier } from '../../src/server/basic-auth.js'
import { loadWebConfig } from '../../src/server/web-config.js'
import { ConfigError } from '../../src/errors.js'
import { sinkLogger } from '../fixtures/logger.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const HASH_12 = bcrypt.hashSync('s3cret', 12)
const HASH_4 = bcrypt.hashSync('s3cret', 4)

/** A verifier whose answers the test releases by hand, recording every call. */
function manualVerifier() {
  const calls: { password: string; hash: string | undefined; cost: number; release: (ok: boolean) => void }[] = []
  const verifier: PasswordVerifier = {
    compare: (password, hash, cost) => new Promise<boolean>((release) => calls.push({ password, hash, cost, release })),
    close: async () => {},
  }
  return { verifier, calls }
}

async function app(t: Test, users: ReadonlyMap<string, string>, extra: Partial<AppDeps> = {}) {
  const a = await buildApp({
    registry: new Registry(),
    jobs: [],
    logger: sinkLogger().logger,
    now: Date.now,
    landing: { version: 'x', pixieAddress: 'a:1', clusterId: 'c', simulated: false },
    security: { tls: undefined, users },
    ...extra,
  })
  t.teardown(() => a.close())
  return a
}

t.test('the worker verifier compares bcrypt hashes off the main thread', async (t) => {
  const v = workerPasswordVerifier()
  t.teardown(() => v.close())
  t.equal(await v.compare('s3cret', HASH_4, 4), true, 'right password')
  t.equal(await v.compare('nope', HASH_4, 4), false, 'wrong password')
  t.equal(await v.compare('s3cret', undefined, 4), false, 'unknown user (dummy hash) never matches')
  t.equal(await v.compare('s3cret', 'not a hash', 4), false, 'a malformed hash never matches')
  // While the worker spends a cost-12 comparison, the main thread keeps
  // running: count timer ticks during the comparison.
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const slow = v.compare('nope', HASH_12, 12)
  await new Promise((r) => setTimeout(r, 20))
  const before = ticks
  t.equal(await slow, false, 'cost-12 wrong password refused')
  clearInterval(timer)
  t.ok(before > 0, `the main thread ran timers while the worker compared (${before} ticks)`)
})

t.test('an unknown user is compared against a dummy hash of the highest configured cost', async (t) => {
  const m = manualVerifier()
  const a = await app(t, new Map([['prometheus', HASH_12], ['grafana', HASH_4]]), { passwordVerifier: m.verifier })
  const res = a.inject({ url: '/metrics', headers: { authorization: basic('mallory', 'x') } })
  await t.resolveMatch(waitFor(() => m.calls.length === 1), true)
  t.same([m.calls[0]?.hash, m.calls[0]?.cost], [undefined, 12], 'dummy comparison at cost 12, as for the cost-12 user')
  m.calls[0]?.release(true) // even a "match" against the dummy must not let an unknown user in
  t.equal((await res).statusCode, 401, 'unknown user refused')
  t.equal(bcryptCost(HASH_12), 12, 'bcryptCost reads the cost')
})

t.test('outcomes are cached per credential for a short time; identical requests share one comparison', async (t) => {
  const m = manualVerifier()
  let now = 0
  const auth = basicAuthHook({ users: new Map([['prometheus', HASH_4]]), verifier: m.verifier, cacheTtlMs: 1000, now: () => now })
  const Fastify = (await import('fastify')).default
  const a = Fastify()
  a.addHook('onRequest', auth.hook)
  a.get('/x', async () => 'ok')
  t.teardown(() => a.close())
  const wrong = { url: '/x', headers: { authorization: basic('prometheus', 'nope') } }
  const right = { url: '/x', headers: { authorization: basic('prometheus', 's3cret') } }
  const both = [a.inject(wrong), a.inject(wrong)]
  await waitFor(() => m.calls.length === 1)
  m.calls[0]?.release(false)
  t.same((await Promise.all(both)).map((r) => r.statusCode), [401, 401], 'both refused')
  t.equal(m.calls.length, 1, 'two identical requests in flight: one comparison')
  t.equal((await a.inject(wrong)).statusCode, 401, 'refused again')
  t.equal(m.calls.length, 1, 'a repeated wrong password is answered from the cache')
  const ok = a.inject(right)
  await waitFor(() => m.calls.length === 2)
  m.calls[1]?.release(true)
  t.equal((await ok).statusCode, 200, 'right password let in')
  t.equal((await a.inject(right)).statusCode, 200, 'and again')
  t.equal(m.calls.length, 2, 'from the cache')
  now += 1001
  const again = a.inject(right)
  await waitFor(() => m.calls.length === 3)
  m.calls[2]?.release(true)
  t.equal((await again).statusCode, 200, 'after the TTL the password is checked again')
})

t.test('an authorised scrape is answered while 60 wrong passwords are queued; the excess is shed with 503', async (t) => {
  const m = manualVerifier()
  const a = await app(t, new Map([['prometheus', HASH_4]]), { passwordVerifier: m.verifier })
  const right = { url: '/metrics', headers: { authorization: basic('prometheus', 's3cret') } }
  const first = a.inject(right)
  await waitFor(() => m.calls.length === 1)
  m.calls[0]?.release(true)
  t.equal((await first).statusCode, 200, 'the scraper is let in once')
  // 60 distinct wrong passwords; the verifier never answers them during the scrape.
  const flood = Array.from({ length: 60 }, (_, i) => a.inject({ url: '/metrics', headers: { authorization: basic('prometheus', `wrong-${i}`) } }))
  await waitFor(() => m.calls.length === 17)
  const scrape = await a.inject(right)
  t.equal(scrape.statusCode, 200, 'the authorised scrape is served from the cache, not queued behind the flood')
  t.equal(m.calls.length, 17, 'at most 16 comparisons queued at once')
  for (const c of m.calls.slice(1)) c.release(false)
  const codes = (await Promise.all(flood)).map((r) => r.statusCode)
  t.equal(codes.filter((c) => c === 401).length, 16, '16 checked and refused')
  t.equal(codes.filter((c) => c === 503).length, 44, 'the other 44 shed with 503')
  const shed = await (async () => {
    const more = Array.from({ length: 17 }, (_, i) => a.inject({ url: '/metrics', headers: { authorization: basic('x', `again-${i}`) } }))
    await waitFor(() => m.calls.length === 33)
    const last = await more[16]
    for (const c of m.calls.slice(17)) c.release(false)
    await Promise.all(more)
    return last
  })()
  t.equal(shed?.statusCode, 503, 'a shed request gets 503')
  t.ok(shed?.headers['retry-after'], 'with Retry-After')
})

t.test('with the real worker, 60 concurrent wrong passwords do not hold up an authorised scrape', async (t) => {
  const a = await app(t, new Map([['prometheus', bcrypt.hashSync('s3cret', 10)]]))
  const right = { url: '/metrics', headers: { authorization: basic('prometheus', 's3cret') } }
  t.equal((await a.inject(right)).statusCode, 200, 'scraper let in (and cached)')
  const done: string[] = []
  const flood = Array.from({ length: 60 }, (_, i) =>
    a.inject({ url: '/metrics', headers: { authorization: basic('prometheus', `wrong-${i}`) } }).then((r) => {
      done.push(String(r.statusCode))
      return r.statusCode
    }),
  )
  const scrape = await a.inject(right).then((r) => {
    done.push('scrape')
    return r
  })
  t.equal(scrape.statusCode, 200, 'authorised scrape served')
  const codes = await Promise.all(flood)
  const checkedBefore = done.slice(0, done.indexOf('scrape')).filter((c) => c === '401').length
  t.ok(checkedBefore < 16, `the scrape finished before the queued comparisons did (${checkedBefore} of 16 were done)`)
  t.ok(codes.every((c) => c === 401 || c === 503), 'every wrong password refused (401) or shed (503)')
  t.ok(codes.includes(503), 'some shed')
})

t.test('under-pressure still answers 503 first under an auth flood: no password is checked', async (t) => {
  const m = manualVerifier()
  const a = await app(t, new Map([['prometheus', HASH_4]]), { passwordVerifier: m.verifier, pressure: { maxHeapUsedBytes: 1, sampleIntervalMs: 10 } })
  // under-pressure samples the heap every sampleIntervalMs: poll for the first sample.
  await waitFor(() => a.isUnderPressure())
  const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => a.inject({ url: '/metrics', headers: { authorization: basic('prometheus', `w${i}`) } })))
  t.same(new Set(codes.map((r) => r.statusCode)), new Set([503]), 'all 503')
  t.equal(m.calls.length, 0, 'no bcrypt comparison spent while overloaded')
})

t.test('health_probes_without_auth exempts /-/healthy and /-/ready only', async (t) => {
  const dir = t.testdir({})
  const file = join(dir, 'web.yml')
  writeFileSync(file, `basic_auth_users:\n  prometheus: ${HASH_4}\nhealth_probes_without_auth: true\n`)
  const security = loadWebConfig(file, (p) => readFileSync(p))
  t.equal(security.healthProbesWithoutAuth, true, 'option read')
  const a = await app(t, security.users, { security })
  t.equal((await a.inject('/-/healthy')).statusCode, 200, '/-/healthy without credentials')
  t.equal((await a.inject('/-/ready')).statusCode, 200, '/-/ready without credentials')
  t.equal((await a.inject('/-/healthy?x=1')).statusCode, 200, 'a query string does not matter')
  for (const url of ['/metrics', '/', '/error-rate/demo/app', '/-/healthyx']) {
    t.equal((await a.inject(url)).statusCode, 401, `${url} still needs credentials`)
  }
  t.equal((await a.inject({ method: 'POST', url: '/-/ready' })).statusCode, 401, 'only GET/HEAD are exempt')

  writeFileSync(file, `basic_auth_users:\n  prometheus: ${HASH_4}\n`)
  t.equal(loadWebConfig(file, (p) => readFileSync(p)).healthProbesWithoutAuth, false, 'off by default')
  writeFileSync(file, 'health_probes_without_auth: "yes"\n')
  t.throws(() => loadWebConfig(file, (p) => readFileSync(p)), new ConfigError([`--web.config.file: ${file}: health_probes_without_auth: must be true or false`]), 'must be a boolean')
})

/** Polls (on the event loop, no fixed sleeps) until `cond` holds; rejects after 10 s. */
async function waitFor(cond: () => boolean): Promise<true> {
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return true
    await new Promise((r) => setTimeout(r, 1))
  }
  throw new Error('condition not reached')
}
