/**
 * A {@link PixieApi} that loads the gRPC client (@grpc/grpc-js and the
 * Vizier service definition) on its first call. The serving thread never
 * calls Pixie itself (the collectors' worker threads have their own
 * connections), so it never loads them: ~6 MiB less resident memory
 * (bench/memory.mjs). Only the in-process pipeline loads them, at its first
 * poll.
 */
import type { PixieClient, PixieClientOptions } from './client.js'
import type { ExecuteScriptOptions, PixieApi, ScriptResult } from './types.js'

/** See the file comment. */
export class LazyPixieClient implements PixieApi {
  readonly #options: PixieClientOptions
  #client: Promise<PixieClient> | undefined
  #closed = false

  constructor(options: PixieClientOptions) {
    this.#options = options
  }

  /** Whether the gRPC client was created (tests). */
  get loaded(): boolean {
    return this.#client !== undefined
  }

  #get(): Promise<PixieClient> {
    this.#client ??= import('./client.js').then(({ PixieClient }) => {
      const client = new PixieClient(this.#options)
      // Closed while loading: the channel is closed at once (calls then fail as on a closed client).
      if (this.#closed) client.close()
      return client
    })
    return this.#client
  }

  async executeScript(options: ExecuteScriptOptions): Promise<ScriptResult> {
    return (await this.#get()).executeScript(options)
  }

  async healthCheck(options: { readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<void> {
    return (await this.#get()).healthCheck(options)
  }

  close(): void {
    this.#closed = true
    void this.#client?.then((client) => client.close())
  }
}
