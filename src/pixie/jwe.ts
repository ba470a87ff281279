/**
 * Pixie's end-to-end encryption of result batches (fact sheet §4): the client
 * sends an RSA public key (JWK) with the request; Vizier serializes every
 * RowBatchData, compresses it (DEF = raw deflate), encrypts it with a fresh
 * AES-256-GCM key wrapped with RSA-OAEP-256, and sends the JWE compact
 * serialization in `encrypted_batch`. Written with node:crypto and node:zlib
 * only, from the JWE format (RFC 7516) and the facts, not from any client.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import { promisify } from 'node:util'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { PixieProtocolError } from '../errors.js'

/** The algorithms every Pixie client sends (`key_alg`, `content_alg`, `compression_alg`). */
export const JWE_ALGORITHMS = { keyAlg: 'RSA-OAEP-256', contentAlg: 'A256GCM', compressionAlg: 'DEF' } as const

/**
 * Largest decompressed batch accepted. Pixie's batches stay under about 1 MB
 * before compression (§3.2); the cap keeps a hostile stream from inflating
 * without bound (a "zip bomb"), far above jose's 250,000-byte default.
 */
export const MAX_DECOMPRESSED_BYTES = 8 * 1024 * 1024

const PROTECTED_HEADER = Buffer.from(JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'DEF' })).toString('base64url')

/** An RSA key pair for one client: the public half goes to Pixie as JWK JSON. */
export interface EncryptionKeys {
  readonly privateKey: KeyObject
  /** `encryption_options.jwk_key`. */
  readonly publicJwk: string
}

/** Generates the key pair (RSA-4096 as Pixie's clients use; about a second, done once per client). */
export async function generateEncryptionKeys(modulusLength = 4096): Promise<EncryptionKeys> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength })
  const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey
  return { privateKey, publicJwk: JSON.stringify({ kty: jwk.kty, n: jwk.n, e: jwk.e, alg: JWE_ALGORITHMS.keyAlg, use: 'enc' }) }
}

/** Decrypts one `encrypted_batch` into the serialized RowBatchData. Throws PixieProtocolError on anything malformed. */
export function decryptBatch(compact: Buffer | string, privateKey: KeyObject): Buffer {
  const parts = (typeof compact === 'string' ? compact : compact.toString('ascii')).split('.')
  if (parts.length !== 5) throw new PixieProtocolError(`encrypted batch is not a JWE compact serialization (${parts.length} parts)`)
  const [header = '', encryptedKey = '', iv = '', ciphertext = '', tag = ''] = parts
  let alg: unknown
  let enc: unknown
  let zip: unknown
  try {
    ;({ alg, enc, zip } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>)
  } catch {
    throw new PixieProtocolError('encrypted batch has an unreadable JWE header')
  }
  if (alg !== 'RSA-OAEP-256' || enc !== 'A256GCM' || (zip !== undefined && zip !== 'DEF')) {
    throw new PixieProtocolError(`encrypted batch uses unsupported algorithms (alg ${String(alg)}, enc ${String(enc)}, zip ${String(zip)})`)
  }
  try {
    const cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(encryptedKey, 'base64url'))
    const decipher = createDecipheriv('aes-256-gcm', cek, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(header, 'ascii'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()])
    return zip === 'DEF' ? inflateRawSync(plain, { maxOutputLength: MAX_DECOMPRESSED_BYTES }) : plain
  } catch (err) {
    throw new PixieProtocolError(`encrypted batch could not be decrypted: ${(err as Error).message}`, undefined, { cause: err })
  }
}

/** Encrypts a serialized RowBatchData for a client's public JWK, as Vizier does (used by the simulator). */
export function encryptBatch(plain: Buffer, publicJwk: string): Buffer {
  const publicKey = createPublicKey({ key: JSON.parse(publicJwk) as JsonWebKey, format: 'jwk' })
  const cek = randomBytes(32)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', cek, iv)
  cipher.setAAD(Buffer.from(PROTECTED_HEADER, 'ascii'))
  const ciphertext = Buffer.concat([cipher.update(deflateRawSync(plain)), cipher.final()])
  const encryptedKey = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek)
  const compact = [PROTECTED_HEADER, encryptedKey.toString('base64url'), iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
  return Buffer.from(compact, 'ascii')
}
