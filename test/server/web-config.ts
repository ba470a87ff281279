import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import bcrypt from 'bcryptjs'
import { Registry } from 'prom-client'
import { buildApp } from '../../src/app.js'
import { ConfigError } from '../../src/errors.js'
import { loadWebConfig, type WebSecurity } from '../../src/server/web-config.js'
import { sinkLogger } from '../fixtures/logger.js'
import { makePki, type Pki } from '../fixtures/pki.js'

const readFile = (p: string) => readFileSync(p)

async function serve(t: Test, security: WebSecurity) {
  const app = await buildApp({
    registry: new Registry(),
    jobs: [],
    logger: sinkLogger().logger,
    now: Date.now,
    landing: { version: 'x', pixieAddress: 'a:1', clusterId: 'c', simulated: false },
    security,
  })
  t.teardown(() => app.close())
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, address }
}

function get(url: string, opts: { ca?: Buffer; cert?: Buffer; key?: Buffer; auth?: string } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: opts.ca, cert: opts.cert, key: opts.key, headers: opts.auth ? { authorization: opts.auth } : {} }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
    req.end()
  })
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

let pki: Pki
t.before(() => {
  pki = makePki(t.testdir({}))
})

t.test('a web config with TLS and basic auth is read and validated', async (t) => {
  const dir = t.testdir({})
  const hash = bcrypt.hashSync('s3cret', 4)
  writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: ${join(pki.dir, 'server.crt')}\n  key_file: ${join(pki.dir, 'server.key')}\nbasic_auth_users:\n  prometheus: ${hash}\n`)
  const web = loadWebConfig(join(dir, 'web.yml'), readFile)
  t.same(web.tls?.cert, pki.serverCert, 'certificate read')
  t.equal(web.tls?.clientCa, undefined, 'no client CA')
  t.equal(web.users.get('prometheus'), hash, 'user and hash')
})

t.test('relative paths are resolved from the web config file directory', async (t) => {
  writeFileSync(join(pki.dir, 'web.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n')
  const web = loadWebConfig(join(pki.dir, 'web.yml'), readFile)
  t.same(web.tls?.clientCa, pki.ca, 'client CA read relative to the file')
})

t.test('invalid web configs name the field', async (t) => {
  const dir = t.testdir({
    'bad.yml': 'tls_server_config:\n  cert_file: missing.crt\n  extra: 1\nbasic_auth_users:\n  alice: not-a-hash\nother: 1\n',
  })
  const err = (() => {
    try {
      loadWebConfig(join(dir, 'bad.yml'), readFile)
    } catch (e) {
      return e
    }
    return undefined
  })()
  t.type(err, ConfigError, 'a ConfigError')
  const p = `--web.config.file: ${join(dir, 'bad.yml')}`
  t.same(
    (err as ConfigError).errors,
    [
      `${p}: other: unknown key`,
      `${p}: tls_server_config.extra: unknown key`,
      `${p}: tls_server_config.key_file: required`,
      `${p}: tls_server_config.cert_file: cannot read missing.crt: ENOENT`,
      `${p}: basic_auth_users.alice: must be a bcrypt hash (htpasswd -nBC 10 alice)`,
    ],
    'every problem, each naming its field',
  )
  t.throws(() => loadWebConfig(join(dir, 'nope.yml'), readFile), { errors: [`--web.config.file: ${join(dir, 'nope.yml')}: ENOENT`] }, 'missing file')
})

t.test('TLS files that exist but cannot serve are rejected when the config is read (so --check-config catches them)', async (t) => {
  const dir = t.testdir({ 'garbage.pem': 'not a certificate\n' })
  const cases: Array<[string, string, RegExp]> = [
    ['cert', `cert_file: garbage.pem\n  key_file: ${join(pki.dir, 'server.key')}`, /tls_server_config\.cert_file: garbage\.pem: not a PEM certificate \(/],
    ['key', `cert_file: ${join(pki.dir, 'server.crt')}\n  key_file: garbage.pem`, /tls_server_config\.key_file: garbage\.pem: not a PEM private key matching cert_file \(/],
    ['mismatch', `cert_file: ${join(pki.dir, 'server.crt')}\n  key_file: ${join(pki.dir, 'client.key')}`, /tls_server_config\.key_file: .*client\.key: not a PEM private key matching cert_file \(/],
    ['ca', `cert_file: ${join(pki.dir, 'server.crt')}\n  key_file: ${join(pki.dir, 'server.key')}\n  client_ca_file: garbage.pem`, /tls_server_config\.client_ca_file: garbage\.pem: not a PEM certificate bundle \(/],
  ]
  for (const [name, tlsBody, expected] of cases) {
    writeFileSync(join(dir, `${name}.yml`), `tls_server_config:\n  ${tlsBody}\n`)
    let err: unknown
    try {
      loadWebConfig(join(dir, `${name}.yml`), readFile)
    } catch (e) {
      err = e
    }
    t.type(err, ConfigError, `${name}: a ConfigError`)
    const errors = (err as ConfigError | undefined)?.errors ?? []
    t.equal(errors.length, 1, `${name}: one problem`)
    t.match(errors[0], expected, `${name}: names the field and the file`)
    t.ok(errors[0]?.startsWith(`--web.config.file: ${join(dir, `${name}.yml`)}: `), `${name}: names the web config file`)
  }
})

t.test('TLS: served over https with the configured certificate', async (t) => {
  const { address } = await serve(t, { tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: undefined }, users: new Map() })
  t.match(address, /^https:/, 'listening with TLS')
  const res = await get(`${address}/-/healthy`, { ca: pki.ca })
  t.equal(res.status, 200, 'a client trusting the CA gets through')
  await t.rejects(get(`${address}/-/healthy`), /self[- ]signed|unable to verify|certificate/i, 'a client that does not trust the CA is refused')
})

t.test('TLS with a client CA: only clients with a certificate signed by it get through', async (t) => {
  const { address } = await serve(t, { tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca }, users: new Map() })
  const ok = await get(`${address}/metrics`, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey })
  t.equal(ok.status, 200, 'client certificate accepted')
  await t.rejects(get(`${address}/metrics`, { ca: pki.ca }), 'no client certificate: the handshake fails')
})

t.test('basic auth protects every route', async (t) => {
  const users = new Map([['prometheus', bcrypt.hashSync('s3cret', 4)]])
  const { app } = await serve(t, { tls: undefined, users })
  for (const url of ['/metrics', '/', '/-/healthy', '/-/ready']) {
    const none = await app.inject(url)
    t.equal(none.statusCode, 401, `${url}: 401 without credentials`)
    t.match(none.headers['www-authenticate'], /^Basic realm="pixie-exporter"/, `${url}: challenge`)
    const wrong = await app.inject({ url, headers: { authorization: basic('prometheus', 'nope') } })
    t.equal(wrong.statusCode, 401, `${url}: 401 with a wrong password`)
    const unknown = await app.inject({ url, headers: { authorization: basic('mallory', 's3cret') } })
    t.equal(unknown.statusCode, 401, `${url}: 401 for an unknown user`)
    const right = await app.inject({ url, headers: { authorization: basic('prometheus', 's3cret') } })
    t.not(right.statusCode, 401, `${url}: through with the right password`)
  }
})
