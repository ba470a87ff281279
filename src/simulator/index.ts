/**
 * The Pixie API simulator: scenarios, deterministic traffic and the gRPC
 * server. See docs/scenarios.md.
 */
export { DURATION_PATTERN, formatDuration, parseDuration } from '../duration.js'
export { simulateHttpPodCounts, type HttpPodCountsRows } from './http-pod-counts.js'
export { simulateHttpPodStats, type HttpCountsQuery, type HttpPodStatsRows, type HttpQuery } from './http-pod-stats.js'
export { ANSWERERS, answererFor, SimCompileError, type Answer, type AnswerContext, type Answerer, type FuncCall, type SimTable } from './answerers/index.js'
export { NO_PLUGIN_CONFIG_MESSAGE } from './answerers/library.js'
export { DEFAULT_MAX_OUTPUT_ROWS, maxOutputRows } from './query-flags.js'
export {
  erfc,
  logNormalCdf,
  logNormalMean,
  logNormalOf,
  mixtureQuantile,
  normalCdf,
  Z90,
  Z99,
  type LogNormal,
  type MixturePart,
} from './latency.js'
export { type LargeScenarioOptions } from './large.js'
export {
  FAULT_KINDS,
  loadScenarioFile,
  makeLargeScenario,
  parseScenario,
  SCENARIO_SCHEMA_URL,
  scenarioFromObject,
  scenarioValidator,
  type FaultInput,
  type FaultKind,
  type LatencyNs,
  type PhaseInput,
  type PodInput,
  type Scenario,
  type ScenarioFault,
  type ScenarioInput,
  type ScenarioPhase,
  type ScenarioPod,
  type StatusShare,
} from './scenario.js'
export {
  AUTH_FAILED_MESSAGE,
  CUT_MESSAGE,
  EMPTY_QUERY_MESSAGE,
  INJECTED_COMPILE_ERROR_MESSAGE,
  startSimulator,
  UNAVAILABLE_MESSAGE,
  unsupportedQueryMessage,
  type RunningSimulator,
  type SimulatorOptions,
} from './server.js'
export {
  buildTraffic,
  expectedCounts,
  expectedPodCounts,
  PodTraffic,
  renderServices,
  trueLatencyQuantile,
  type PodCounts,
  type StatusClass,
  type WindowCounts,
} from './traffic.js'
export { GroundTruth, type BucketTruth, type PhaseTruth, type PodTruth, type SimulatorTruth } from './truth.js'
