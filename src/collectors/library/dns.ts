/**
 * Library collector `dns`: DNS requests per pod and role from Pixie's
 * `dns_events` table. A request is an error when the response code is not
 * NOERROR: `rcode` of the `resp_header` JSON (which Stirling writes with the
 * keys txid, qr, opcode, aa, tc, rd, ra, ad, cd, rcode, num_queries, ...) is
 * not 0. `px.pluck_int64` returns 0 for a missing or unparsable header, so
 * such records count as successes.
 */
import { libraryModule, type LibraryModule } from '../module.js'
import type { PxlCollectorSpec } from '../pxl-spec.js'
import type { LibraryOptions } from './options.js'
import { protocolCollector, protocolScript, type ProtocolDefinition } from './protocol.js'

/** Name of the collector (its query_name is `pixie-exporter/<name>`). */
export const DNS = 'dns'
/** `px.display` name of its table. */
export const DNS_TABLE = 'dns_pod_stats'

const DEFINITION: ProtocolDefinition = {
  name: DNS,
  source: 'dns_events',
  table: DNS_TABLE,
  failure: "px.pluck_int64(df.resp_header, 'rcode') != 0",
  failureNote: 'An error is a response code other than NOERROR (rcode 0), e.g. NXDOMAIN (3) or SERVFAIL (2).',
  title: 'DNS',
  errorHelp: 'response code other than NOERROR',
}

/** The PxL of the collector. */
export function dnsScript(options: LibraryOptions): string {
  return protocolScript(DEFINITION, options)
}

/** Builds the `dns` collector. @throws TypeError on invalid options. */
export function dnsCollector(options: LibraryOptions): PxlCollectorSpec {
  return protocolCollector(DEFINITION, options)
}

/** This collector as a module of the collector list (src/collectors/index.ts). */
export const dns: LibraryModule = libraryModule({
  name: DNS,
  summary: 'DNS requests per namespace, pod and role: requests, errors and latency sum (counters).',
  spec: dnsCollector,
})
