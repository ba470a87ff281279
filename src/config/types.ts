/** The validated, frozen configuration. Produced only by loadConfig (src/config/load.ts). */
import type { LibraryCollectorOptions, PxlCollectorSpec } from '../collectors/pxl-spec.js'
import type { LogFormat, LogLevel } from '../log.js'
import type { TlsMode } from '../pixie/tls-modes.js'
import type { CollectorSchedule } from '../scheduler/schedule.js'


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

export interface HttpCollectorConfig {
  readonly schedule: CollectorSchedule
  /** Window each run aggregates over, ms. Default 30s. */
  readonly windowMs: number
  /** Responses with status >= this are errors. Default 500. */
  readonly errorStatusMin: number
  readonly namespaces: { readonly include: readonly string[]; readonly exclude: readonly string[] }
  /** Drop the series this long after the last success; undefined: 3 intervals of the schedule. */
  readonly staleAfterMs: number | undefined
  /** Deadline of one run, ms; defaults to pixie.timeout. */
  readonly timeoutMs: number
  /** `#px:set max_output_rows_per_table` value. Default 100000. */
  readonly maxRows: number
  /** Counts stop this long before now, so Pixie's data has settled. Default 5s. */
  readonly lagMs: number
  /** After failed runs, the next success counts at most this far back; older time is skipped. Default 5m. */
  readonly maxCatchUpMs: number
  /** A pod's counter and histogram series are removed this long after it was last seen. Default 5m. */
  readonly expireAfterMs: number
  /** Upper bounds of the latency histogram buckets, seconds, strictly increasing (+Inf is implied). */
  readonly bucketsSeconds: readonly number[]
  /**
   * The metric families served (`collectors.http.metrics`). The loaded
   * configuration always has it (default: DEFAULT_HTTP_METRIC_FAMILIES in
   * schema.ts); absent (a collector built directly): all of them.
   */
  readonly metrics?: readonly string[]
  /**
   * Whether the latency histogram has `_sum` and `_count` series
   * (`collectors.http.histogramSumAndCount`; the loaded configuration always
   * has it, default false); absent: true.
   */
  readonly histogramSumAndCount?: boolean
  /** The latency histogram also as a native histogram (protobuf scrapes); absent: classic only. */
  readonly nativeHistogram?: NativeHistogramConfig
}

/** `collectors.http.nativeHistogram` when enabled. */
export interface NativeHistogramConfig {
  /** Exponential schema, 0..8 (8·… buckets per power of two: 2^schema). Default 3. */
  readonly schema: number
  /** Where the classic buckets go in protobuf scrapes. Default `separate`. */
  readonly classicBuckets: 'separate' | 'inline' | 'none'
}

/**
 * A custom PxL collector from `collectors.custom`: a complete spec for the
 * engine (src/collectors/pxl.ts), defaults applied, the script read.
 */
export interface CustomCollectorConfig extends PxlCollectorSpec {
  /** The file the script was read from (`pxlFile`), if any. */
  readonly pxlFile: string | undefined
}

/** An enabled library collector (`collectors.library` with `collectors.libraryOptions.<name>`), defaults applied. */
export type LibraryCollectorConfig = LibraryCollectorOptions

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
    /** Enabled library collectors, in the order listed. Default none. */
    readonly library: readonly LibraryCollectorConfig[]
  }
  readonly web: WebConfig
  readonly log: {
    /** Minimum level logged. Default `info`. */
    readonly level: LogLevel
    /** `json` (one JSON object a line, the default) or `logfmt` (`key=value` pairs). */
    readonly format: LogFormat
  }
}
