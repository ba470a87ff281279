/**
 * Metric names are a contract with the Argo templates, dashboards and rules;
 * the contract test checks those files only use names listed here.
 */
export const HTTP_REQUESTS_PER_SECOND = 'pixie_http_requests_per_second'
export const HTTP_ERRORS_PER_SECOND = 'pixie_http_errors_per_second'
export const HTTP_ERROR_RATIO = 'pixie_http_error_ratio'
export const HTTP_LATENCY_SECONDS = 'pixie_http_latency_seconds'
export const HTTP_REQUESTS_TOTAL = 'pixie_http_requests_total'
export const HTTP_REQUEST_DURATION = 'pixie_http_request_duration_seconds'

export const COLLECTOR_UP = 'pixie_exporter_collector_up'
export const COLLECTOR_LAST_SUCCESS = 'pixie_exporter_collector_last_success_timestamp_seconds'
export const COLLECTOR_RUNS_TOTAL = 'pixie_exporter_collector_runs_total'
export const COLLECTOR_DURATION = 'pixie_exporter_collector_duration_seconds'
export const COLLECTOR_ROWS = 'pixie_exporter_collector_rows'
export const COLLECTOR_SKIPPED_SECONDS = 'pixie_exporter_collector_skipped_seconds_total'
/** Series a PxL collector did not export because of its `maxSeries` cap, counted once per run. */
export const SERIES_DROPPED_TOTAL = 'pixie_exporter_series_dropped_total'
/** Runs cut off because Pixie sent more rows than the row cap (issue 13, defect 2). */
export const OVERSIZE_RESULTS_TOTAL = 'pixie_exporter_collector_oversize_results_total'
export const BUILD_INFO = 'pixie_exporter_build_info'
export const CONFIG_LAST_RELOAD_SUCCESSFUL = 'pixie_exporter_config_last_reload_successful'
export const CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP = 'pixie_exporter_config_last_reload_success_timestamp_seconds'
