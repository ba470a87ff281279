/**
 * {@link PixieClient}: runs PxL scripts through Pixie's `VizierService` over
 * gRPC (cloud passthrough or a direct address) and maps every failure to a
 * coded {@link PixieError}. Stream assembly lives in decode.ts.
 */
import * as grpc from '@grpc/grpc-js'
import type { Logger } from 'pino'
import {
  PixieAuthError,
  PixieCancelledError,
  PixieDeadlineError,
  PixieError,
  PixieProtocolError,
  PixieQueryError,
  PixieUnavailableError,
} from '../errors.js'
import { ResultAssembler, inBandStatusError } from './decode.js'
import { scrubErrorWith, scrubText } from '../secrets.js'
import { JWE_ALGORITHMS, decryptBatch, generateEncryptionKeys, type EncryptionKeys } from './jwe.js'
import { decodeRowBatch, vizierServiceDefinition } from './proto.js'
import type { Wire } from './proto.js'
import { TLS_MODES, type TlsMode } from './tls-modes.js'
import type { ExecuteScriptOptions, PixieApi, ScriptResult } from './types.js'

/** Default value of the `pixie-api-client` metadata. */
export const DEFAULT_CLIENT_NAME = 'pixie-exporter'

/**
 * Largest response accepted. Pixie keeps batches under about 0.93 MB
 * (pixie-api.md §3.2); grpc-js's 4 MiB default leaves room, this leaves more.
 */
const MAX_RECEIVE_BYTES = 16 * 1024 * 1024

/** Options of {@link PixieClient}. */
export interface PixieClientOptions {
  /** `host:port` of Pixie Cloud (passthrough) or of a direct endpoint. */
  readonly address: string
  /** Sent as `cluster_id` in every ExecuteScript and HealthCheck request. */
  readonly clusterId: string
  /** Sent as metadata `pixie-api-key` when set. Never logged nor put in an error message. */
  readonly apiKey?: string | undefined
  /**
   * `verify`: TLS checked against the system roots (or {@link ca});
   * `skip-verify`: TLS without checking the chain or the host name;
   * `plaintext`: no TLS.
   */
  readonly tls: TlsMode
  /** PEM of a CA to trust in `verify` mode (instead of the system roots). */
  readonly ca?: Buffer | undefined
  /** Name to check the server certificate against, instead of the address's host. */
  readonly serverName?: string | undefined
  readonly logger: Logger
  /** Value of the `pixie-api-client` metadata. Default {@link DEFAULT_CLIENT_NAME}. */
  readonly clientName?: string | undefined
  /**
   * Ask Pixie to encrypt result batches end to end (RSA-OAEP-256 key wrap,
   * A256GCM, DEF compression), so that Pixie Cloud, which relays them, cannot
   * read them. A 4096-bit key pair is made once per client. Default false.
   */
  readonly encryption?: boolean | undefined
}

/** Options of {@link PixieClient.healthCheck}. */
export interface HealthCheckOptions {
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

/** What the request builders send for `ExecuteScript` (int64 fields as decimal strings). */
interface ExecuteScriptRequestOut {
  query_str: string
  cluster_id: string
  query_name: string
  exec_funcs?: { func_name: string; arg_values: { name: string; value: string }[]; output_table_prefix: string }[]
  configs?: { plugin_config: { start_time_ns: string; end_time_ns: string } }
  encryption_options?: { jwk_key: string; key_alg: string; content_alg: string; compression_alg: string }
}

/** What is known about a call when its final status is mapped to an error. */
interface CallContext {
  /** e.g. `query "http_stats"` or `health check`. */
  readonly what: string
  readonly timeoutMs: number
  readonly aborted: boolean
}

const AUTH_MIDDLEWARE_FAILED = 'Auth middleware failed'
/** Node's TLS verification failures (unknown chain, self-signed, wrong host name). */
const TLS_FAILURE = /certificate|altnames|self[- ]signed/i
const TRANSIENT_INTERNAL = ['RST_STREAM', 'server closed the stream without sending trailers']

function channelCredentials(options: PixieClientOptions): grpc.ChannelCredentials {
  switch (options.tls) {
    case 'plaintext':
      return grpc.credentials.createInsecure()
    case 'verify':
      return grpc.credentials.createSsl(options.ca ?? null)
    case 'skip-verify':
      // rejectUnauthorized=false makes grpc-js accept a chain that does not verify;
      // the no-op identity check also accepts any host name.
      return grpc.credentials.createSsl(null, null, null, {
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      })
  }
}

/**
 * A {@link PixieApi} over one gRPC channel. Create one per configured Pixie
 * endpoint and {@link close} it on shutdown.
 *
 * @example
 * ```ts
 * const client = new PixieClient({ address: 'withpixie.ai:443', clusterId, apiKey, tls: 'verify', logger })
 * const result = await client.executeScript({ script, queryName: 'http_stats', timeoutMs: 10_000 })
 * const table = result.tables.get('http_stats')
 * ```
 */
export class PixieClient implements PixieApi {
  readonly #address: string
  readonly #clusterId: string
  readonly #apiKey: string | undefined
  readonly #clientName: string
  readonly #log: Logger
  readonly #grpc: grpc.Client
  readonly #service: grpc.ServiceDefinition
  readonly #encryption: boolean
  #keys: Promise<EncryptionKeys> | undefined

  constructor(options: PixieClientOptions) {
    this.#encryption = options.encryption === true
    if (typeof options.address !== 'string' || options.address === '') {
      throw new TypeError('PixieClient: address (host:port) is required')
    }
    if (typeof options.clusterId !== 'string') throw new TypeError('PixieClient: clusterId must be a string')
    if (!(TLS_MODES as readonly string[]).includes(options.tls)) {
      throw new TypeError(`PixieClient: tls must be verify, skip-verify or plaintext, got ${String(options.tls)}`)
    }
    if (options.ca !== undefined && options.tls !== 'verify') {
      throw new TypeError('PixieClient: ca is only used with tls "verify"')
    }
    this.#address = options.address
    this.#clusterId = options.clusterId
    this.#apiKey = options.apiKey === '' ? undefined : options.apiKey
    this.#clientName = options.clientName ?? DEFAULT_CLIENT_NAME
    this.#log = options.logger.child({ component: 'pixie-client', address: options.address })
    this.#service = vizierServiceDefinition('client')
    const channelOptions: grpc.ChannelOptions = { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES }
    if (options.serverName !== undefined && options.serverName !== '') {
      channelOptions['grpc.ssl_target_name_override'] = options.serverName
      channelOptions['grpc.default_authority'] = options.serverName
    }
    this.#grpc = new grpc.Client(options.address, channelCredentials(options), channelOptions)
  }

  /** Runs a script to completion. See {@link PixieApi.executeScript}. */
  executeScript(options: ExecuteScriptOptions): Promise<ScriptResult> {
    if (!this.#encryption) return this.#execute(options, undefined)
    this.#keys ??= generateEncryptionKeys()
    return this.#keys.then((keys) => this.#execute(options, keys))
  }

  #execute(options: ExecuteScriptOptions, keys: EncryptionKeys | undefined): Promise<ScriptResult> {
    const { script, timeoutMs, signal, pluginTime } = options
    const queryName = options.queryName ?? ''
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new TypeError(`executeScript: timeoutMs must be a positive number, got ${timeoutMs}`))
    }
    const what = queryName === '' ? 'query' : `query "${queryName}"`
    if (signal?.aborted === true) {
      return Promise.reject(new PixieCancelledError(`${what} on Pixie at ${this.#address} cancelled before it started`))
    }
    const request: ExecuteScriptRequestOut = { query_str: script, cluster_id: this.#clusterId, query_name: queryName }
    if (options.execFuncs !== undefined && options.execFuncs.length > 0) {
      request.exec_funcs = options.execFuncs.map((f) => ({
        func_name: f.funcName,
        arg_values: f.argValues.map((a) => ({ name: a.name, value: a.value })),
        output_table_prefix: f.outputTablePrefix,
      }))
    }
    if (pluginTime !== undefined) {
      request.configs = {
        plugin_config: { start_time_ns: pluginTime.startNs.toString(), end_time_ns: pluginTime.endNs.toString() },
      }
    }
    if (keys !== undefined) {
      request.encryption_options = {
        jwk_key: keys.publicJwk,
        key_alg: JWE_ALGORITHMS.keyAlg,
        content_alg: JWE_ALGORITHMS.contentAlg,
        compression_alg: JWE_ALGORITHMS.compressionAlg,
      }
    }
    const method = this.#method('ExecuteScript')
    const log = this.#log
    const started = performance.now()
    const assembler = new ResultAssembler({
      source: this.#address,
      maxRowsPerTable: options.maxRowsPerTable,
      ...(keys !== undefined && { decrypt: (encrypted: Buffer) => decodeRowBatch(decryptBatch(encrypted, keys.privateKey)) }),
    })
    const context = { what, timeoutMs, aborted: false }

    return new Promise<ScriptResult>((resolve, reject) => {
      const onData = (response: Wire.ExecuteScriptResponse, fail: (error: PixieError) => void): void => {
        try {
          if (assembler.accept(response) === 'ignored') {
            log.debug({ queryName, queryId: response.query_id }, 'ignoring a response without data or metadata')
          }
        } catch (error) {
          fail(asPixieError(error))
        }
      }
      const runFields = () => ({
        queryName,
        tables: assembler.tableCount,
        rows: assembler.rowCount,
        durationMs: Math.round(performance.now() - started),
      })
      this.#stream<Wire.ExecuteScriptResponse>(method, request, context, signal, {
        onData,
        onOk: () => assembler.finish(),
        onSettled: (outcome) => {
          if (outcome.error === undefined) {
            log.debug(runFields(), 'script run complete')
            resolve(outcome.value as ScriptResult)
          } else {
            log.debug({ ...runFields(), errCode: outcome.error.code, grpcCode: outcome.error.grpcCode }, 'script run failed')
            reject(outcome.error)
          }
        },
        cancelledMessage: `${what} on Pixie at ${this.#address} was cancelled`,
      })
    })
  }

  /**
   * Opens the HealthCheck stream and resolves on the first answer with code 0.
   * A stream that ends with OK before answering also counts as healthy, since
   * a direct endpoint may answer that way. The stream is cancelled as soon as
   * the outcome is known.
   */
  healthCheck(options: HealthCheckOptions): Promise<void> {
    const { timeoutMs, signal } = options
    const what = 'health check'
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new TypeError(`healthCheck: timeoutMs must be a positive number, got ${timeoutMs}`))
    }
    if (signal?.aborted === true) {
      return Promise.reject(new PixieCancelledError(`${what} of Pixie at ${this.#address} cancelled before it started`))
    }
    const method = this.#method('HealthCheck')
    const context = { what, timeoutMs, aborted: false }
    const request: Wire.HealthCheckRequest = { cluster_id: this.#clusterId }

    return new Promise<void>((resolve, reject) => {
      this.#stream<Wire.HealthCheckResponse>(method, request, context, signal, {
        // Pixie keeps answering every few seconds; the first answer decides.
        onData: (response, fail, succeed) => {
          const status = response.status
          if (status === null || status === undefined || status.code === 0) {
            succeed(undefined)
            return
          }
          fail(
            status.code === grpc.status.UNAVAILABLE
              ? new PixieUnavailableError(`Pixie at ${this.#address} reports the cluster is not ready: ${status.message}`, status.code)
              : (inBandStatusError(status, this.#address) ?? new PixieQueryError(`Pixie at ${this.#address} failed the health check`, status.code)),
          )
        },
        // A direct endpoint may end the stream with OK before answering: healthy too.
        onOk: () => undefined,
        onSettled: (outcome) => {
          if (outcome.error === undefined) resolve()
          else {
            this.#log.debug({ errCode: outcome.error.code, grpcCode: outcome.error.grpcCode }, 'health check failed')
            reject(outcome.error)
          }
        },
        cancelledMessage: `${what} of Pixie at ${this.#address} was cancelled`,
      })
    })
  }

  /**
   * Runs one server-streaming call to its outcome, the one place that knows
   * grpc-js's event order: each response goes to `onData`, which may decide
   * the outcome early; otherwise the outcome is decided once both the final
   * status and the end of the readable side have arrived (grpc-js emits
   * 'status' as soon as the trailers arrive, possibly before buffered
   * responses such as an in-band compile error reached 'data'): OK gives
   * `onOk()`'s value, anything else the mapped status error. The call is
   * cancelled as soon as the outcome is known (after a failure the server
   * would only repeat it), and the error is scrubbed of the API key.
   */
  #stream<Response>(
    method: grpc.MethodDefinition<unknown, unknown>,
    request: unknown,
    context: { readonly what: string; readonly timeoutMs: number; aborted: boolean },
    signal: AbortSignal | undefined,
    handlers: {
      readonly onData: (response: Response, fail: (error: PixieError) => void, succeed: (value: unknown) => void) => void
      readonly onOk: () => unknown
      readonly onSettled: (outcome: { readonly error?: PixieError; readonly value?: unknown }) => void
      readonly cancelledMessage: string
    },
  ): void {
    let settled = false
    let finalStatus: grpc.StatusObject | undefined
    let ended = false
    const call = this.#grpc.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      this.#metadata(),
      { deadline: Date.now() + context.timeoutMs },
    )
    const decide = (outcome: { error?: PixieError; value?: unknown }): void => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      if (finalStatus === undefined) call.cancel()
      handlers.onSettled(outcome.error === undefined ? outcome : { error: this.#scrub(outcome.error) })
    }
    const fail = (error: PixieError): void => decide({ error })
    const succeed = (value: unknown): void => decide({ value })
    const onAbort = (): void => {
      context.aborted = true
      fail(new PixieCancelledError(handlers.cancelledMessage))
    }
    const maybeFinish = (): void => {
      if (settled || finalStatus === undefined || !ended) return
      if (finalStatus.code !== grpc.status.OK) {
        fail(this.#statusError(finalStatus.code, finalStatus.details, context))
        return
      }
      let value: unknown
      try {
        value = handlers.onOk()
      } catch (error) {
        fail(asPixieError(error))
        return
      }
      succeed(value)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    call.on('data', (response: Response) => {
      if (!settled) handlers.onData(response, fail, succeed)
    })
    call.on('status', (status: grpc.StatusObject) => {
      finalStatus = status
      maybeFinish()
    })
    call.on('end', () => {
      ended = true
      maybeFinish()
    })
    // grpc-js emits 'error' for every non-OK status; 'status' carries the same information.
    call.on('error', () => {})
  }

  /** Closes the channel; calls still running fail with UNAVAILABLE/CANCELLED. */
  close(): void {
    this.#grpc.close()
  }

  #method(name: 'ExecuteScript' | 'HealthCheck'): grpc.MethodDefinition<unknown, unknown> {
    const method = this.#service[name]
    if (method === undefined) throw new TypeError(`VizierService has no method ${name}`)
    return method
  }

  #metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata()
    metadata.set('pixie-api-client', this.#clientName)
    if (this.#apiKey !== undefined) metadata.set('pixie-api-key', this.#apiKey)
    return metadata
  }

  /**
   * Removes the API key from an error: its message, stack, compiler error
   * details and cause chain. Everything in an error can carry text from the
   * server (status messages, compiler errors, table names), which could echo
   * the key.
   */
  #scrub(error: PixieError): PixieError {
    return this.#apiKey === undefined ? error : scrubErrorWith(error, [this.#apiKey])
  }

  /** Removes the API key from text that came from the server, in case it echoes it. */
  #redact(text: string): string {
    return this.#apiKey === undefined ? text : scrubText(text, [this.#apiKey])
  }

  /** Maps a final gRPC status (no in-band failure seen) to the error to raise. */
  #statusError(code: number, rawDetails: string, context: CallContext): PixieError {
    // grpc-js ends UNAVAILABLE details with "Resolution note: <note>", an empty note included.
    const details = this.#redact(rawDetails).replace(/\.?\s*Resolution note:\s*$/, '')
    const where = `Pixie at ${this.#address}`
    // Only the redacted text is kept: the raw status may echo the key.
    const options = { cause: new Error(`gRPC status ${code} (${grpc.status[code] ?? 'unknown'}): ${details}`) }
    switch (code) {
      case grpc.status.UNAVAILABLE: {
        const hint = TLS_FAILURE.test(details)
          ? ' (the server certificate was not accepted: give the CA that signed it, or use tls skip-verify for a trusted in-cluster endpoint)'
          : ''
        return new PixieUnavailableError(`cannot reach ${where} for the ${context.what}: ${details}${hint}`, code, options)
      }
      case grpc.status.DEADLINE_EXCEEDED:
        return new PixieDeadlineError(
          `${context.what} on ${where} did not finish within ${context.timeoutMs / 1000}s (deadline exceeded)`,
          code,
          options,
        )
      case grpc.status.UNAUTHENTICATED:
      case grpc.status.PERMISSION_DENIED:
        return new PixieAuthError(
          `${where} refused the ${context.what} (${grpc.status[code]}): ${details}; check the API key and that it may use cluster ${this.#clusterId}`,
          code,
          options,
        )
      case grpc.status.CANCELLED:
        if (context.aborted) return new PixieCancelledError(`${context.what} on ${where} was cancelled`, code, options)
        break
      case grpc.status.INVALID_ARGUMENT:
        return new PixieQueryError(`${where} rejected the ${context.what} as invalid: ${details}`, code, options)
      case grpc.status.INTERNAL:
        if (details.includes(AUTH_MIDDLEWARE_FAILED)) {
          return new PixieAuthError(
            `${where} could not authenticate the ${context.what}: ${details}; check the API key`,
            code,
            options,
          )
        }
        if (TRANSIENT_INTERNAL.some((s) => details.includes(s))) {
          return new PixieUnavailableError(`the stream from ${where} broke during the ${context.what}: ${details}`, code, options)
        }
        break
    }
    return new PixieQueryError(
      `${where} failed the ${context.what} (${grpc.status[code] ?? `code ${code}`}): ${details}`,
      code,
      options,
    )
  }
}

function asPixieError(error: unknown): PixieError {
  if (error instanceof PixieError) return error
  // Anything else is a bug in decoding; keep it as the cause of a protocol error.
  return new PixieProtocolError(`unexpected failure while decoding the result: ${String(error)}`, undefined, {
    cause: error,
  })
}
