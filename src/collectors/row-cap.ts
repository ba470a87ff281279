/**
 * The hard cap on rows a run consumes. Scripts ask Pixie for at most N rows
 * per output table (`#px:set max_output_rows_per_table=N`, Pixie's default
 * 10,000); a Pixie or proxy that ignores the pragma must not grow the
 * exporter's memory without bound. The PixieClient cuts such a stream as
 * soon as a table passes the cap and fails the run with
 * PixieResultTooLargeError (nothing of it is published); {@link checkRowCap}
 * applies the same rule to results from any other PixieApi.
 */
import { rowCapError } from '../pixie/decode.js'
import type { ScriptResult } from '../pixie/types.js'

/** Pixie's row limit per output table when a script sets none (pixie-api.md §3). */
export const PIXIE_DEFAULT_MAX_ROWS = 10_000

const PRAGMA = /^#px:set max_output_rows_per_table=(\d+)$/m

/** The per-table row limit a script asks Pixie for: its pragma, else Pixie's default. */
export function scriptRowCap(script: string): number {
  const value = Number(PRAGMA.exec(script)?.[1])
  return Number.isSafeInteger(value) && value > 0 ? value : PIXIE_DEFAULT_MAX_ROWS
}

/** Throws PixieResultTooLargeError when a table of `result` holds more than `maxRowsPerTable` rows. */
export function checkRowCap(result: ScriptResult, maxRowsPerTable: number): void {
  for (const table of result.tables.values()) {
    if (table.numRows > maxRowsPerTable) throw rowCapError(table.name, table.numRows, maxRowsPerTable)
  }
}
