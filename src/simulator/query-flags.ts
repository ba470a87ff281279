/**
 * Pixie's query flags: script lines of exactly `#px:set <key>=<value>` (one
 * space, no spaces around `=`), which Pixie's query broker reads from any
 * script before compiling it (pixie-api.md §3.2). The simulator honours the
 * one that shapes results, `max_output_rows_per_table`, for every script, as
 * Pixie does; it is part of Pixie's protocol, not of our scripts.
 */

/** Pixie's default row limit per output table. */
export const DEFAULT_MAX_OUTPUT_ROWS = 10_000

const PREFIX = '#px:set '

/** The `#px:set` flags of a script, by key (the last one wins). */
export function queryFlags(script: string): Map<string, string> {
  const flags = new Map<string, string>()
  for (const line of script.split('\n')) {
    if (!line.startsWith(PREFIX)) continue
    const setting = line.slice(PREFIX.length).trimEnd()
    const eq = setting.indexOf('=')
    if (eq <= 0) continue
    flags.set(setting.slice(0, eq), setting.slice(eq + 1))
  }
  return flags
}

/** `max_output_rows_per_table` of a script, or Pixie's default when absent or not a positive integer. */
export function maxOutputRows(script: string): number {
  const text = queryFlags(script).get('max_output_rows_per_table')
  const value = text === undefined || !/^\d+$/.test(text) ? Number.NaN : Number(text)
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_MAX_OUTPUT_ROWS
}
