/**
 * The shape shared by the answerers of pixie-exporter's library scripts: one
 * function `<name>(include_namespaces: str, exclude_namespaces: str[,
 * error_status_min: int])` reading the plugin time range, one table.
 */
import { offsetMs } from '../http-pod-stats.js'
import type { LibraryQuery, LibraryRows } from '../library/tables.js'
import { intArg, regexArg, rowTable, SimCompileError, type Answerer, type FunctionSignature, type SimColumn } from './answerer.js'

/** Pixie's compile error for `px.plugin.*` without a plugin config (src/carnot/planner/objects/plugin.cc). */
export const NO_PLUGIN_CONFIG_MESSAGE = 'No plugin config found. Make sure the script is run in a plugin context.'

/** What differs between library answerers. */
export interface LibraryAnswererDefinition {
  /** `query_name` of the requests (`pixie-exporter/<collector>`). */
  readonly queryName: string
  /** The PxL function the request calls. */
  readonly funcName: string
  /** The function takes `error_status_min: int` (HTTP tables). */
  readonly errorStatus: boolean
  /** The relation of the returned table, as Pixie sends it. */
  readonly columns: readonly SimColumn[]
  readonly rows: (query: LibraryQuery) => LibraryRows
}

/** An answerer for one library script. */
export function libraryAnswerer(def: LibraryAnswererDefinition): Answerer {
  const signature: FunctionSignature = {
    name: def.funcName,
    params: [
      { name: 'include_namespaces', type: 'str' },
      { name: 'exclude_namespaces', type: 'str' },
      ...(def.errorStatus ? [{ name: 'error_status_min', type: 'int' as const }] : []),
    ],
  }
  return {
    queryName: def.queryName,
    functions: [signature],
    needsPluginTime: true,
    answer(calls, context) {
      const { plugin } = context
      if (plugin === undefined) throw new SimCompileError(NO_PLUGIN_CONFIG_MESSAGE)
      const tables = calls.map((call) => {
        const keepIn = regexArg(call, 'include_namespaces')
        const keepOut = regexArg(call, 'exclude_namespaces')
        const startMs = offsetMs(plugin.startNs, context.startedAt)
        const endMs = offsetMs(plugin.endNs, context.startedAt)
        const rows = def.rows({
          traffic: context.traffic,
          startMs,
          endMs,
          keepNamespace: (ns) => keepIn(ns) && !keepOut(ns),
          errorStatusMin: def.errorStatus ? Number(intArg(call, 'error_status_min')) : 0,
        })
        return { table: rowTable(call.outputTablePrefix, def.columns, rows.rows, context.maxRows), records: rows.recordsProcessed }
      })
      return {
        tables: tables.map((t) => t.table),
        recordsProcessed: tables.reduce((sum, t) => sum + t.records, 0),
        logFields: { rangeSeconds: Number(plugin.endNs - plugin.startNs) / 1e9 },
      }
    },
  }
}
