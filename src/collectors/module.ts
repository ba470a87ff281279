/**
 * The collector module contract. Every built-in collector is one module: an
 * object stating its name, a one-line summary, its options schema (a JSON
 * Schema fragment for Ajv, with defaults and ranges), those defaults, and a
 * `build` function turning resolved options and dependencies into a
 * {@link Collector}. The explicit list of modules (./index.ts, `COLLECTORS`)
 * drives the configuration schema, the names the configuration accepts, the
 * docs checks and the landing page: adding a module to the list is all the
 * wiring a collector needs.
 *
 * Two kinds:
 * - `built-in`: always runs, configured at `collectors.<name>` (the HTTP
 *   collector, `collectors.http`);
 * - `library`: a PxL spec run by the generic engine (./pxl.ts), opt-in by
 *   name in `collectors.library`, configured at
 *   `collectors.libraryOptions.<name>`.
 */
import type { SchemaObject } from 'ajv'
import type { Counter, Registry } from 'prom-client'
import type { Logger } from 'pino'
import type { PixieApi } from '../pixie/types.js'
import type { BufferReleaser } from '../metrics/buffer-release.js'
import type { WorkerPixieOptions } from './worker-wire.js'
import type { Collector } from './collector.js'
import { PxlCollector } from './pxl.js'
import { WorkerPxlCollector, type PxlWorkerHost } from './pxl-host.js'
import type { LibraryOptions } from './library/options.js'
import type { PxlCollectorSpec } from './pxl-spec.js'
import { PXL_DEFAULTS, pxlSettingsSchema } from './options-schema.js'

/** What every collector gets to run: passed in, never global. */
/**
 * The part of the loaded configuration a built-in module reads its options
 * from (`collectors.<name>`); the configuration's own types stay in
 * src/config, which imports the collectors, never the other way round.
 */
export interface LoadedConfig {
  readonly collectors: object
}

export interface CollectorDeps {
  readonly pixie: PixieApi
  /** The collector's own registry (its metrics only). */
  readonly registry: Registry
  /** Already scoped to the collector (`{ collector: <name> }`). */
  readonly logger: Logger
  /** Wall clock, ms since the epoch. */
  readonly now: () => number
  /** Monotonic clock, ms: staleness, expiry, range lengths. */
  readonly monotonic: () => number
  /** `pixie_exporter_series_dropped_total` (from createSelfMetrics). */
  readonly seriesDropped: Counter<'collector'>
  /**
   * Where a collector that can poll off the serving thread runs its pipeline
   * (the HTTP collector: a worker thread with its own Pixie connection).
   * Default 'in-process'. 'worker' needs {@link pixieConnection}.
   */
  readonly pipeline?: 'worker' | 'in-process'
  /** The Pixie connection settings, for a worker's own client; absent when the exporter was given a Pixie API (tests). */
  readonly pixieConnection?: WorkerPixieOptions
  /** Frees a replaced run's buffers once no response sends them any more (shared by the exporter). */
  readonly releaser?: BufferReleaser
  /**
   * The worker thread of the PxL-engine collectors (library and custom),
   * shared by all of them; absent: they run on the serving thread (tests, a
   * Pixie API passed in).
   */
  readonly pxlHost?: PxlWorkerHost
  /** Registers work to start once the configuration is known to be valid (e.g. a worker thread). */
  readonly whenValid?: (start: () => void) => void
}

/** What all modules state. */
interface ModuleBase {
  /** The collector's name: its config key, the `collector` label of the self-metrics; `[a-z][a-z0-9_]*`. */
  readonly name: string
  /** One sentence for the landing page and the docs table: what it exports, per what. */
  readonly summary: string
  /** Its options as a JSON Schema fragment (Ajv), with defaults and ranges. */
  readonly optionsSchema: SchemaObject
  /** The defaults of its options, as written in the file. */
  readonly defaults: Readonly<Record<string, unknown>>
}

/** A collector that always runs, configured at `collectors.<name>`. */
export interface BuiltInModule<Options> extends ModuleBase {
  readonly kind: 'built-in'
  /** Its resolved options in a loaded configuration. */
  options(config: LoadedConfig): Options
  build(options: Options, deps: CollectorDeps): Collector
}

/** A library collector: opt-in by name, a PxL spec run by the generic engine. */
export interface LibraryModule extends ModuleBase {
  readonly kind: 'library'
  /** Whether it has a label with the `route` transform (then it takes `routes` settings). */
  readonly takesRoutes: boolean
  /** Its spec: script, table, labels and metrics. @throws TypeError on invalid options. */
  spec(options: LibraryOptions): PxlCollectorSpec
  build(options: LibraryOptions, deps: CollectorDeps): Collector
}

/**
 * One entry of the collector list. A built-in module is only ever called
 * with what its own `options(config)` returned, so its option type is opaque here.
 */
export type CollectorModule = BuiltInModule<unknown> | LibraryModule

/** What a library collector file states; {@link libraryModule} adds the rest. */
export interface LibraryModuleDefinition {
  readonly name: string
  readonly summary: string
  /** Default false. */
  readonly takesRoutes?: boolean
  readonly spec: (options: LibraryOptions) => PxlCollectorSpec
}

/**
 * A library module: the shared PxL settings schema and defaults, built by the
 * generic PxL engine.
 */
export function libraryModule(definition: LibraryModuleDefinition): LibraryModule {
  const { name, summary, spec } = definition
  return Object.freeze({
    kind: 'library',
    name,
    summary,
    takesRoutes: definition.takesRoutes ?? false,
    optionsSchema: { type: 'object', additionalProperties: false, properties: pxlSettingsSchema() },
    defaults: PXL_DEFAULTS,
    spec,
    build: (options: LibraryOptions, deps: CollectorDeps) => pxlCollector(spec(options), deps),
  })
}

/**
 * A PxL-engine collector for `spec` (library or custom): in the shared
 * worker thread when the exporter gives one ({@link CollectorDeps.pxlHost}),
 * else on this thread.
 *
 * @throws TypeError when the spec is invalid (see checkPxlSpec).
 */
export function pxlCollector(spec: PxlCollectorSpec, deps: CollectorDeps): Collector {
  const host = deps.pxlHost
  if (host === undefined) return new PxlCollector({ spec, ...deps })
  const collector = new WorkerPxlCollector({
    spec,
    host,
    registry: deps.registry,
    now: deps.now,
    monotonic: deps.monotonic,
    seriesDropped: deps.seriesDropped,
    ...(deps.releaser !== undefined && { releaser: deps.releaser }),
  })
  deps.whenValid?.(() => host.warmUp())
  return collector
}
