/**
 * The built-in HTTP collector as a module of the collector list: always on,
 * configured at `collectors.http.*` (src/collectors/http-options.ts), built
 * as an {@link HttpCollector}. Its per-pod rates serve `/error-rate` through
 * the collector's `queries.podRates`.
 */
import type { HttpCollectorConfig } from '../config/types.js'
import { HttpCollector } from './http.js'
import { HTTP_DEFAULTS, httpOptionsSchema } from './http-options.js'
import type { BuiltInModule } from './module.js'

/** The `http` collector module. */
export const http: BuiltInModule<HttpCollectorConfig> = Object.freeze<BuiltInModule<HttpCollectorConfig>>({
  kind: 'built-in',
  name: 'http',
  summary: 'Inbound HTTP requests per pod: rates, error ratio and latency quantiles over the window; request counters by status class and a latency histogram.',
  optionsSchema: httpOptionsSchema(),
  defaults: HTTP_DEFAULTS,
  options: (config) => config.collectors.http,
  build: (config, deps) =>
    new HttpCollector({ pixie: deps.pixie, registry: deps.registry, logger: deps.logger, now: deps.now, monotonic: deps.monotonic, config }),
})
