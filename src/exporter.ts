import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { Registry } from 'prom-client'
import { buildApp } from './app.js'
import { HttpCollector } from './collectors/http.js'
import type { Collector } from './collectors/collector.js'
import { LIBRARY } from './collectors/library/index.js'
import { PxlCollector } from './collectors/pxl.js'
import type { PxlCollectorSpec } from './collectors/pxl-spec.js'
import type { Config } from './config/types.js'
import { createSelfMetrics } from './metrics/self-metrics.js'
import { PixieClient } from './pixie/client.js'
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
  /** A Pixie API implementation; default: a PixieClient built from config.pixie. */
  readonly pixie?: PixieApi
  /** True when config.pixie points at the built-in simulator (the landing page and logs say so). */
  readonly simulated?: boolean
}

/** A wired exporter: the HTTP app (not listening), its jobs, and its Pixie client. */
export interface Exporter {
  readonly app: FastifyInstance
  readonly jobs: readonly CollectorJob[]
  readonly registry: Registry
  /** Starts every job (each runs once right away). */
  start(): void
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

/** Wires config → Pixie client → collectors → jobs → HTTP app. Never listens. */
export async function createExporter(options: ExporterOptions): Promise<Exporter> {
  const { config, logger } = options
  const now = options.now ?? Date.now
  const pixie =
    options.pixie ??
    new PixieClient({
      address: config.pixie.address,
      clusterId: config.pixie.clusterId,
      apiKey: config.pixie.apiKey,
      tls: config.pixie.tls,
      ca: config.pixie.caFile === undefined ? undefined : readFileSync(config.pixie.caFile),
      logger: logger.child({ component: 'pixie' }),
    })
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: packageVersion() })
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
  const app = await buildApp({
    registry,
    jobs,
    logger,
    now,
    landing: {
      version: packageVersion(),
      pixieAddress: config.pixie.address,
      clusterId: config.pixie.clusterId,
      simulated: options.simulated ?? false,
    },
  })
  return {
    app,
    jobs,
    registry,
    start() {
      for (const job of jobs) void job.start()
    },
    async close() {
      await app.close()
      pixie.close()
    },
  }
}
