/**
 * The built-in PxL collector library: an explicit list of factories, each
 * turning {@link LibraryOptions} into a {@link PxlCollectorSpec} run by the
 * generic PxL engine. Collectors are opt-in by name in the config.
 * Reference: docs/collectors.md.
 */
import type { LibraryCollectorFactory, PxlCollectorSpec } from '../pxl-spec.js'
import { dnsCollector } from './dns.js'
import { httpEndpointCollector, type HttpEndpointOptions } from './http-endpoint.js'
import { httpServiceCollector } from './http-service.js'
import { mysqlCollector } from './mysql.js'
import { networkCollector } from './network.js'
import { resourcesCollector } from './resources.js'

export { LIBRARY_DEFAULTS, type LibraryOptions } from './options.js'
export type { HttpEndpointOptions } from './http-endpoint.js'

/** Names of the library collectors, in documentation order. */
export const LIBRARY_NAMES = ['http_service', 'http_endpoint', 'resources', 'network', 'dns', 'mysql'] as const

/** One of {@link LIBRARY_NAMES}. */
export type LibraryName = (typeof LIBRARY_NAMES)[number]

/**
 * A library factory. It accepts the configuration's resolved
 * `LibraryCollectorOptions` (src/collectors/pxl-spec.ts) and the optional
 * extras of {@link LibraryOptions} (namespaces, maxRows, errorStatusMin);
 * `routes` is read by `http_endpoint` only. @throws TypeError on invalid options.
 */
export type LibraryFactory = (options: HttpEndpointOptions) => PxlCollectorSpec

/** The library, by name. */
export const LIBRARY: Readonly<Record<LibraryName, LibraryFactory>> = Object.freeze({
  http_service: httpServiceCollector,
  http_endpoint: httpEndpointCollector,
  resources: resourcesCollector,
  network: networkCollector,
  dns: dnsCollector,
  mysql: mysqlCollector,
}) satisfies Readonly<Record<LibraryName, LibraryCollectorFactory>>
