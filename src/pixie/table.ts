import { CollectorResultError } from '../errors.js'
import type { ColumnType, ColumnValues, PixieTable, ScriptResult } from './types.js'

type ValuesOf<T extends ColumnType> = Extract<ColumnValues, { type: T }>['values']

/** Returns the named table of a result, or throws CollectorResultError naming what was received. */
export function tableOf(result: ScriptResult, name: string): PixieTable {
  const table = result.tables.get(name)
  if (table === undefined) {
    const got = [...result.tables.keys()].map((n) => `"${n}"`).join(', ') || 'none'
    throw new CollectorResultError(`result has no table "${name}" (tables received: ${got})`)
  }
  return table
}

/** Returns the values of a column, checking its name and type; throws CollectorResultError otherwise. */
export function columnOf<T extends ColumnType>(table: PixieTable, name: string, type: T): ValuesOf<T> {
  const index = table.columns.findIndex((c) => c.name === name)
  const column = table.data[index]
  if (index < 0 || column === undefined) {
    throw new CollectorResultError(`table "${table.name}" has no column "${name}"`)
  }
  if (column.type !== type) {
    throw new CollectorResultError(`column "${name}" of table "${table.name}" is ${column.type}, expected ${type}`)
  }
  return column.values as ValuesOf<T>
}
