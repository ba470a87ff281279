/**
 * Large scenarios built in code, for the benchmark, the load tests and the
 * `generate` section of scenario files: N pods with steady, deterministic
 * traffic spread over a few namespaces.
 */
import type { PodInput } from './scenario-input.js'

/** Options of {@link makeLargeScenario}. */
export interface LargeScenarioOptions {
  /** Number of namespaces the pods are spread over, round-robin. Default 20. */
  readonly namespaces?: number
  /** Pods per service (a Deployment's replicas). Default 5. */
  readonly podsPerService?: number
  /**
   * Pod churn (soak benchmarks): the last `share` of the pods are replaced
   * every `lifetimeSeconds` by new pods with new names (as a rollout does),
   * from the simulator's start until `untilSeconds`; the number of pods
   * alive at any time stays `pods`. Default: no churn.
   */
  readonly churn?: { readonly share: number; readonly lifetimeSeconds: number; readonly untilSeconds: number }
}

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

/** Lowercase alphanumerics from an integer, like a ReplicaSet's pod-template hash. */
function hashOf(n: number, length: number): string {
  const alphabet = ALPHABET
  let x = (n + 1) * 2_654_435_761
  let out = ''
  for (let i = 0; i < length; i++) {
    out += alphabet[x % alphabet.length] ?? 'b'
    x = Math.floor(x / alphabet.length) + (i + 1) * 40_503
  }
  return out
}

/** A 5-character pod suffix, distinct for every i below 27^5. */
function suffixOf(i: number): string {
  let out = ''
  let x = i
  for (let k = 0; k < 5; k++) {
    out += ALPHABET[x % ALPHABET.length] ?? 'b'
    x = Math.floor(x / ALPHABET.length)
  }
  return out
}

/**
 * The pods of the large-cluster model: `pods` pods named
 * `<service>-<hash>-<suffix>` in namespaces `bench-00`, `bench-01`, ....
 * Every pod serves a constant 1 to 20 rps with 200/404/500 answers (one pod
 * in 50 fails 20% of its requests), so every pod appears in every window of a
 * second or more. Scenario files get these pods with `generate`.
 *
 * @throws TypeError when a count is not a positive integer (pods may be 0)
 *   or the churn is out of range.
 */
export function largePodInputs(pods: number, options: LargeScenarioOptions = {}): PodInput[] {
  const namespaces = options.namespaces ?? 20
  const perService = options.podsPerService ?? 5
  if (!Number.isInteger(pods) || pods < 0) throw new TypeError('pods must be a non-negative integer')
  if (!Number.isInteger(namespaces) || namespaces < 1) throw new TypeError('namespaces must be a positive integer')
  if (!Number.isInteger(perService) || perService < 1) throw new TypeError('podsPerService must be a positive integer')
  const churn = options.churn
  if (churn !== undefined) {
    if (!(churn.share >= 0 && churn.share <= 1)) throw new TypeError('churn.share must be between 0 and 1')
    if (!Number.isInteger(churn.lifetimeSeconds) || churn.lifetimeSeconds < 1) throw new TypeError('churn.lifetimeSeconds must be a positive integer')
    if (!Number.isInteger(churn.untilSeconds) || churn.untilSeconds < 1) throw new TypeError('churn.untilSeconds must be a positive integer')
  }
  const churning = churn === undefined ? pods : Math.floor(pods * (1 - churn.share))
  const generations = churn === undefined ? 1 : Math.ceil(churn.untilSeconds / churn.lifetimeSeconds)
  const list: PodInput[] = []
  for (let i = 0; i < pods; i++) {
    if (i < churning || churn === undefined) {
      list.push(largePod(i, i, namespaces, perService))
      continue
    }
    // Generation g of pod i lives [g × lifetime, (g + 1) × lifetime) under a name of its own.
    for (let g = 0; g < generations; g++) {
      list.push({ ...largePod(i, i + pods * (g + 1), namespaces, perService), from: `${g * churn.lifetimeSeconds}s`, until: `${(g + 1) * churn.lifetimeSeconds}s` })
    }
  }
  return list
}

/** Pod `i` of the model, named with suffix number `name` (distinct per generation). */
function largePod(i: number, name: number, namespaces: number, perService: number): PodInput {
  const service = Math.floor(i / perService)
  const failing = i % 50 === 0
  return {
    namespace: `bench-${String(service % namespaces).padStart(2, '0')}`,
    name: `svc-${service}-${hashOf(service, 10)}-${suffixOf(name)}`,
    services: [`svc-${service}`],
    node: `node-${i % 100}`,
    phases: [
      {
        at: '0s',
        rps: 1 + (i % 20),
        statuses: failing ? { 200: 0.78, 404: 0.02, 500: 0.2 } : { 200: 0.97, 404: 0.02, 500: 0.01 },
        latency: { p50: `${10 + (i % 40)}ms`, p99: `${100 + (i % 400)}ms` },
      },
    ],
  }
}
