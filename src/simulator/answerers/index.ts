/**
 * Every query the simulator answers, one module each, in one explicit list.
 * To simulate a new script: write its answerer (its functions, the relation
 * of each table and the rows from the scenario model) and add it here.
 */
import type { Answerer } from './answerer.js'
import { DNS_ANSWERER } from './dns.js'
import { HTTP_ENDPOINT_ANSWERER } from './http-endpoint.js'
import { HTTP_POD_STATS_ANSWERER } from './http-pod-stats.js'
import { HTTP_SERVICE_ANSWERER } from './http-service.js'
import { MYSQL_ANSWERER } from './mysql.js'
import { NETWORK_ANSWERER } from './network.js'
import { RESOURCES_ANSWERER } from './resources.js'

export * from './answerer.js'

/** The answerers, by nothing but their `query_name` (unique). */
export const ANSWERERS: readonly Answerer[] = [
  HTTP_POD_STATS_ANSWERER,
  HTTP_SERVICE_ANSWERER,
  HTTP_ENDPOINT_ANSWERER,
  RESOURCES_ANSWERER,
  NETWORK_ANSWERER,
  DNS_ANSWERER,
  MYSQL_ANSWERER,
]

/** The answerer of `queryName`, if any. */
export function answererFor(queryName: string, answerers: readonly Answerer[] = ANSWERERS): Answerer | undefined {
  return answerers.find((a) => a.queryName === queryName)
}
