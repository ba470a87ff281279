/**
 * The built-in HTTP collector as a module of the collector list: always on,
 * configured at `collectors.http.*` (src/collectors/http-options.ts), built
 * as an {@link HttpCollector}. Its per-pod rates serve `/error-rate` through
 * the collector's `queries.podRates`.
 */
import type { HttpCollectorConfig } from './http-options.js'
import { HttpCollector } from './http.js'
import { WorkerHttpRunner } from './http-runner.js'
import { HTTP_DEFAULTS, httpOptionsSchema } from './http-options.js'
import type { BuiltInModule } from './module.js'

/** The `http` collector module. */
export const http: BuiltInModule<HttpCollectorConfig> = Object.freeze<BuiltInModule<HttpCollectorConfig>>({
  kind: 'built-in',
  name: 'http',
  summary: 'Inbound HTTP requests per pod: rates, error ratio and latency quantiles over the window; request counters by status class and a latency histogram.',
  optionsSchema: httpOptionsSchema(),
  defaults: HTTP_DEFAULTS,
  options: (config) => (config.collectors as { readonly http: HttpCollectorConfig }).http,
  build: (config, deps) => {
    // The poll pipeline runs in a worker thread with its own Pixie connection
    // when the exporter has one to give; otherwise (a Pixie API passed in) on this thread.
    const runner =
      deps.pipeline === 'worker' && deps.pixieConnection !== undefined
        ? new WorkerHttpRunner({ config, logger: deps.logger, pixie: deps.pixieConnection })
        : undefined
    if (runner !== undefined) deps.whenValid?.(() => runner.warmUp())
    return new HttpCollector({
      pixie: deps.pixie,
      registry: deps.registry,
      logger: deps.logger,
      now: deps.now,
      monotonic: deps.monotonic,
      config,
      ...(runner !== undefined && { runner, ...(deps.releaser !== undefined && { releaser: deps.releaser }) }),
    })
  },
})
