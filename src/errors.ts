/**
 * Every error the exporter raises on purpose is an {@link ExporterError} with a
 * stable `code` (documented in docs/errors.md; test/errors.test.ts keeps the two
 * in agreement). `name` is the class name so that pino's `err.type` shows it.
 */
export class ExporterError extends Error {
  /** Stable machine-readable code, e.g. `PXE_ERR_CONFIG_INVALID`. */
  readonly code: string

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** The configuration (file, environment or flags) is invalid. Lists every problem. */
export class ConfigError extends ExporterError {
  /** One line per problem, each naming the field and the reason. */
  readonly errors: readonly string[]

  constructor(errors: readonly string[], options?: ErrorOptions) {
    super('PXE_ERR_CONFIG_INVALID', `invalid configuration:\n  - ${errors.join('\n  - ')}`, options)
    this.errors = Object.freeze([...errors])
  }
}

/** A simulator scenario file is invalid. Lists every problem. */
export class ScenarioError extends ExporterError {
  readonly errors: readonly string[]

  constructor(errors: readonly string[], options?: ErrorOptions) {
    super('PXE_ERR_SCENARIO_INVALID', `invalid scenario:\n  - ${errors.join('\n  - ')}`, options)
    this.errors = Object.freeze([...errors])
  }
}

/** One compiler error reported by Pixie, with its position in the PxL script. */
export interface CompilerErrorDetail {
  readonly line: number
  readonly column: number
  readonly message: string
}

/** Base of every error raised while talking to Pixie. `grpcCode` is set when one was received. */
export class PixieError extends ExporterError {
  /** The gRPC status code of the failure (in-band or final), when there was one. */
  readonly grpcCode: number | undefined

  constructor(code: string, message: string, grpcCode?: number, options?: ErrorOptions) {
    super(code, message, options)
    this.grpcCode = grpcCode
  }
}

/** The PxL script did not compile. `compilerErrors` carry line and column. */
export class PixieCompileError extends PixieError {
  readonly compilerErrors: readonly CompilerErrorDetail[]

  constructor(compilerErrors: readonly CompilerErrorDetail[], grpcCode?: number, options?: ErrorOptions) {
    const lines = compilerErrors.map((e) => `${e.line}:${e.column} ${e.message}`)
    super('PXE_ERR_PIXIE_COMPILE', `PxL compilation failed: ${lines.join('; ')}`, grpcCode, options)
    this.compilerErrors = Object.freeze(compilerErrors.map((e) => Object.freeze({ ...e })))
  }
}

/** Pixie (cloud or Vizier) could not be reached or is not ready. Transient. */
export class PixieUnavailableError extends PixieError {
  constructor(message: string, grpcCode?: number, options?: ErrorOptions) {
    super('PXE_ERR_PIXIE_UNAVAILABLE', message, grpcCode, options)
  }
}

/** The run exceeded its deadline (our timeout or the server's). */
export class PixieDeadlineError extends PixieError {
  constructor(message: string, grpcCode?: number, options?: ErrorOptions) {
    super('PXE_ERR_PIXIE_DEADLINE', message, grpcCode, options)
  }
}

/** The API key was refused (or missing) or the key may not use the cluster. */
export class PixieAuthError extends PixieError {
  constructor(message: string, grpcCode?: number, options?: ErrorOptions) {
    super('PXE_ERR_PIXIE_AUTH', message, grpcCode, options)
  }
}

/** The stream broke the protocol: unknown table, data after eos, type mismatch, missing eos... */
export class PixieProtocolError extends PixieError {
  constructor(message: string, grpcCode?: number, options?: ErrorOptions) {
    super('PXE_ERR_PIXIE_PROTOCOL', message, grpcCode, options)
  }
}

/** The run was cancelled by the caller (shutdown). */
export class PixieCancelledError extends PixieError {
  constructor(message: string, grpcCode?: number, options?: ErrorOptions) {
    super('PXE_ERR_PIXIE_CANCELLED', message, grpcCode, options)
  }
}

/** Pixie reported any other failure of the script (in-band status or final gRPC status). */
export class PixieQueryError extends PixieError {
  constructor(message: string, grpcCode?: number, options?: ErrorOptions) {
    super('PXE_ERR_PIXIE_QUERY', message, grpcCode, options)
  }
}

/**
 * Pixie sent more rows in a table than the run's row cap (the script's
 * `max_output_rows_per_table`): the stream was cut off and the run failed.
 */
export class PixieResultTooLargeError extends PixieError {
  constructor(message: string, grpcCode?: number, options?: ErrorOptions) {
    super('PXE_ERR_PIXIE_RESULT_TOO_LARGE', message, grpcCode, options)
  }
}

/** A collector's result table does not have the shape the collector needs. */
export class CollectorResultError extends ExporterError {
  constructor(message: string, options?: ErrorOptions) {
    super('PXE_ERR_COLLECTOR_RESULT', message, options)
  }
}

/**
 * A collector's worker thread died during a run (an uncaught error, out of
 * memory): the run failed, the published data is untouched, and the next
 * run starts a new worker.
 */
export class CollectorWorkerError extends ExporterError {
  constructor(message: string, options?: ErrorOptions) {
    super('PXE_ERR_COLLECTOR_WORKER', message, options)
  }
}
