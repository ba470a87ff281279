/** The validated, frozen configuration. Produced only by loadConfig (src/config/load.ts). */
import type { LibraryCollectorOptions, PxlCollectorSpec } from '../collectors/pxl-spec.js'
import type { LogFormat, LogLevel } from '../log.js'
import type { TlsMode } from '../pixie/tls-modes.js'
import type { HttpCollectorConfig } from '../collectors/http-options.js'


export interface PixieConfig {
  /** `host:port` of Pixie Cloud (or a self-hosted cloud / in-cluster proxy). Default `work.withpixie.ai:443`. */
  readonly address: string
  /** The Vizier cluster's UUID, sent as `cluster_id`. */
  readonly clusterId: string
  /** API key sent as `pixie-api-key`. Secret: never logged or shown. */
  readonly apiKey: string | undefined
  /** Default `verify`. */
  readonly tls: TlsMode
  /** PEM file of the CA that signs Pixie's certificate (with tls `verify`). */
  readonly caFile: string | undefined
  /** Deadline of one script run, ms. Default 10s. */
  readonly timeoutMs: number
  /** Ask Pixie to encrypt result batches end to end (RSA-OAEP-256, A256GCM). Default false. */
  readonly encryption: boolean
  /**
   * The operator says that `address` is the pixie-exporter simulator, not a
   * Pixie: the landing page and every log line then say the data is
   * simulated. Default false. (The simulator speaks only Pixie's protocol,
   * so the exporter cannot tell by itself.)
   */
  readonly simulated: boolean
}

// The HTTP collector's resolved options live with the collector (src/collectors/http-options.ts).
export type { HttpCollectorConfig, NativeHistogramConfig } from '../collectors/http-options.js'


/**
 * A custom PxL collector from `collectors.custom`: a complete spec for the
 * engine (src/collectors/pxl.ts), defaults applied, the script read.
 */
export interface CustomCollectorConfig extends PxlCollectorSpec {
  /** The file the script was read from (`pxlFile`), if any. */
  readonly pxlFile: string | undefined
}

export interface WebConfig {
  /** `host:port`; default `0.0.0.0:10049`. */
  readonly listenAddress: string
  readonly host: string
  readonly port: number
  /** The web configuration file (TLS, basic auth) in the exporter-toolkit format; see src/server/web-config.ts. */
  readonly configFile: string | undefined
}

export interface Config {
  readonly pixie: PixieConfig
  readonly collectors: {
    readonly http: HttpCollectorConfig
    /** Custom PxL collectors, in file order. Default none. */
    readonly custom: readonly CustomCollectorConfig[]
    /** Enabled library collectors (`collectors.library` with `collectors.libraryOptions.<name>`), defaults applied, in the order listed. Default none. */
    readonly library: readonly LibraryCollectorOptions[]
  }
  readonly web: WebConfig
  readonly log: {
    /** Minimum level logged. Default `info`. */
    readonly level: LogLevel
    /** `json` (one JSON object a line, the default) or `logfmt` (`key=value` pairs). */
    readonly format: LogFormat
  }
}
