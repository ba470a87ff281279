/**
 * The Pixie API simulator: scenarios, deterministic traffic and the gRPC
 * server. See docs/scenarios.md.
 */
export { DURATION_PATTERN, formatDuration, parseDuration } from './duration.js'
export { simulateHttpPodStats, type HttpPodStatsRows } from './http-pod-stats.js'
export { makeLargeScenario, type LargeScenarioOptions } from './large.js'
export {
  FAULT_KINDS,
  loadScenarioFile,
  parseScenario,
  scenarioFromObject,
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
  UNSUPPORTED_SCRIPT_MESSAGE,
  type RunningSimulator,
  type SimulatorOptions,
} from './server.js'
export { buildTraffic, expectedCounts, PodTraffic, renderServices, type WindowCounts } from './traffic.js'
