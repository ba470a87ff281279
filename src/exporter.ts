import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { Gauge, Registry } from 'prom-client'
import { buildApp } from './app.js'
import { readBuildInfo } from './build-info.js'
import { HttpCollector } from './collectors/http.js'
import type { Collector } from './collectors/collector.js'
import { LIBRARY } from './collectors/library/index.js'
import { PxlCollector } from './collectors/pxl.js'
import type { PxlCollectorSpec } from './collectors/pxl-spec.js'
import type { Config } from './config/types.js'
import { CONFIG_LAST_RELOAD_SUCCESSFUL, CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP } from './metrics/names.js'
import { createSelfMetrics } from './metrics/self-metrics.js'
import type { LandingInfo } from './server/landing-page.js'
import type { WebSecurity } from './server/web-config.js'
import { PixieClient } from './pixie/client.js'
import type { Secrets } from './secrets.js'
import type { PixieApi } from './pixie/types.js'
import { CollectorJob } from './scheduler/job.js'

/** Version of this package, read from package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version?: string }
  return pkg.version ?? 'unknown'
}

/** Dependencies that tests may replace; everything else is built from the config. */
export interface ExporterOptions {
  readonly config: Config
  readonly logger: Logger
  readonly now?: () => number
  /** A Pixie API implementation; default: a PixieClient built from config.pixie (rebuilt on reload). */
  readonly pixie?: PixieApi
  /** True when config.pixie points at the built-in simulator (the landing page and logs say so). */
  readonly simulated?: boolean
  /** TLS and basic auth for the HTTP server (from web.configFile). */
  readonly security?: WebSecurity
  /** Reads the configuration again (SIGHUP, POST /-/reload); throws ConfigError. Without it, reload is refused. */
  readonly loadConfig?: () => Config | Promise<Config>
  /** Secrets scrubbed from every page and exposition (the process's one {@link Secrets}); a reload adds its key. */
  readonly secrets?: Secrets
}

/** What a reload did. */
export type ReloadOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string }

/** A wired exporter: the HTTP app (not listening), its jobs, and its Pixie client. */
export interface Exporter {
  readonly app: FastifyInstance
  /** The current jobs (replaced by a reload). */
  readonly jobs: readonly CollectorJob[]
  /** The current registry (replaced by a reload). */
  readonly registry: Registry
  /** Starts every job (each runs once right away). */
  start(): void
  /**
   * Reads the configuration again and, if it is valid, replaces the Pixie
   * client, collectors and jobs; a bad configuration is rejected and the last
   * good one keeps running. `pixie_exporter_config_last_reload_successful`
   * says how the last attempt went. Counters restart from 0 (a reset for
   * Prometheus). web.* and log.level need a restart.
   */
  reload(): Promise<ReloadOutcome>
  /** Stops the jobs, closes the app and the Pixie channel. */
  close(): Promise<void>
}

/**
 * The specs of the PxL collectors the config enables: library collectors in
 * the order listed, then custom collectors in file order.
 *
 * @throws TypeError when a library collector is not available (the config
 *   only accepts names of LIBRARY, so this means the two disagree).
 */
export function pxlCollectorSpecs(config: Config): PxlCollectorSpec[] {
  const factories = LIBRARY as Readonly<Record<string, ((options: Config['collectors']['library'][number]) => PxlCollectorSpec) | undefined>>
  const library = config.collectors.library.map((options) => {
    const factory = factories[options.name]
    if (factory === undefined) throw new TypeError(`library collector ${options.name} is not available`)
    return factory(options)
  })
  return [...library, ...config.collectors.custom]
}

/** Outcome of reloads, shared by the registries of successive runtimes. */
interface ReloadState {
  successful: boolean
  lastSuccessSeconds: number
}

/** Everything built from one configuration. */
interface Runtime {
  readonly config: Config
  readonly pixie: PixieApi
  readonly registry: Registry
  readonly jobs: readonly CollectorJob[]
}

function buildRuntime(config: Config, options: ExporterOptions, now: () => number, reloads: ReloadState): Runtime {
  const { logger } = options
  const pixie =
    options.pixie ??
    new PixieClient({
      address: config.pixie.address,
      clusterId: config.pixie.clusterId,
      apiKey: config.pixie.apiKey,
      tls: config.pixie.tls,
      ca: config.pixie.caFile === undefined ? undefined : readFileSync(config.pixie.caFile),
      encryption: config.pixie.encryption,
      logger,
    })
  const registry = new Registry()
  const build = readBuildInfo()
  const metrics = createSelfMetrics(registry, { version: build.version, revision: build.revision, branch: build.branch })
  new Gauge({
    name: CONFIG_LAST_RELOAD_SUCCESSFUL,
    help: 'Whether the last configuration reload (SIGHUP or POST /-/reload) succeeded; 1 before any reload.',
    registers: [registry],
    collect() {
      this.set(reloads.successful ? 1 : 0)
    },
  })
  new Gauge({
    name: CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP,
    help: 'Unix time of the last successful configuration load (start or reload).',
    registers: [registry],
    collect() {
      this.set(reloads.lastSuccessSeconds)
    },
  })
  // The explicit list of collectors: the built-in HTTP collector, then the
  // enabled library collectors and the custom ones, all run by the PxL engine.
  // Each runs in its own job, so one that fails (e.g. a script that does not
  // compile) is down on its own and never disturbs the others.
  const collectors: Collector[] = [
    new HttpCollector({ pixie, registry, logger: logger.child({ collector: 'http' }), now, config: config.collectors.http }),
    ...pxlCollectorSpecs(config).map(
      (spec) =>
        new PxlCollector({ spec, pixie, registry, logger: logger.child({ collector: spec.name }), now, seriesDropped: metrics.seriesDropped }),
    ),
  ]
  const jobs = collectors.map((collector) => new CollectorJob({ collector, metrics, logger: logger.child({ component: 'scheduler' }), now }))
  return { config, pixie, registry, jobs }
}

const landingOf = (config: Config, simulated: boolean): LandingInfo => ({
  version: packageVersion(),
  pixieAddress: config.pixie.address,
  clusterId: config.pixie.clusterId,
  simulated,
})

/** Wires config → Pixie client → collectors → jobs → HTTP app. Never listens. */
export async function createExporter(options: ExporterOptions): Promise<Exporter> {
  const { logger } = options
  const now = options.now ?? Date.now
  const simulated = options.simulated ?? false
  const reloads: ReloadState = { successful: true, lastSuccessSeconds: now() / 1000 }
  let current = buildRuntime(options.config, options, now, reloads)
  let landing = landingOf(options.config, simulated)
  let started = false
  let reloading: Promise<ReloadOutcome> | undefined

  const reload = async (): Promise<ReloadOutcome> => {
    if (options.loadConfig === undefined) return { ok: false, error: 'reload is not available' }
    let next: Runtime
    try {
      const config = await options.loadConfig()
      options.secrets?.add(config.pixie.apiKey)
      next = buildRuntime(config, options, now, reloads)
    } catch (err) {
      reloads.successful = false
      logger.error({ err }, 'configuration reload failed; the last good configuration keeps running')
      return { ok: false, error: err instanceof Error ? err.message : String(err) }
    }
    const previous = current
    for (const key of ['web', 'log'] as const) {
      if (JSON.stringify(next.config[key]) !== JSON.stringify(previous.config[key])) {
        logger.warn({ section: key }, `configuration reload: changes to ${key}.* take effect after a restart`)
      }
    }
    current = next
    landing = landingOf(next.config, simulated)
    reloads.successful = true
    reloads.lastSuccessSeconds = now() / 1000
    if (started) for (const job of next.jobs) void job.start()
    await Promise.all(previous.jobs.map((job) => job.stop()))
    if (previous.pixie !== next.pixie) previous.pixie.close()
    logger.info('configuration reloaded')
    return { ok: true }
  }

  // One reload at a time (SIGHUP and POST /-/reload alike); a second request waits for the first.
  const reloadOnce = (): Promise<ReloadOutcome> => {
    reloading ??= reload().finally(() => {
      reloading = undefined
    })
    return reloading
  }

  const app = await buildApp({
    // Getters: the app reads the current runtime on every request, so a
    // reload swaps registry, jobs and landing facts at once.
    get registry() {
      return current.registry
    },
    get jobs() {
      return current.jobs
    },
    get landing() {
      // The simulator marks its answers: say "simulated" however we were started.
      return current.pixie.servedBySimulator === true && !landing.simulated ? { ...landing, simulated: true } : landing
    },
    logger,
    now,
    ...(options.security !== undefined && { security: options.security }),
    ...(options.secrets !== undefined && { secrets: options.secrets }),
    ...(options.loadConfig !== undefined && { reload: reloadOnce }),
  })
  return {
    app,
    get jobs() {
      return current.jobs
    },
    get registry() {
      return current.registry
    },
    start() {
      started = true
      for (const job of current.jobs) void job.start()
    },
    reload: reloadOnce,
    async close() {
      await app.close()
      current.pixie.close()
    },
  }
}
