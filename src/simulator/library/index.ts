/**
 * How the simulator answers scripts other than the built-in HTTP script:
 * a scenario's custom tables (any script starting with a table's `match`),
 * then the built-in library scripts (src/collectors/library/), recognised by
 * their marker line. Library scripts read their range from the plugin config
 * of the request, as Pixie's `px.plugin.start_time` / `end_time`.
 */
import { DNS } from '../../collectors/library/dns.js'
import { HTTP_ENDPOINT } from '../../collectors/library/http-endpoint.js'
import { HTTP_SERVICE } from '../../collectors/library/http-service.js'
import { MYSQL } from '../../collectors/library/mysql.js'
import { NETWORK } from '../../collectors/library/network.js'
import { LIBRARY_DEFAULTS, parseLibraryScript } from '../../collectors/library/options.js'
import { RESOURCES } from '../../collectors/library/resources.js'
import { simulateRedis } from './redis.js'
import type { Wire } from '../../pixie/proto.js'
import { offsetMs } from '../http-pod-stats.js'
import type { Scenario } from '../scenario.js'
import type { PodTraffic } from '../traffic.js'
import {
  simulateDns,
  simulateHttpEndpoint,
  simulateHttpService,
  simulateMysql,
  simulateNetwork,
  simulateResources,
  type LibraryQuery,
  type SimulatedTable,
} from './tables.js'

export type { SimulatedTable } from './tables.js'

/** Pixie's compile error for `px.plugin.*` without a plugin config (src/carnot/planner/objects/plugin.cc). */
export const NO_PLUGIN_CONFIG_MESSAGE = 'No plugin config found. Make sure the script is run in a plugin context.'

const SIMULATE: Readonly<Record<string, (q: LibraryQuery) => SimulatedTable>> = {
  [HTTP_SERVICE]: simulateHttpService,
  [HTTP_ENDPOINT]: simulateHttpEndpoint,
  [RESOURCES]: simulateResources,
  [NETWORK]: simulateNetwork,
  [DNS]: simulateDns,
  [MYSQL]: simulateMysql,
  redis: simulateRedis,
}

/** The answer to a script: a table (with the script's name for the logs), or a compile error. */
export type ScriptAnswer =
  | { readonly kind: 'table'; readonly script: string; readonly table: SimulatedTable; readonly rangeSeconds?: number }
  | { readonly kind: 'compile-error'; readonly line: number; readonly column: number; readonly message: string }

/** Where `px.plugin.start_time` first appears (1-based), for the compile error. */
function pluginUse(script: string): { line: number; column: number } {
  const lines = script.split('\n')
  const index = lines.findIndex((l) => l.includes('px.plugin.'))
  return index < 0 ? { line: 1, column: 1 } : { line: index + 1, column: (lines[index] ?? '').indexOf('px.plugin.') + 1 }
}

/**
 * Answers a custom or library script, or returns undefined when the script is
 * neither (the caller then tries the built-in HTTP script).
 */
export function answerScript(
  request: Pick<Wire.ExecuteScriptRequest, 'query_str' | 'configs'>,
  context: { readonly scenario: Scenario; readonly traffic: readonly PodTraffic[]; readonly startedAt: number },
): ScriptAnswer | undefined {
  const script = request.query_str
  const custom = context.scenario.customTables.find((t) => script.startsWith(t.match))
  if (custom !== undefined) {
    return {
      kind: 'table',
      script: `custom:${custom.table}`,
      table: { name: custom.table, columns: custom.columns, rows: custom.rows, truncated: 0, recordsProcessed: custom.rows.length },
    }
  }
  for (const [name, simulate] of Object.entries(SIMULATE)) {
    const parsed = parseLibraryScript(script, name)
    if (parsed === undefined) continue
    const plugin = request.configs?.plugin_config
    if (plugin === null || plugin === undefined) return { kind: 'compile-error', ...pluginUse(script), message: NO_PLUGIN_CONFIG_MESSAGE }
    const startMs = offsetMs(BigInt(plugin.start_time_ns), context.startedAt)
    const endMs = offsetMs(BigInt(plugin.end_time_ns), context.startedAt)
    const threshold = /^df\.failure = df\.resp_status >= (\d+)$/m.exec(script)?.[1]
    const table = simulate({
      traffic: context.traffic,
      startMs,
      endMs,
      include: parsed.include,
      exclude: parsed.exclude,
      maxRows: parsed.maxRows,
      errorStatusMin: threshold === undefined ? LIBRARY_DEFAULTS.errorStatusMin : Number(threshold),
    })
    return { kind: 'table', script: `library/${name}`, table, rangeSeconds: (endMs - startMs) / 1_000 }
  }
  return undefined
}

function column(type: string, values: readonly (string | number | boolean)[]): Wire.Column {
  switch (type) {
    case 'STRING':
      return { string_data: { data: values.map((v) => Buffer.from(String(v))) } }
    case 'FLOAT64':
      return { float64_data: { data: values.map(Number) } }
    case 'BOOLEAN':
      return { boolean_data: { data: values.map((v) => v === true) } }
    case 'TIME64NS':
      return { time64ns_data: { data: values.map((v) => String(v)) } }
    default:
      return { int64_data: { data: values.map((v) => String(v)) } }
  }
}

/** The columns of rows [from, to) of a simulated table, in relation order. */
export function tableColumns(table: SimulatedTable, from: number, to: number): Wire.Column[] {
  const rows = table.rows.slice(from, to)
  return table.columns.map((c, i) => column(c.type, rows.map((r) => r[i] ?? '')))
}
