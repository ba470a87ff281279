/**
 * End-to-end encryption of result batches (RSA-OAEP-256 key wrap, A256GCM,
 * DEF compression): the JWE helpers, and the real client against the real
 * simulator with encryption on.
 */
import t from 'tap'
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes, type JsonWebKey } from 'node:crypto'
import { deflateRawSync } from 'node:zlib'
import { HttpCollector } from '../../src/collectors/http.js'
import { PixieProtocolError } from '../../src/errors.js'
import { PixieClient } from '../../src/pixie/client.js'
import { MAX_DECOMPRESSED_BYTES, decryptBatch, encryptBatch, generateEncryptionKeys } from '../../src/pixie/jwe.js'
import { decodeRowBatch, encodeRowBatch } from '../../src/pixie/proto.js'
import { int64ToBigInt } from '../../src/pixie/decode.js'
import { loadScenarioFile, startSimulator } from '../../src/simulator/server.js'
import { Registry } from 'prom-client'
import { join } from 'node:path'
import { sinkLogger } from '../fixtures/logger.js'
import { httpConfig } from '../fixtures/http-fixtures.js'

const keys = generateEncryptionKeys(2048)

t.test('a batch encrypted for a public key decrypts to the same RowBatchData', async (t) => {
  const { privateKey, publicJwk } = await keys
  const batch = { cols: [{ int64_data: { data: ['1', '-2', '1700000000123456789'] } }], num_rows: '3', eow: true, eos: true, table_id: 'abc' }
  const jwe = encryptBatch(encodeRowBatch(batch), publicJwk)
  const parts = jwe.toString('ascii').split('.')
  t.equal(parts.length, 5, 'compact serialization has five parts')
  t.same(JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString()), { alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'DEF' }, 'protected header')
  const decoded = decodeRowBatch(decryptBatch(jwe, privateKey))
  t.same((decoded.cols[0]?.int64_data?.data ?? []).map(int64ToBigInt), [1n, -2n, 1700000000123456789n], 'int64 values exact (Long objects, as the client reads them)')
  t.equal(decoded.table_id, 'abc', 'table id')
  t.equal(decoded.eos, true, 'eos')
  t.same(JSON.parse(publicJwk).kty, 'RSA', 'the public key is an RSA JWK')
  t.notOk('d' in JSON.parse(publicJwk), 'the JWK sent to Pixie has no private part')
})

t.test('tampered, foreign-key and oversized batches are protocol errors', async (t) => {
  const { privateKey, publicJwk } = await keys
  const other = await generateEncryptionKeys(2048)
  const jwe = encryptBatch(encodeRowBatch({ cols: [], num_rows: '0', eow: true, eos: true, table_id: 'x' }), publicJwk).toString('ascii')
  const parts = jwe.split('.')
  const flipped = Buffer.from(parts[3] ?? '', 'base64url')
  flipped[0] = (flipped[0] ?? 0) ^ 1
  t.throws(() => decryptBatch([...parts.slice(0, 3), flipped.toString('base64url'), parts[4]].join('.'), privateKey), PixieProtocolError, 'a flipped ciphertext bit fails authentication')
  t.throws(() => decryptBatch(jwe, other.privateKey), PixieProtocolError, 'another key cannot decrypt')
  t.throws(() => decryptBatch('a.b.c', privateKey), { message: /not a JWE compact serialization/ }, 'wrong shape')
  // A "zip bomb": 16 MiB of zeros compress to a few KB, wrapped in a valid JWE.
  const big = deflateRawSync(Buffer.alloc(MAX_DECOMPRESSED_BYTES * 2))
  t.ok(big.length < 100_000, 'the bomb is small on the wire')
  t.throws(() => decryptBatch(jweAround(big, parts[0] ?? '', publicJwk), privateKey), { message: /could not be decrypted/ }, 'inflating past the cap is refused')
})

/** A JWE around an already-compressed payload, built with node:crypto (to make a zip bomb). */
function jweAround(payload: Buffer, header: string, publicJwk: string): string {
  const cek = randomBytes(32)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', cek, iv)
  cipher.setAAD(Buffer.from(header, 'ascii'))
  const ct = Buffer.concat([cipher.update(payload), cipher.final()])
  const key = publicEncrypt({ key: createPublicKey({ key: JSON.parse(publicJwk) as JsonWebKey, format: 'jwk' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek)
  return [header, key.toString('base64url'), iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
}

t.test('with encryption on, the client asks for it and decrypts what the simulator sends', async (t) => {
  const log = sinkLogger('warn')
  const now = Date.UTC(2026, 10, 27, 12, 0, 0)
  const scenario = loadScenarioFile(join(import.meta.dirname, '..', '..', 'scenarios', 'steady-canary.yaml'))
  const sim = await startSimulator({ scenario, listen: '127.0.0.1:0', logger: log.logger, now: () => now, startedAt: now - 60_000 })
  t.teardown(() => sim.close())
  const pixie = new PixieClient({ address: sim.address, clusterId: '10000000-0000-0000-0000-000000000001', tls: 'plaintext', logger: log.logger, encryption: true })
  t.teardown(() => pixie.close())
  const registry = new Registry()
  const collector = new HttpCollector({ pixie, registry, logger: log.logger, now: () => now, config: httpConfig() })
  const summary = await collector.run({ signal: new AbortController().signal, timeoutMs: 30_000 })
  t.equal(summary.rows, 8, 'both tables decoded from encrypted batches (4 pods each)')
  const ratio = (await registry.getMetricsAsJSON()).find((m) => m.name === 'pixie_http_error_ratio')?.values.find((v) => v.labels.pod === 'canary-demo-7f6d5c9b4b-aaaaa')
  t.ok(ratio !== undefined && Math.abs(ratio.value - 0.82) < 0.02, `canary ratio ${ratio?.value} read through encryption`)
})
