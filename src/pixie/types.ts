/**
 * The exporter's view of Pixie: decoded result tables and the small API that
 * collectors depend on. {@link PixieClient} implements it over gRPC; tests may
 * pass any other implementation.
 */

/** Column types of Pixie's `DataType` enum that carry data. */
export type ColumnType = 'BOOLEAN' | 'INT64' | 'UINT128' | 'FLOAT64' | 'STRING' | 'TIME64NS'

/**
 * The values of one column. INT64 and TIME64NS are exact `bigint`s; UINT128 is
 * the UUID-style string (`00000012-0019-ad2d-0000-00000213e7e5`); STRING is
 * UTF-8 decoded with invalid bytes replaced by U+FFFD.
 */
export type ColumnValues =
  | { readonly type: 'BOOLEAN'; readonly values: boolean[] }
  | { readonly type: 'INT64'; readonly values: bigint[] }
  | { readonly type: 'TIME64NS'; readonly values: bigint[] }
  | { readonly type: 'UINT128'; readonly values: string[] }
  | { readonly type: 'FLOAT64'; readonly values: number[] }
  | { readonly type: 'STRING'; readonly values: string[] }

/** One column of a table's relation (from the table's `meta_data`). */
export interface ColumnInfo {
  readonly name: string
  readonly type: ColumnType
  /** Pixie's `SemanticType` number (e.g. 901 = ST_DURATION_NS). */
  readonly semanticType: number
}

/** A complete result table: every batch up to and including `eos`, columnar. */
export interface PixieTable {
  /** Table id from the metadata (a UUID chosen by Pixie per run). */
  readonly id: string
  /** The `px.display` name. */
  readonly name: string
  readonly columns: readonly ColumnInfo[]
  /** One entry per column, in the order of `columns`. */
  readonly data: readonly ColumnValues[]
  readonly numRows: number
}

/** Execution statistics sent by Pixie at the end of a run. */
export interface QueryStats {
  readonly executionTimeNs: bigint
  readonly compilationTimeNs: bigint
  readonly bytesProcessed: bigint
  readonly recordsProcessed: bigint
}

/** The result of one successful run: every table complete. */
export interface ScriptResult {
  readonly queryId: string
  /** Tables by their display name. */
  readonly tables: ReadonlyMap<string, PixieTable>
  readonly stats: QueryStats | undefined
}

/**
 * One PxL function for Pixie to call (`ExecuteScriptRequest.exec_funcs`): Pixie
 * compiles the script, calls `funcName` with the arguments (always strings;
 * the compiler parses each into the parameter's annotated type) and sends the
 * DataFrame it returns as the table named `outputTablePrefix` (a returned list
 * of DataFrames becomes `prefix[0]`, `prefix[1]`, ...).
 */
export interface FuncToExecute {
  readonly funcName: string
  readonly argValues: readonly { readonly name: string; readonly value: string }[]
  readonly outputTablePrefix: string
}

/** Options of one `ExecuteScript` run. */
export interface ExecuteScriptOptions {
  /** PxL source. */
  readonly script: string
  /** Sent as `query_name`; labels Vizier's own query metrics. */
  readonly queryName?: string
  /**
   * Sent as `exec_funcs`: the script's functions to call, with their
   * parameters. With exec_funcs, top-level `px.display` calls are not run and
   * the result tables are named by each function's `outputTablePrefix`.
   */
  readonly execFuncs?: readonly FuncToExecute[]
  /** Deadline of the whole run, in milliseconds. */
  readonly timeoutMs: number
  /** Aborts the run (the client cancels the call and rejects with PixieCancelledError). */
  readonly signal?: AbortSignal
  /** Sent as `configs.plugin_config`, making `px.plugin.start_time/end_time` available. */
  readonly pluginTime?: { readonly startNs: bigint; readonly endNs: bigint }
  /**
   * Hard cap on the rows of each result table (the script's
   * `max_output_rows_per_table`): once a table passes it the stream is
   * cancelled and the run rejects with PixieResultTooLargeError, so a Pixie
   * that ignores the pragma cannot grow memory without bound. Default: no cap.
   */
  readonly maxRowsPerTable?: number
}

/** What collectors need from Pixie. */
export interface PixieApi {
  /** Runs a script to completion; rejects with a PixieError subclass on any failure. */
  executeScript(options: ExecuteScriptOptions): Promise<ScriptResult>
  /** Resolves when the first HealthCheck answer is OK; rejects with a PixieError otherwise. */
  healthCheck(options: { readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<void>
  /** Closes the underlying channel. */
  close(): void
}
