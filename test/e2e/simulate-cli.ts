/**
 * The `simulate` command as a process (dist/cli.js, so `npm run build` first),
 * queried over real loopback gRPC by the exporter's PixieClient and by a bare
 * grpc-js client; and `npm run demo`'s script, scripts/demo.mjs.
 */
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { PixieUnavailableError } from '../../src/errors.js'
import { PixieClient } from '../../src/pixie/client.js'
import { buildHttpPodStatsRequest, HTTP_POD_COUNTS_TABLE, HTTP_POD_STATS_TABLE, type HttpPodStatsRequest } from '../../src/pixie/scripts/http-pod-stats.js'
import type { PixieTable } from '../../src/pixie/types.js'
import { UNAVAILABLE_MESSAGE } from '../../src/simulator/server.js'
import { collectExecute, connectTestClient, memoryLogger } from '../fixtures/simulator-client.js'
import { batchesOf, TEST_BUCKETS_NS, wireRequest } from '../fixtures/simulator-helpers.js'
import { CLI, freePort, startChild, waitFor, type Child } from '../fixtures/tools.js'

const ROOT = join(import.meta.dirname, '..', '..')
const SCENARIOS = join(ROOT, 'scenarios')
const DEMO = join(ROOT, 'scripts', 'demo.mjs')
const CLUSTER = '10000000-0000-0000-0000-000000000001'
const ADDRESS_LINE = /listening on (\S+)/
const TRUTH_LINE = /ground truth \(simulated data\): http:\/\/(\S+)\/truth/

interface SimulateProcess extends Child {
  readonly address: string
  readonly truthAddress: string | undefined
  /** Wall-clock time the address was printed, ms. */
  readonly startedAt: number
}

/** Runs `pixie-exporter simulate` with `args`, stopped at teardown; resolves once it prints its address. */
async function startSimulate(t: Test, scenario: string, args: string[] = []): Promise<SimulateProcess> {
  const child = startChild(process.execPath, [CLI, 'simulate', '--scenario', scenario, '--listen', '127.0.0.1:0', ...args])
  t.teardown(() => child.stop())
  const address = await waitFor(`the simulator address\n${child.output()}`, async () => ADDRESS_LINE.exec(child.output())?.[1], 20_000, 50)
  const startedAt = Date.now()
  const truthAddress = args.includes('--truth-listen')
    ? await waitFor('the truth address', async () => TRUTH_LINE.exec(child.output())?.[1], 5_000, 50)
    : undefined
  return { ...child, address, truthAddress, startedAt }
}

/** The built-in HTTP script's request over [startMs, endMs), both as the gauge window and the count range. */
function script(startMs: number, endMs: number): HttpPodStatsRequest {
  const startNs = BigInt(startMs) * 1_000_000n
  return buildHttpPodStatsRequest({
    startNs,
    endNs: BigInt(endMs) * 1_000_000n,
    errorStatusMin: 500,
    include: [],
    exclude: [],
    maxRows: 100_000,
    counts: { startNs, bucketsNs: TEST_BUCKETS_NS },
  })
}

function pixieClient(t: Test, address: string): PixieClient {
  const pixie = new PixieClient({ address, clusterId: CLUSTER, tls: 'plaintext', logger: memoryLogger().logger })
  t.teardown(() => pixie.close())
  return pixie
}

/** `requests` by `<namespace>/<pod>` of a result table. */
function requestsByPod(table: PixieTable | undefined): Map<string, number> {
  const pods = table?.data[table.columns.findIndex((c) => c.name === 'pod')]
  const requests = table?.data[table.columns.findIndex((c) => c.name === 'requests')]
  const out = new Map<string, number>()
  if (pods?.type !== 'STRING' || requests?.type !== 'INT64') return out
  pods.values.forEach((pod, i) => out.set(pod, Number(requests.values[i])))
  return out
}

function portIsClosed(address: string): Promise<boolean> {
  const colon = address.lastIndexOf(':')
  return new Promise((resolve) => {
    const socket = connect(Number(address.slice(colon + 1)), address.slice(0, colon))
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(true))
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('simulate prints the addresses it actually bound, for --listen and --truth-listen 127.0.0.1:0', async (t) => {
  const sim = await startSimulate(t, join(SCENARIOS, 'steady-canary.yaml'), ['--truth-listen', '127.0.0.1:0'])
  t.match(sim.address, /^127\.0\.0\.1:\d+$/, `gRPC address is host:port (${sim.address})`)
  t.not(sim.address, '127.0.0.1:0', 'the gRPC port is the bound one, not 0')
  t.match(sim.truthAddress, /^127\.0\.0\.1:\d+$/, `truth address is host:port (${String(sim.truthAddress)})`)
  t.not(sim.truthAddress, '127.0.0.1:0', 'the truth port is the bound one, not 0')
  t.match(sim.output(), /SIMULATED DATA|simulated data/, 'the output says the data is simulated')
})

t.test('the raw stream from simulate: all metadata, then batches ending in eos per table, then stats, then OK', async (t) => {
  const sim = await startSimulate(t, join(SCENARIOS, 'steady-canary.yaml'), ['--log.level', 'debug'])
  await sleep(1_500)
  const client = connectTestClient(sim.address)
  t.teardown(() => client.close())
  const { responses, status } = await collectExecute(client, wireRequest(script(sim.startedAt - 1_000, Date.now())))
  t.equal(status.code, grpc.status.OK, `the call ends OK (${status.details})`)
  const firstData = responses.findIndex((r) => r.data !== null && r.data !== undefined)
  const metadata = responses.filter((r) => r.meta_data !== null && r.meta_data !== undefined)
  t.same(metadata.map((r) => r.meta_data?.name), [HTTP_POD_STATS_TABLE, HTTP_POD_COUNTS_TABLE], 'one metadata response per table')
  t.ok(responses.slice(0, firstData).length === 2 && firstData > 0, 'both metadata responses come before any data')
  for (const table of [HTTP_POD_STATS_TABLE, HTTP_POD_COUNTS_TABLE]) {
    const eos = batchesOf(responses, table).map((b) => b.eos)
    t.ok(eos.length >= 2, `${table}: several batches (${eos.length})`)
    t.same(eos, [...eos.slice(1).map(() => false), true], `${table}: only its last batch has eos`)
  }
  t.ok(responses.at(-1)?.data?.execution_stats, 'execution stats come last')
  t.equal(new Set(responses.map((r) => r.query_id)).size, 1, 'every response carries the same query id')
  await waitFor('the query log line', async () => (/simulated query answered/.test(sim.output()) ? true : undefined), 5_000, 50)
  t.pass('simulate logs the query it answered (at debug: a normal answer is not news)')
})

t.test('PixieClient against simulate: complete tables, stats, and the truth endpoint agrees', async (t) => {
  const sim = await startSimulate(t, join(SCENARIOS, 'steady-canary.yaml'), ['--truth-listen', '127.0.0.1:0'])
  await sleep(2_000)
  const pixie = pixieClient(t, sim.address)
  const result = await pixie.executeScript({ ...script(sim.startedAt - 1_000, Date.now()), timeoutMs: 10_000 })
  const stats = result.tables.get(HTTP_POD_STATS_TABLE)
  const counts = result.tables.get(HTTP_POD_COUNTS_TABLE)
  t.ok(stats && stats.numRows > 0, `http_pod_stats has rows (${stats?.numRows})`)
  t.ok(counts && counts.numRows > 0, `http_pod_counts has rows (${counts?.numRows})`)
  const canary = 'default/canary-demo-7f6d5c9b4b-aaaaa'
  const counted = requestsByPod(counts).get(canary) ?? 0
  // 10 rps since the simulator started, about 2 s ago (plus start-up time).
  t.ok(counted >= 10, `the canary served requests in the range (${counted})`)
  t.ok(result.stats !== undefined && result.stats.recordsProcessed > 0n, `stats are decoded (records ${result.stats?.recordsProcessed})`)

  const res = await fetch(`http://${sim.truthAddress}/truth`)
  t.equal(res.status, 200, 'GET /truth answers 200')
  t.match(res.headers.get('content-type'), /application\/json/, 'as JSON')
  const truth = (await res.json()) as { scenario: string; countRanges: number; pods: Record<string, { requests: number }> }
  t.equal(truth.scenario, 'steady-canary', 'the truth names the scenario')
  t.equal(truth.countRanges, 1, 'one count range recorded')
  t.equal(truth.pods[canary]?.requests, counted, 'the truth has the requests the client received for the canary')
})

t.test('simulate serves the 10,000 pods of large-cluster.yaml in many batches', async (t) => {
  const sim = await startSimulate(t, join(SCENARIOS, 'large-cluster.yaml'))
  await sleep(1_200)
  const client = connectTestClient(sim.address)
  t.teardown(() => client.close())
  const { responses, status } = await collectExecute(client, wireRequest(script(sim.startedAt - 1_000, Date.now())))
  t.equal(status.code, grpc.status.OK, `the call ends OK (${status.details})`)
  const batches = batchesOf(responses, HTTP_POD_STATS_TABLE)
  t.equal(batches.reduce((n, b) => n + Number(b.num_rows), 0), 10_000, 'one http_pod_stats row per pod')
  t.ok(batches.length >= 10, `in batches of at most 1,000 rows (${batches.length} batches)`)
})

t.test('a scenario with an unavailable fault: PixieClient gets PixieUnavailableError', async (t) => {
  const dir = t.testdir({
    'outage.yaml': [
      'name: outage',
      'pods:',
      '  - namespace: default',
      '    name: web-6d8c6b9c8f-aaaaa',
      '    phases: [{at: 0s, rps: 10, errorRatio: 0, latency: {p50: 10ms, p99: 50ms}}]',
      'faults:',
      '  - kind: unavailable',
      '',
    ].join('\n'),
  })
  const sim = await startSimulate(t, join(dir, 'outage.yaml'))
  const pixie = pixieClient(t, sim.address)
  const run = pixie.executeScript({ ...script(sim.startedAt - 1_000, Date.now()), timeoutMs: 5_000 })
  await t.rejects(run, PixieUnavailableError, 'ExecuteScript rejects with PixieUnavailableError')
  await run.catch((err: unknown) => {
    t.match((err as Error).message, UNAVAILABLE_MESSAGE, 'the message carries the simulator details')
    t.equal((err as PixieUnavailableError).grpcCode, grpc.status.UNAVAILABLE, 'gRPC code 14')
  })
  await t.rejects(pixie.healthCheck({ timeoutMs: 5_000 }), PixieUnavailableError, 'HealthCheck rejects with PixieUnavailableError too')
  await waitFor('the fault log line', async () => (/simulated fault: cluster unavailable/.test(sim.output()) ? true : undefined), 5_000, 50)
  t.pass('simulate logs the fault it injected')
})

/** Starts scripts/demo.mjs on a free port; resolves once its landing page answers. */
async function startDemo(t: Test, args: string[] = []): Promise<Child & { url: string }> {
  const port = await freePort()
  const demo = startChild(process.execPath, [DEMO, '--web.listen-address', `127.0.0.1:${port}`, ...args])
  t.teardown(() => demo.stop())
  const url = `http://127.0.0.1:${port}`
  await waitFor(`the demo on ${url}\n${demo.output()}`, async () => ((await fetch(`${url}/`)).ok ? true : undefined), 30_000)
  await waitFor('the demo banner', async () => (/Press Ctrl-C/.test(demo.output()) ? true : undefined), 10_000, 50)
  return { ...demo, url }
}

/** The demo's children, read from ps: pid and command line. */
function children(pid: number | undefined): { pid: number; args: string }[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' }).trim()
  return out === '' ? [] : out.split('\n').map((line) => ({ pid: Number(line.trim().split(' ')[0]), args: line.trim() }))
}

t.test('scripts/demo.mjs runs simulate and the exporter, prints the URLs, and SIGTERM stops both', async (t) => {
  const demo = await startDemo(t)
  const output = demo.output()
  t.match(output, /SIMULATED DATA/, 'prints a SIMULATED DATA line')
  for (const path of ['/', '/metrics', '/-/ready']) t.ok(output.includes(`${demo.url}${path}`), `prints ${demo.url}${path}`)
  const simAddress = /Pixie simulator:\s+(\S+)/.exec(output)?.[1] ?? ''
  t.match(simAddress, /^127\.0\.0\.1:[1-9]\d*$/, `prints the simulator address (${simAddress})`)
  const kids = children(demo.proc.pid).map((c) => c.args)
  t.equal(kids.length, 2, 'runs two child processes')
  t.ok(kids.some((a) => a.includes(' simulate --scenario ')), 'one is `pixie-exporter simulate`')

  const landing = await fetch(`${demo.url}/`)
  t.equal(landing.status, 200, 'the landing page answers')
  // Runs every 5 s, counting up to 5 s before now: the first run may see no traffic yet.
  const metrics = await waitFor(
    'the scenario pods on /metrics',
    async () => {
      const text = await (await fetch(`${demo.url}/metrics`)).text()
      return /pixie_http_requests_per_second\{namespace="default",pod="canary-demo-/.test(text) ? text : undefined
    },
    30_000,
  )
  t.match(metrics, /pixie_exporter_collector_up\{collector="http"\} 1/, '/metrics: the collector is up')
  t.pass('/metrics has the scenario pods, fetched from the simulator')

  const code = await demo.stop()
  t.equal(code, 0, 'SIGTERM: the demo exits 0')
  t.equal(await portIsClosed(simAddress), true, 'the simulator has stopped')
  t.equal(await portIsClosed(demo.url.slice('http://'.length)), true, 'the exporter has stopped')
})

t.test('scripts/demo.mjs survives a simulator restart: the outage is logged, then the recovery and its length', async (t) => {
  // Longer than the 5s poll interval, so at least one poll meets the dead simulator.
  const demo = await startDemo(t, ['--restart-after', '8'])
  const simAddress = /Pixie simulator:\s+(\S+)/.exec(demo.output())?.[1] ?? ''
  await waitFor('the URL block again after the first successful poll', async () => ((demo.output().match(/Press Ctrl-C/g) ?? []).length >= 2 ? true : undefined), 30_000)
  t.pass('the URL block is printed again once the first poll succeeded')
  const simulator = children(demo.proc.pid).find((c) => c.args.includes(' simulate --scenario '))
  t.ok(simulator, 'the simulator child is found')
  t.match(demo.output(), new RegExp(`outage drill:\\s+kill ${simulator?.pid ?? 'none'}\\b`), 'the block says which pid to kill for an outage drill')
  process.kill(simulator?.pid ?? 0, 'SIGKILL')
  await waitFor('a failed poll', async () => (/collector run failed/.test(demo.output()) ? true : undefined), 30_000)
  t.match(demo.output(), /demo: simulator exited \(SIGKILL\); the exporter keeps running/, 'the demo says the simulator died and keeps going')
  t.equal((await fetch(`${demo.url}/-/healthy`)).status, 200, 'the exporter still serves during the outage')
  await waitFor('the recovery line', async () => (/collector runs recovered after \d+ failed run\(s\) over [\d.]+s/.test(demo.output()) ? true : undefined), 30_000)
  t.match(demo.output(), new RegExp(`demo: simulator is back on ${simAddress.replace(/\./g, '\\.')}`), 'the simulator came back on the same address')
  t.equal(await demo.stop(), 0, 'SIGTERM still stops the demo cleanly')
})
