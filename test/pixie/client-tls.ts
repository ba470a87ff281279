import t from 'tap'
import { PixieUnavailableError } from '../../src/errors.js'
import { PixieClient } from '../../src/pixie/client.js'
import type { PixieClientOptions } from '../../src/pixie/client.js'
import {
  DataType,
  batchResponse,
  memoryLogger,
  metadataResponse,
  startFakeVizier,
  tlsFixture,
} from '../fixtures/fake-vizier.js'
import type { FakeVizier } from '../fixtures/fake-vizier.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const API_KEY = 'px-api-tls-test-key'
const STREAM = [
  metadataResponse('t1', 'output', [{ name: 'n', type: DataType.INT64 }]),
  batchResponse('t1', 1, [{ int64_data: { data: ['42'] } }], { eos: true }),
]

/** The part of a tap test the helpers need. */
interface TestContext {
  teardown(fn: () => unknown): void
}

/** Starts a TLS fake serving `cert` (a fixture name without extension). */
async function tlsServer(t: TestContext, cert: 'server' | 'self-signed'): Promise<FakeVizier> {
  const server = await startFakeVizier({
    executeScript: { responses: STREAM },
    tls: { key: tlsFixture(`${cert}.key`), cert: tlsFixture(`${cert}.pem`) },
  })
  t.teardown(() => server.close())
  return server
}

function client(t: TestContext, options: Omit<PixieClientOptions, 'clusterId' | 'logger'>): PixieClient {
  const c = new PixieClient({ clusterId: CLUSTER, apiKey: API_KEY, logger: memoryLogger().logger, ...options })
  t.teardown(() => c.close())
  return c
}

/** Runs the script and returns the single value, or the error. */
async function run(c: PixieClient): Promise<unknown> {
  try {
    const result = await c.executeScript({ script: 'px.display(df)', timeoutMs: 5000 })
    return result.tables.get('output')?.data[0]?.values[0]
  } catch (error) {
    return error
  }
}

t.test('verify with the CA given works against a TLS server', async (t) => {
  const server = await tlsServer(t, 'server')
  const value = await run(client(t, { address: server.address, tls: 'verify', ca: tlsFixture('ca.pem') }))
  t.equal(value, 42n, 'result received over verified TLS')
  t.equal(server.calls[0]?.metadata['pixie-api-key'], API_KEY, 'metadata went over the TLS channel')
})

t.test('verify without the CA rejects the unknown chain', async (t) => {
  const server = await tlsServer(t, 'server')
  const error = await run(client(t, { address: server.address, tls: 'verify' }))
  t.ok(error instanceof PixieUnavailableError, `unavailable, got ${String(error)}`)
  t.match((error as Error).message, /certificate/i, 'message mentions the certificate')
  t.match((error as Error).message, /give the CA/, 'message says what to do')
  t.equal(server.calls.length, 0, 'no call reached the server')
})

t.test('verify without the CA rejects a self-signed certificate', async (t) => {
  const server = await tlsServer(t, 'self-signed')
  const error = await run(client(t, { address: server.address, tls: 'verify', serverName: 'unknown.invalid' }))
  t.ok(error instanceof PixieUnavailableError, `unavailable, got ${String(error)}`)
  t.match((error as Error).message, /self[- ]signed/i, 'message names the self-signed certificate')
})

t.test('verify checks the host name; serverName overrides it', async (t) => {
  // The self-signed certificate is for unknown.invalid; trusting it as a CA leaves only the name check.
  const server = await tlsServer(t, 'self-signed')
  const wrongName = await run(client(t, { address: server.address, tls: 'verify', ca: tlsFixture('self-signed.pem') }))
  t.ok(wrongName instanceof PixieUnavailableError, `127.0.0.1 does not match the certificate, got ${String(wrongName)}`)
  const value = await run(
    client(t, { address: server.address, tls: 'verify', ca: tlsFixture('self-signed.pem'), serverName: 'unknown.invalid' }),
  )
  t.equal(value, 42n, 'accepted with the matching serverName')
})

t.test('skip-verify accepts a certificate from an unknown CA without the CA', async (t) => {
  const server = await tlsServer(t, 'server')
  const value = await run(client(t, { address: server.address, tls: 'skip-verify' }))
  t.equal(value, 42n, 'result received')
})

t.test('skip-verify accepts a self-signed certificate for another host name', async (t) => {
  const server = await tlsServer(t, 'self-signed')
  const value = await run(client(t, { address: server.address, tls: 'skip-verify' }))
  t.equal(value, 42n, 'result received')
})

t.test('plaintext works against a plaintext server', async (t) => {
  const server = await startFakeVizier({ executeScript: { responses: STREAM } })
  t.teardown(() => server.close())
  const value = await run(client(t, { address: server.address, tls: 'plaintext' }))
  t.equal(value, 42n, 'result received')
})

t.test('plaintext against a TLS server fails as unavailable', async (t) => {
  const server = await tlsServer(t, 'server')
  const error = await run(client(t, { address: server.address, tls: 'plaintext' }))
  t.ok(error instanceof PixieUnavailableError, `unavailable, got ${String(error)}`)
})
