/**
 * The exporter's log lines as an operator's pipeline sees them: every line
 * of a run through an outage and its recovery parses with a strict JSON
 * parser (no repeated key), levels are names, failed polls are one concise
 * line each, the recovery says how long the outage lasted, and TLS to an IP
 * address prints no DEP0123 warning.
 */
import t from 'tap'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { CLI, freePort, startChild, startExporter, waitFor, type Child } from '../fixtures/tools.js'
import { parseStrictJson } from '../fixtures/strict-json.js'

const CLUSTER = '00000000-0000-0000-0000-000000000001'
const SCENARIO = join(import.meta.dirname, '..', '..', 'scenarios', 'steady-canary.yaml')

async function startSimulator(port: number): Promise<Child> {
  const sim = startChild(process.execPath, [CLI, 'simulate', '--scenario', SCENARIO, '--listen', `127.0.0.1:${port}`])
  await waitFor(`the simulator on ${port}\n${sim.output()}`, async () => (/listening on/.test(sim.output()) ? true : undefined), 20_000, 50)
  return sim
}

const lines = (output: string) => output.split('\n').filter((l) => l !== '')

t.test('json logs through an outage: strict JSON, one concise line per failed poll, a recovery line with the outage length', async (t) => {
  const simPort = await freePort()
  let sim = await startSimulator(simPort)
  const exporter = await startExporter(['--pixie.address', `127.0.0.1:${simPort}`, '--pixie.tls', 'plaintext', '--log.format', 'json'], { PX_CLUSTER_ID: CLUSTER })
  t.teardown(async () => {
    await exporter.stop()
    await sim.stop()
  })
  await waitFor('the first successful poll', async () => ((await fetch(`${exporter.url}/-/ready`)).ok ? true : undefined), 30_000)
  await sim.stop()
  // The job retries a failed run after about 1s, 2s...: two failures come quickly.
  await waitFor('two failed polls', async () => ((exporter.output().match(/collector run failed/g) ?? []).length >= 2 ? true : undefined), 30_000)
  sim = await startSimulator(simPort)
  await waitFor('the recovery line', async () => (/collector runs recovered/.test(exporter.output()) ? true : undefined), 30_000)

  const records = lines(exporter.output()).map((line) => {
    try {
      return parseStrictJson(line) as Record<string, unknown>
    } catch (err) {
      t.fail(`not strict JSON: ${(err as Error).message}`)
      return {}
    }
  })
  t.ok(records.length >= 5, `${records.length} lines parsed`)
  for (const r of records) {
    t.strictSame(Object.keys(r).slice(0, 3), ['time', 'level', 'msg'], `"${String(r.msg)}" starts with time, level, msg`)
    t.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO time')
    t.match(r.level, /^(trace|debug|info|warn|error|fatal)$/, 'a level name')
  }
  const failures = records.filter((r) => r.msg === 'collector run failed; keeping the last values until they are stale')
  t.ok(failures.length >= 2, `${failures.length} failed polls logged`)
  for (const f of failures) {
    const err = f.err as Record<string, unknown>
    t.equal(f.level, 'error', 'a failed poll is an error')
    t.notOk('stack' in err, 'no stack at info')
    t.notMatch(String(err.message), /Resolution note/, 'no empty "Resolution note"')
    t.notMatch(String(err.message), /gRPC status 14/, 'the cause is not repeated in the message')
    t.equal(err.code, 'PXE_ERR_PIXIE_UNAVAILABLE', 'the error code is there')
  }
  t.strictSame(failures.map((f) => f.failedRuns), failures.map((_, i) => i + 1), 'each failed poll says how many in a row')
  const recovered = records.find((r) => r.msg !== undefined && String(r.msg).startsWith('collector runs recovered'))
  t.equal(recovered?.level, 'info', 'the recovery is logged at info')
  t.equal(recovered?.failedRuns, failures.length, 'it counts the failed polls')
  t.ok(typeof recovered?.outageSeconds === 'number' && recovered.outageSeconds > 0, `it says how long the outage lasted (${String(recovered?.outageSeconds)}s)`)
})

t.test('logfmt logs: key=value lines led by time, level and msg', async (t) => {
  const exporter = await startExporter(['--pixie.address', '127.0.0.1:9', '--pixie.tls', 'plaintext', '--log.format', 'logfmt'], { PX_CLUSTER_ID: CLUSTER })
  t.teardown(() => exporter.stop())
  await waitFor('a failed poll', async () => (/collector run failed/.test(exporter.output()) ? true : undefined), 30_000)
  for (const line of lines(exporter.output())) {
    t.match(line, /^time=\d{4}-\d\d-\d\dT[\d:.]+Z level=(info|warn|error) msg=("([^"\\]|\\.)*"|\S+)( [\w.]+=("([^"\\]|\\.)*"|\S*))*$/, `logfmt: ${line.slice(0, 80)}`)
  }
})

t.test('TLS to an IP address: no DEP0123 warning on stderr; at debug one line explains it', async (t) => {
  // Accepts TCP and hangs up: enough for grpc-js to start the TLS handshake (where Node warns).
  const server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const exporter = await startExporter(['--pixie.address', `127.0.0.1:${port}`, '--pixie.tls', 'verify', '--log.level', 'debug'], { PX_CLUSTER_ID: CLUSTER, PX_API_KEY: 'px-api-test-key' })
  t.teardown(() => exporter.stop())
  await waitFor('a failed poll', async () => (/collector run failed/.test(exporter.output()) ? true : undefined), 30_000)
  await waitFor('the DEP0123 explanation', async () => (/sends the IP as the TLS server name/.test(exporter.output()) ? true : undefined), 10_000)
  t.notMatch(exporter.output(), /DeprecationWarning|\(node:\d+\)/, 'no raw Node.js warning text')
  for (const line of lines(exporter.output())) t.doesNotThrow(() => parseStrictJson(line), 'every line is a JSON log line')
})
