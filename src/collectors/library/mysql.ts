/**
 * Library collector `mysql`: MySQL requests per pod and role from Pixie's
 * `mysql_events` table. A request is an error when `resp_status` is 3, the
 * `kErr` value of Stirling's `RespStatus` enum (kUnknown 0, kNone 1, kOK 2,
 * kErr 3): the server answered with an ERR packet.
 */
import { libraryModule, type LibraryModule } from '../module.js'
import type { PxlCollectorSpec } from '../pxl-spec.js'
import type { LibraryOptions } from './options.js'
import { protocolCollector, protocolScript, type ProtocolDefinition } from './protocol.js'

/** Name of the collector (its query_name is `pixie-exporter/<name>`). */
export const MYSQL = 'mysql'
/** `px.display` name of its table. */
export const MYSQL_TABLE = 'mysql_pod_stats'
/** Stirling's `protocols::mysql::RespStatus::kErr`. */
export const MYSQL_RESP_STATUS_ERR = 3

const DEFINITION: ProtocolDefinition = {
  name: MYSQL,
  source: 'mysql_events',
  table: MYSQL_TABLE,
  failure: `df.resp_status == ${MYSQL_RESP_STATUS_ERR}`,
  failureNote: 'An error is a response with status ERR (resp_status 3, RespStatus::kErr in Stirling).',
  title: 'MySQL',
  errorHelp: 'answered with an ERR packet',
}

/** The PxL of the collector. */
export function mysqlScript(options: LibraryOptions): string {
  return protocolScript(DEFINITION, options)
}

/** Builds the `mysql` collector. @throws TypeError on invalid options. */
export function mysqlCollector(options: LibraryOptions): PxlCollectorSpec {
  return protocolCollector(DEFINITION, options)
}

/** This collector as a module of the collector list (src/collectors/index.ts). */
export const mysql: LibraryModule = libraryModule({
  name: MYSQL,
  summary: 'MySQL requests per namespace, pod and role: requests, errors and latency sum (counters).',
  spec: mysqlCollector,
})
