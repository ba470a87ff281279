/**
 * Coded errors of the `analyze` command (rows in docs/errors.md). They extend
 * {@link ExporterError} so that `code` and `name` behave like every other
 * error of the exporter.
 */
import { ExporterError } from '../errors.js'

/**
 * A condition could not be parsed or evaluated: a syntax error, a form this
 * evaluator does not support (named in the message), an index out of range,
 * a type mismatch, or a non-boolean result. Argo records such a measurement
 * as `Error`.
 */
export class ExpressionError extends ExporterError {
  /** Offset in the condition where the problem was found, when known. */
  readonly position: number | undefined

  constructor(message: string, position?: number, options?: ErrorOptions) {
    super('PXE_ERR_ANALYZE_EXPRESSION', position === undefined ? message : `${message} (at offset ${position})`, options)
    this.position = position
  }
}

/**
 * The template file or the command line is unusable: not an AnalysisTemplate,
 * an arg with no value (named), an unresolved placeholder, an unknown
 * `--metric`, a metric without a supported provider.
 */
export class AnalyzeTemplateError extends ExporterError {
  constructor(message: string, options?: ErrorOptions) {
    super('PXE_ERR_ANALYZE_TEMPLATE', message, options)
  }
}

/**
 * A measurement could not be taken: Prometheus (or the web endpoint) was
 * unreachable, answered non-2xx or an API error, or answered a result type
 * Argo does not support. Argo records such a measurement as `Error`.
 */
export class MeasurementError extends ExporterError {
  constructor(message: string, options?: ErrorOptions) {
    super('PXE_ERR_ANALYZE_MEASUREMENT', message, options)
  }
}
