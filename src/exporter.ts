import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { Gauge, Registry } from 'prom-client'
import { buildApp, type ReloadOutcome } from './app.js'
import { readBuildInfo } from './build-info.js'
import { BufferReleaser } from './metrics/buffer-release.js'
import type { Collector } from './collectors/collector.js'
import { BUILT_IN_COLLECTORS, COLLECTORS, libraryCollector } from './collectors/index.js'
import type { CollectorDeps, LibraryModule } from './collectors/module.js'
import { pxlCollector } from './collectors/module.js'
import { PxlWorkerHost } from './collectors/pxl-host.js'
import type { PxlCollectorSpec } from './collectors/pxl-spec.js'
import type { Config } from './config/types.js'
import { prepareExposition } from './metrics/exposition.js'
import { CONFIG_LAST_RELOAD_SUCCESSFUL, CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP } from './metrics/names.js'
import { createSelfMetrics, type SelfMetrics } from './metrics/self-metrics.js'
import { monotonicNow, type MonotonicClock } from './clock.js'
import type { LandingInfo } from './server/landing-page.js'
import type { WebSecurity } from './server/web-config.js'
import { LazyPixieClient } from './pixie/lazy-client.js'
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
  /** Wall clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number
  /**
   * Monotonic clock, ms, for staleness and durations. Default:
   * `performance.now`, or `now` when only `now` is given (a test's single
   * fake clock).
   */
  readonly monotonic?: MonotonicClock
  /** A Pixie API implementation; default: a PixieClient built from config.pixie (rebuilt on reload). */
  readonly pixie?: PixieApi
  /** True when config.pixie points at the built-in simulator (the landing page and logs say so). */
  readonly simulated?: boolean
  /** TLS and basic auth for the HTTP server (from web.configFile). */
  readonly security?: WebSecurity
  /** Reads the configuration again (SIGHUP, POST /-/reload); throws ConfigError. Without it, reload is refused. */
  readonly loadConfig?: () => Config | Promise<Config>
  /**
   * Serve `POST /-/reload` (`--web.enable-lifecycle`, as Prometheus). Default
   * false: the route answers 403 and only SIGHUP (or {@link Exporter.reload}) reloads.
   */
  readonly enableLifecycle?: boolean
  /** Secrets scrubbed from every page and exposition (the process's one {@link Secrets}); a reload adds its key. */
  readonly secrets?: Secrets
  /**
   * Where the collectors poll and render: `worker` (the HTTP collector in a
   * worker thread, the PxL-engine collectors in another, each with its own
   * Pixie connection built from config.pixie) or `in-process`. Default:
   * `worker`, or `in-process` when `pixie` is given (a test's API
   * implementation cannot cross into a thread).
   */
  readonly httpPipeline?: 'worker' | 'in-process'
}

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
   * Reads the configuration again and, if it is valid, applies it; a bad
   * configuration is rejected and the last good one keeps running.
   * `pixie_exporter_config_last_reload_successful` says how the last attempt
   * went. A collector whose definition (and Pixie connection) did not change
   * keeps running untouched: its counters carry on. A changed collector gets
   * a new job, and its previous last good data (series, `/-/ready`,
   * `/error-rate`) is served until the new job's first success or until that
   * data is stale. web.* and log.level need a restart.
   */
  reload(): Promise<ReloadOutcome>
  /** Stops the jobs, closes the app and the Pixie channel. */
  close(): Promise<void>
}

/**
 * The enabled library collectors, in the order listed, with their modules.
 *
 * @throws TypeError when a library collector is not in the collector list
 *   (the config only accepts names from it, so this means the two disagree).
 */
function enabledLibraryCollectors(config: Config): { module: LibraryModule; options: Config['collectors']['library'][number] }[] {
  return config.collectors.library.map((options) => {
    const module = libraryCollector(options.name)
    if (module === undefined) throw new TypeError(`library collector ${options.name} is not available`)
    return { module, options }
  })
}

/**
 * After each publication, renders and compresses the collector's metrics on
 * the poll's time, not the next scrape's. Built out here, not inline in
 * buildRuntime: a closure created there would keep buildRuntime's scope (and
 * with it the previous runtime, and its previous one...) alive for as long as
 * the job lives.
 */
function preparing(registry: Registry, secrets: Secrets | undefined): () => void {
  return () => prepareExposition(registry, secrets)
}

/** Outcome of reloads, shared by the registries of successive runtimes. */
interface ReloadState {
  successful: boolean
  lastSuccessSeconds: number
}

/**
 * One collector with its job and its own registry (its metrics only). A
 * reload keeps a slot whose definition did not change, so its counters and
 * last good data carry on as if nothing happened.
 */
interface Slot {
  readonly name: string
  /** The collector's definition and the Pixie connection it uses; equal keys: the slot is kept. */
  readonly key: string
  readonly collector: Collector
  readonly job: CollectorJob
  readonly registry: Registry
  /**
   * The slot this one replaced (stopped, no longer queried): its last good
   * data is served until this slot's first success, or until that data is
   * stale, whichever comes first.
   */
  previous: Slot | undefined
}

/** Everything built from one configuration. */
interface Runtime {
  readonly config: Config
  readonly pixie: PixieApi
  /** JSON of config.pixie: collectors are kept across a reload only with the same connection. */
  readonly pixieKey: string
  readonly slots: readonly Slot[]
  /** The PxL-engine collectors' worker thread (shared by them), when they run off the serving thread. */
  readonly pxlHost: PxlWorkerHost | undefined
}

/** Metrics and clocks that live as long as the exporter, whatever the reloads. */
interface Shared {
  readonly options: ExporterOptions
  readonly now: () => number
  readonly monotonic: MonotonicClock
  /** Self-metrics, build info, process metrics and reload gauges: registered once. */
  readonly registry: Registry
  readonly metrics: SelfMetrics
  /** Frees replaced exposition buffers of worker runs once no /metrics response sends them. */
  readonly releaser: BufferReleaser
}

function createShared(options: ExporterOptions, now: () => number, monotonic: MonotonicClock, reloads: ReloadState): Shared {
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
  return { options, now, monotonic, registry, metrics, releaser: new BufferReleaser() }
}

/**
 * Builds the runtime of `config`. Collectors whose definition and Pixie
 * connection are unchanged from `previous` are kept (same job, same
 * counters); the others are new, each remembering the slot of the same name
 * it replaces. Nothing is started or stopped here.
 */
function buildRuntime(config: Config, shared: Shared, previous: Runtime | undefined): Runtime {
  const { options, now, monotonic, metrics } = shared
  const { logger } = options
  const pixieKey = JSON.stringify(config.pixie)
  const samePixie = previous !== undefined && previous.pixieKey === pixieKey
  // How to reach Pixie, built once (the CA file read once): the serving
  // thread's lazy client and the HTTP collector's worker both use it.
  const pixieConnection =
    options.pixie !== undefined
      ? undefined
      : {
          address: config.pixie.address,
          clusterId: config.pixie.clusterId,
          apiKey: config.pixie.apiKey,
          tls: config.pixie.tls,
          ca: config.pixie.caFile === undefined ? undefined : readFileSync(config.pixie.caFile),
          encryption: config.pixie.encryption,
        }
  const pixie = options.pixie ?? (samePixie ? previous.pixie : new LazyPixieClient({ ...pixieConnection!, logger }))
  const old = new Map((previous?.slots ?? []).map((slot) => [slot.name, slot]))
  /** Work started once the runtime is known to be valid (e.g. a collector's worker thread). */
  const onValid: (() => void)[] = []
  const pipeline = options.httpPipeline ?? (options.pixie === undefined ? 'worker' : 'in-process')
  // The PxL-engine collectors share one worker thread, kept across reloads with the same connection.
  const pxlHost =
    pipeline !== 'worker' || pixieConnection === undefined || config.collectors.library.length + config.collectors.custom.length === 0
      ? undefined
      : samePixie && previous.pxlHost !== undefined
        ? previous.pxlHost
        : new PxlWorkerHost({ pixie: pixieConnection, logger: logger.child({ component: 'pxl-worker' }) })
  const slot = (name: string, definition: unknown, make: (deps: CollectorDeps) => Collector): Slot => {
    const key = JSON.stringify([pixieKey, definition])
    const kept = old.get(name)
    if (kept !== undefined && kept.key === key) return kept
    const registry = new Registry()
    const collector = make({
      pixie,
      registry,
      logger: logger.child({ collector: name }),
      now,
      monotonic,
      seriesDropped: metrics.seriesDropped,
      pipeline,
      ...(pixieConnection !== undefined && { pixieConnection }),
      releaser: shared.releaser,
      ...(pxlHost !== undefined && { pxlHost }),
      whenValid: (start) => onValid.push(start),
    })
    const job = new CollectorJob({ collector, metrics, logger: logger.child({ component: 'scheduler' }), now, monotonic, onSuccess: preparing(registry, options.secrets) })
    return { name, key, collector, job, registry, previous: kept === undefined ? undefined : served(kept) }
  }
  // From the collector list: the built-in collectors, then the enabled
  // library collectors in the order listed, then the custom ones (run by the
  // PxL engine). Each runs in its own job, so one that fails (e.g. a script
  // that does not compile) is down on its own and never disturbs the others.
  // A library collector's key is its spec, so a reload keeps it when the spec is unchanged.
  const slots: Slot[] = [
    ...BUILT_IN_COLLECTORS.map((module) => {
      const moduleOptions = module.options(config)
      return slot(module.name, moduleOptions, (deps) => module.build(moduleOptions, deps))
    }),
    ...enabledLibraryCollectors(config).map(({ module, options: libraryOptions }) =>
      slot(module.name, module.spec(libraryOptions), (deps) => module.build(libraryOptions, deps)),
    ),
    ...config.collectors.custom.map((spec: PxlCollectorSpec) => slot(spec.name, spec, (deps) => pxlCollector(spec, deps))),
  ]
  // Fails here (and the reload with it) if two collectors export one name.
  Registry.merge([shared.registry, ...slots.map((s) => s.registry)])
  for (const start of onValid) start()
  return { config, pixie, pixieKey, slots, pxlHost }
}

/**
 * The slot whose data is served: a replaced slot's last good data until the
 * new one has succeeded once or that data is stale (then it is let go).
 */
function served(slot: Slot): Slot {
  const previous = slot.previous
  if (previous === undefined) return slot
  if (slot.collector.lastSuccessAt === undefined && previous.job.readiness().ready) return previous
  slot.previous = undefined
  return slot
}

// The operator says "simulated" (the demo command, or pixie.simulated in the config file).
const landingOf = (config: Config, simulated: boolean): LandingInfo => {
  const enabled = new Set([...BUILT_IN_COLLECTORS.map((m) => m.name), ...config.collectors.library.map((l) => l.name)])
  return {
    version: packageVersion(),
    pixieAddress: config.pixie.address,
    clusterId: config.pixie.clusterId,
    simulated: simulated || config.pixie.simulated,
    available: COLLECTORS.map((m) => ({ name: m.name, summary: m.summary, enabled: enabled.has(m.name), optIn: m.kind === 'library' })),
  }
}

/** Wires config → Pixie client → collectors → jobs → HTTP app. Never listens. */
export async function createExporter(options: ExporterOptions): Promise<Exporter> {
  const { logger } = options
  const now = options.now ?? Date.now
  const monotonic = options.monotonic ?? (options.now === undefined ? monotonicNow : options.now)
  const simulated = options.simulated ?? false
  const reloads: ReloadState = { successful: true, lastSuccessSeconds: now() / 1000 }
  const shared = createShared(options, now, monotonic, reloads)
  let current = buildRuntime(options.config, shared, undefined)
  let landing = landingOf(options.config, simulated)
  let started = false
  let reloading: Promise<ReloadOutcome> | undefined
  // The registry served: shared metrics plus the served slots' metrics,
  // merged again only when the set of served slots changes.
  let view: { readonly slots: readonly Slot[]; readonly registry: Registry } | undefined
  const servedSlots = (): Slot[] => current.slots.map(served)
  const registry = (): Registry => {
    const slots = servedSlots()
    if (view === undefined || view.slots.length !== slots.length || view.slots.some((s, i) => s !== slots[i])) {
      view = { slots, registry: Registry.merge([shared.registry, ...slots.map((s) => s.registry)]) }
    }
    return view.registry
  }
  const jobs = (): CollectorJob[] => servedSlots().map((s) => s.job)

  const reload = async (): Promise<ReloadOutcome> => {
    if (options.loadConfig === undefined) return { ok: false, error: 'reload is not available' }
    let next: Runtime
    try {
      const config = await options.loadConfig()
      options.secrets?.add(config.pixie.apiKey)
      next = buildRuntime(config, shared, current)
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
    const kept = new Set(next.slots)
    const retired = previous.slots.filter((s) => !kept.has(s))
    current = next
    landing = landingOf(next.config, simulated)
    reloads.successful = true
    reloads.lastSuccessSeconds = now() / 1000
    const names = new Set(next.slots.map((s) => s.name))
    for (const slot of retired) if (!names.has(slot.name)) shared.metrics.removeCollector(slot.name)
    if (started) for (const slot of next.slots) if (!previous.slots.includes(slot)) void slot.job.start()
    await Promise.all(retired.map(async (slot) => {
      await slot.job.stop()
      // Its published data stays served (as `previous`) until the new slot succeeds or it is stale.
      await slot.collector.close?.()
    }))
    if (previous.pixie !== next.pixie) previous.pixie.close()
    if (previous.pxlHost !== next.pxlHost) await previous.pxlHost?.close()
    logger.info(
      { kept: next.slots.filter((s) => previous.slots.includes(s)).map((s) => s.name), replaced: next.slots.filter((s) => s.previous !== undefined).map((s) => s.name) },
      'configuration reloaded',
    )
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
      return registry()
    },
    get jobs() {
      return jobs()
    },
    get landing() {
      return landing
    },
    logger,
    now,
    ...(options.security !== undefined && { security: options.security }),
    ...(options.secrets !== undefined && { secrets: options.secrets }),
    ...(options.loadConfig !== undefined && { reload: reloadOnce, lifecycle: options.enableLifecycle === true }),
    bufferReleaser: shared.releaser,
    protobufWanted() {
      for (const slot of current.slots) slot.collector.wantProtobuf?.()
    },
  })
  return {
    app,
    get jobs() {
      return jobs()
    },
    get registry() {
      return registry()
    },
    start() {
      started = true
      for (const slot of current.slots) void slot.job.start()
    },
    reload: reloadOnce,
    async close() {
      // The app stops the served jobs; new jobs still waiting for their first success too.
      await Promise.all(current.slots.map((s) => s.job.stop()))
      await app.close()
      await Promise.all(current.slots.flatMap((s) => [s.collector, ...(s.previous === undefined ? [] : [s.previous.collector])]).map((c) => c.close?.()))
      current.pixie.close()
      await current.pxlHost?.close()
    },
  }
}
