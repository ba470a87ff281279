import t from 'tap'
import * as grpc from '@grpc/grpc-js'
import { request } from 'node:http'
import { join } from 'node:path'
import { loadScenarioFile, scenarioFromObject } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'
import { expectedPodCounts } from '../../src/simulator/traffic.js'
import type { SimulatorTruth } from '../../src/simulator/truth.js'
import { collectExecute, memoryLogger } from '../fixtures/simulator-client.js'
import { countRowsByPod, countsScript, httpPodStatsScript, SIM_T0, startTestSimulator, TEST_BUCKETS_NS } from '../fixtures/simulator-helpers.js'

const argo = loadScenarioFile(join(import.meta.dirname, '..', '..', 'scenarios', 'argo-canary.yaml'))
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

/** GET over loopback; resolves with status, content type and body. */
function get(address: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`http://${address}${path}`, { method, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('the truth is the sum of every count range answered', async (t) => {
  const h = await startTestSimulator(t, argo)
  const cuts = [0, 17_300, 45_000, 60_000, 61_234, 90_000, 120_000]
  const summed = new Map<string, { requests: number; byClass: number[]; latencySumNs: number; buckets: number[] }>()
  for (let k = 1; k < cuts.length; k++) {
    h.setTime(cuts[k]!)
    const { responses, status } = await collectExecute(h.client, countsScript(cuts[k - 1]!, cuts[k]!))
    t.equal(status.code, grpc.status.OK, `range ${k} answered`)
    for (const [pod, row] of countRowsByPod(responses)) {
      const sum = summed.get(pod) ?? { requests: 0, byClass: [0, 0, 0, 0, 0], latencySumNs: 0, buckets: TEST_BUCKETS_NS.map(() => 0) }
      sum.requests += row.requests
      row.byClass.forEach((n, i) => (sum.byClass[i]! += n))
      sum.latencySumNs += row.latencySumNs
      row.buckets.forEach((n, i) => (sum.buckets[i]! += n))
      summed.set(pod, sum)
    }
  }
  const truth = h.truth()
  t.same([truth.countRanges, truth.countedUntilMs, truth.offsetMs], [6, 120_000, 120_000], 'six ranges recorded, up to the clock')
  t.same(Object.keys(truth.pods).sort(), argo.pods.map((p) => `${p.namespace}/${p.name}`).sort(), 'every pod of the scenario is listed')
  for (const [pod, want] of summed) {
    const got = truth.pods[pod]
    t.same(
      [got?.requests, CLASSES.map((c) => got?.byClass[c]), got?.latencySumNs, got?.latencyBuckets.map((b) => b.count), got?.latencyBuckets.map((b) => b.leNs)],
      [want.requests, want.byClass, want.latencySumNs, want.buckets, TEST_BUCKETS_NS.map(Number)],
      `${pod}: what the answers add up to`,
    )
    const byStatus = Object.values(got?.byStatus ?? {}).reduce((a, b) => a + b, 0)
    t.equal(byStatus, want.requests, `${pod}: by-status counts add up to requests`)
  }
  // Every count (buckets included) is exactly additive: six ranges sum to the one range [0, 120 s).
  for (const pod of argo.pods) {
    const key = `${pod.namespace}/${pod.name}`
    const got = truth.pods[key]
    const whole = expectedPodCounts(argo, pod, 0, 120_000, TEST_BUCKETS_NS)
    t.same(
      [got?.requests, got?.byStatus, got?.byClass, got?.latencySumNs, got?.latencyBuckets.map((b) => b.count)],
      [whole.requests, whole.byStatus, whole.byClass, whole.latencySumNs, whole.bucketCounts],
      `${key}: the truth equals expectedPodCounts over [0, 120 s)`,
    )
  }
  t.same(truth.pods['default/canary-demo-7f6d5c9b4b-h9j3k']?.now, { rps: 10, p50Ns: 25e6, p90Ns: truth.pods['default/canary-demo-7f6d5c9b4b-h9j3k']?.now?.p90Ns, p99Ns: 150e6 }, 'bad-red serves now, with its phase latency')
  t.equal(truth.pods['default/canary-demo-5b9f7c4d8d-q2w8r']?.now, null, 'yellow is gone now')
})

t.test('the truth starts at zero and ignores answers without counts', async (t) => {
  const h = await startTestSimulator(t, argo)
  const { status } = await collectExecute(h.client, httpPodStatsScript(0, 30_000))
  t.equal(status.code, grpc.status.OK, 'a script without a count range is answered')
  const truth = h.truth()
  t.equal(truth.countRanges, 0, 'no count range recorded')
  t.ok(Object.values(truth.pods).every((p) => p.requests === 0 && p.latencyBuckets.length === 0), 'every pod at zero')
})

t.test('a cut or malformed answer is not recorded', async (t) => {
  const scenario = scenarioFromObject({
    name: 'faults',
    pods: [{ namespace: 'default', name: 'web-1', phases: [{ at: '0s', rps: 10, errorRatio: 0.1, latency: { p50: '5ms', p99: '9ms' } }] }],
    faults: [
      { kind: 'cut', from: '10s', until: '20s' },
      { kind: 'malformed', from: '20s', until: '30s' },
    ],
  })
  const h = await startTestSimulator(t, scenario)
  h.setTime(15_000)
  await collectExecute(h.client, countsScript(0, 15_000))
  h.setTime(25_000)
  await collectExecute(h.client, countsScript(0, 25_000))
  t.same([h.truth().countRanges, h.truth().pods['default/web-1']?.requests], [0, 0], 'nothing recorded')
  h.setTime(35_000)
  await collectExecute(h.client, countsScript(0, 35_000))
  const want = expectedPodCounts(scenario, 'default/web-1', 0, 35_000, TEST_BUCKETS_NS).requests
  t.same([h.truth().countRanges, h.truth().pods['default/web-1']?.requests], [1, want], `a normal answer is recorded (${want} requests)`)
  const cells = 2 * (TEST_BUCKETS_NS.length + 1)
  t.ok(want <= 350 && want > 350 - cells, `35 s at 10 rps from the start: in (350 − ${cells} cells, 350] (got ${want})`)
})

t.test('GET /truth serves the truth as JSON on its own address', async (t) => {
  const h = await startTestSimulator(t, argo, { truthListen: '127.0.0.1:0' })
  t.match(h.truthAddress, /^127\.0\.0\.1:\d+$/, 'the bound address is reported')
  h.setTime(60_000)
  await collectExecute(h.client, countsScript(0, 60_000))
  const res = await get(h.truthAddress ?? '', '/truth')
  t.equal(res.status, 200, '200 OK')
  t.match(res.type, /^application\/json/, 'JSON')
  const body = JSON.parse(res.body) as SimulatorTruth
  t.same(body, JSON.parse(JSON.stringify(h.truth())), 'the same document as truth()')
  const stable = body.pods['default/canary-demo-6d8c6b9c8f-x7k2p']?.requests ?? -1
  t.equal(stable, expectedPodCounts(argo, 'default/canary-demo-6d8c6b9c8f-x7k2p', 0, 60_000, TEST_BUCKETS_NS).requests, 'a stable pod: what expectedPodCounts gives')
  t.ok(stable <= 600 && stable > 600 - (TEST_BUCKETS_NS.length + 1), `a stable pod: 60 s at 10 rps of one code, in (600 − 12 cells, 600] (got ${stable})`)
  t.equal((await get(h.truthAddress ?? '', '/metrics')).status, 404, 'other paths: 404')
  t.equal((await get(h.truthAddress ?? '', '/truth', 'POST')).status, 405, 'other methods: 405')
})

t.test('close() stops the truth server', async (t) => {
  const { logger } = memoryLogger()
  const sim = await startSimulator({ scenario: argo, listen: '127.0.0.1:0', logger, now: () => SIM_T0, startedAt: SIM_T0, truthListen: '127.0.0.1:0' })
  t.teardown(() => sim.close())
  const address = sim.truthAddress ?? ''
  t.equal((await get(address, '/truth')).status, 200, 'serving before close')
  await sim.close()
  await t.rejects(get(address, '/truth'), { code: 'ECONNREFUSED' }, 'refused after close')
})

t.test('a truth address that cannot be bound fails the start', async (t) => {
  const { logger } = memoryLogger()
  const first = await startSimulator({ scenario: argo, listen: '127.0.0.1:0', logger, truthListen: '127.0.0.1:0' })
  t.teardown(() => first.close())
  await t.rejects(
    startSimulator({ scenario: argo, listen: '127.0.0.1:0', logger, truthListen: first.truthAddress ?? '' }),
    { code: 'EADDRINUSE' },
    'EADDRINUSE',
  )
  await t.rejects(startSimulator({ scenario: argo, listen: '127.0.0.1:0', logger, truthListen: 'nope' }), TypeError, 'a malformed address')
})
