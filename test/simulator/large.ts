import t from 'tap'
import * as grpc from '@grpc/grpc-js'
import { makeLargeScenario } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'
import { HTTP_POD_STATS_TABLE } from '../../src/pixie/scripts/http-pod-stats.js'
import { expectedCounts, expectedPodCounts } from '../../src/simulator/traffic.js'
import { collectExecute, connectTestClient, decodeColumns, memoryLogger } from '../fixtures/simulator-client.js'
import { batchesOf, countRowsByPod, countsScript, SIM_T0 as T0, TEST_BUCKETS_NS } from '../fixtures/simulator-helpers.js'

t.test('makeLargeScenario builds N distinct valid pods over the namespaces', async (t) => {
  const s = makeLargeScenario(1_000, { namespaces: 7 })
  t.equal(s.pods.length, 1_000, '1,000 pods')
  t.equal(new Set(s.pods.map((p) => `${p.namespace}/${p.name}`)).size, 1_000, 'names are distinct')
  t.equal(new Set(s.pods.map((p) => p.namespace)).size, 7, 'spread over 7 namespaces')
  t.ok(s.pods.every((p) => /^svc-\d+-[a-z0-9]{10}-[a-z0-9]{5}$/.test(p.name)), 'names look like <service>-<hash>-<suffix>')
  t.throws(() => makeLargeScenario(-1), TypeError, 'a negative size is refused')
})

t.test('churn replaces the last share of the pods every lifetime under new names; the pods alive stay N', async (t) => {
  const s = makeLargeScenario(100, { churn: { share: 0.25, lifetimeSeconds: 300, untilSeconds: 1200 } })
  t.equal(s.pods.length, 75 + 25 * 4, '75 steady pods and 4 generations of 25')
  t.equal(new Set(s.pods.map((p) => `${p.namespace}/${p.name}`)).size, s.pods.length, 'every generation has names of its own')
  for (const atMs of [0, 299_999, 300_000, 1_199_999]) {
    const alive = s.pods.filter((p) => p.fromMs <= atMs && atMs < p.untilMs)
    t.equal(alive.length, 100, `100 pods alive at ${atMs / 1000} s`)
  }
  t.equal(s.pods.filter((p) => p.fromMs <= 1_200_000 && 1_200_000 < p.untilMs).length, 75, 'after untilSeconds only the steady pods remain')
  t.throws(() => makeLargeScenario(10, { churn: { share: 1.5, lifetimeSeconds: 300, untilSeconds: 600 } }), /churn.share/, 'a share above 1 is refused')
  t.throws(() => makeLargeScenario(10, { churn: { share: 0.5, lifetimeSeconds: 0, untilSeconds: 600 } }), /lifetimeSeconds/, 'a zero lifetime is refused')
})

t.test('a 10,000-pod scenario is answered in full, both tables, in batches', async (t) => {
  const scenario = makeLargeScenario(10_000)
  const { logger } = memoryLogger()
  const sim = await startSimulator({ scenario, listen: '127.0.0.1:0', logger, now: () => T0 + 60_000, startedAt: T0 })
  const client = connectTestClient(sim.address)
  t.teardown(async () => {
    client.close()
    await sim.close()
  })
  const request = countsScript(45_000, 60_000, { windowStartMs: 30_000, maxRows: 20_000 })
  const { responses, status } = await collectExecute(client, request)
  t.equal(status.code, grpc.status.OK, 'ends OK')
  const batches = batchesOf(responses, HTTP_POD_STATS_TABLE)
  t.equal(batches.reduce((n, b) => n + Number(b.num_rows), 0), 10_000, 'one row per pod')
  t.ok(batches.length >= 10, `several batches (${batches.length})`)
  const sampled = [0, 1, 4_999, 9_999]
  const requestsByPod = new Map<string, number>()
  for (const b of batches) {
    const cols = decodeColumns(b)
    cols[1]?.forEach((pod, i) => requestsByPod.set(String(pod), Number(cols[3]?.[i])))
  }
  for (const i of sampled) {
    const pod = scenario.pods[i]!
    t.equal(requestsByPod.get(`${pod.namespace}/${pod.name}`), expectedCounts(scenario, pod, 30_000, 60_000).requests, `pod ${i} has the expected count`)
  }
  const counts = countRowsByPod(responses)
  t.equal(counts.size, 10_000, 'one count row per pod')
  for (const i of sampled) {
    const pod = scenario.pods[i]!
    const want = expectedPodCounts(scenario, pod, 45_000, 60_000, TEST_BUCKETS_NS)
    t.same(counts.get(`${pod.namespace}/${pod.name}`)?.buckets, want.bucketCounts, `pod ${i} has the expected latency buckets`)
  }
})
