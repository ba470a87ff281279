/**
 * The web configuration file (`--web.config.file`), in the format of the
 * Prometheus exporter toolkit: TLS for the exporter's own HTTP server
 * (optionally requiring client certificates) and basic-auth users with bcrypt
 * hashes. It applies to every route. Relative paths are resolved from the
 * file's directory.
 *
 *   tls_server_config:
 *     cert_file: server.crt
 *     key_file: server.key
 *     client_ca_file: clients-ca.crt      # optional: require client certificates signed by it
 *   basic_auth_users:
 *     prometheus: $2b$10$...               # htpasswd -nBC 10 prometheus
 *   # pixie-exporter's own key (not in the exporter toolkit): serve /-/healthy
 *   # and /-/ready without credentials, for the kubelet's probes.
 *   health_probes_without_auth: true
 */
import { X509Certificate } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import { createSecureContext } from 'node:tls'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.js'

/** The validated web configuration. */
export interface WebSecurity {
  /** TLS material for the server; undefined: plain HTTP. */
  readonly tls: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa: Buffer | undefined } | undefined
  /** Basic-auth users and their bcrypt hashes; empty: no authentication. */
  readonly users: ReadonlyMap<string, string>
  /** Serve `/-/healthy` and `/-/ready` without credentials (`health_probes_without_auth`). Default false. */
  readonly healthProbesWithoutAuth?: boolean
}

/** The paths `health_probes_without_auth: true` exempts from basic auth. */
export const HEALTH_PROBE_PATHS: readonly string[] = ['/-/healthy', '/-/ready']

const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/
const TOP_KEYS = new Set(['tls_server_config', 'basic_auth_users', 'health_probes_without_auth'])
const TLS_KEYS = new Set(['cert_file', 'key_file', 'client_ca_file'])

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Runs `check`; when it throws, records `problem` (with OpenSSL's reason) and answers false. */
function usable(check: () => unknown, problem: string, errors: string[]): boolean {
  try {
    check()
    return true
  } catch (err) {
    errors.push(`${problem} (${(err as Error).message})`)
    return false
  }
}

/** Reads and validates a web configuration file; throws ConfigError listing every problem. */
export function loadWebConfig(path: string, readFile: (path: string) => Buffer): WebSecurity {
  const prefix = `--web.config.file: ${path}`
  const errors: string[] = []
  const read = (field: string, file: string): Buffer | undefined => {
    try {
      return readFile(resolve(dirname(path), file))
    } catch (err) {
      errors.push(`${prefix}: ${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`)
      return undefined
    }
  }
  let doc: unknown
  try {
    doc = parseYaml(readFile(path).toString('utf8')) ?? {}
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? `invalid YAML: ${(err as Error).message.split('\n')[0]}`
    throw new ConfigError([`${prefix}: ${reason}`], { cause: err })
  }
  if (!isMapping(doc)) throw new ConfigError([`${prefix}: must be a mapping`])
  for (const key of Object.keys(doc)) if (!TOP_KEYS.has(key)) errors.push(`${prefix}: ${key}: unknown key`)

  let tls: WebSecurity['tls']
  const tlsDoc = doc.tls_server_config
  if (tlsDoc !== undefined) {
    if (!isMapping(tlsDoc)) errors.push(`${prefix}: tls_server_config: must be a mapping`)
    else {
      for (const key of Object.keys(tlsDoc)) if (!TLS_KEYS.has(key)) errors.push(`${prefix}: tls_server_config.${key}: unknown key`)
      const file = (key: string): string | undefined => {
        const v = tlsDoc[key]
        if (v === undefined) return undefined
        if (typeof v !== 'string' || v === '') errors.push(`${prefix}: tls_server_config.${key}: must be a file path`)
        return typeof v === 'string' && v !== '' ? v : undefined
      }
      const certFile = file('cert_file')
      const keyFile = file('key_file')
      const caFile = file('client_ca_file')
      if (certFile === undefined) errors.push(`${prefix}: tls_server_config.cert_file: required`)
      if (keyFile === undefined) errors.push(`${prefix}: tls_server_config.key_file: required`)
      const cert = certFile === undefined ? undefined : read('tls_server_config.cert_file', certFile)
      const key = keyFile === undefined ? undefined : read('tls_server_config.key_file', keyFile)
      const clientCa = caFile === undefined ? undefined : read('tls_server_config.client_ca_file', caFile)
      // What the https server will do with them at start, done here so that
      // --check-config rejects what a run could not serve with.
      const certOk = cert !== undefined && usable(() => new X509Certificate(cert), `${prefix}: tls_server_config.cert_file: ${certFile}: not a PEM certificate`, errors)
      const caOk = clientCa === undefined || usable(() => new X509Certificate(clientCa), `${prefix}: tls_server_config.client_ca_file: ${caFile}: not a PEM certificate bundle`, errors)
      const keyOk = !certOk || key === undefined || usable(() => createSecureContext({ cert, key }), `${prefix}: tls_server_config.key_file: ${keyFile}: not a PEM private key matching cert_file`, errors)
      if (cert !== undefined && key !== undefined && certOk && keyOk && caOk) tls = { cert, key, clientCa }
    }
  }

  const users = new Map<string, string>()
  const usersDoc = doc.basic_auth_users
  if (usersDoc !== undefined) {
    if (!isMapping(usersDoc)) errors.push(`${prefix}: basic_auth_users: must be a mapping of user names to bcrypt hashes`)
    else {
      for (const [user, hash] of Object.entries(usersDoc)) {
        // The hash is not a secret in itself, but never echo it anyway.
        if (user === '' || user.includes(':')) errors.push(`${prefix}: basic_auth_users: user names must be non-empty and without ":"`)
        else if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) errors.push(`${prefix}: basic_auth_users.${user}: must be a bcrypt hash (htpasswd -nBC 10 ${user})`)
        else users.set(user, hash)
      }
    }
  }
  const probes = doc.health_probes_without_auth
  if (probes !== undefined && typeof probes !== 'boolean') errors.push(`${prefix}: health_probes_without_auth: must be true or false`)
  if (errors.length > 0) throw new ConfigError(errors)
  return { tls, users, healthProbesWithoutAuth: probes === true }
}

/** Options for node's https server from a web configuration (client certificates required when a client CA is set). */
export function httpsOptions(tls: NonNullable<WebSecurity['tls']>): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } {
  return tls.clientCa === undefined
    ? { cert: tls.cert, key: tls.key, requestCert: false, rejectUnauthorized: false }
    : { cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }
}

export { basicAuthHook } from './basic-auth.js'
