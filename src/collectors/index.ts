/**
 * THE collector list. Every built-in collector is one module here, in
 * documentation order; the configuration schema (`collectors.*`), the names
 * the configuration accepts, the landing page and the docs checks all derive
 * from it. Adding a collector: its module file, one entry here, its test (see
 * docs/collectors.md, "Adding a collector").
 */
import { http } from './http-module.js'
import { dns } from './library/dns.js'
import { httpEndpoint } from './library/http-endpoint.js'
import { httpService } from './library/http-service.js'
import { mysql } from './library/mysql.js'
import { network } from './library/network.js'
import { redis } from './library/redis.js'
import { resources } from './library/resources.js'
import type { BuiltInModule, CollectorModule, LibraryModule } from './module.js'

/** Every collector module, in documentation order. */
export const COLLECTORS: readonly CollectorModule[] = Object.freeze([http, httpService, httpEndpoint, resources, network, dns, mysql, redis])

/** The modules that always run (`collectors.<name>`). */
export const BUILT_IN_COLLECTORS: readonly BuiltInModule<unknown>[] = COLLECTORS.filter((m): m is BuiltInModule<unknown> => m.kind === 'built-in')

/** The library modules (opt-in by name in `collectors.library`). */
export const LIBRARY_COLLECTORS: readonly LibraryModule[] = COLLECTORS.filter((m): m is LibraryModule => m.kind === 'library')

/** The library module named `name`, if any. */
export function libraryCollector(name: string): LibraryModule | undefined {
  return LIBRARY_COLLECTORS.find((m) => m.name === name)
}
