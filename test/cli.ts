/** The compiled CLI as a process: exit codes, messages, and that bad config never serves. */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { CLI, freePort, startChild, startExporter, waitFor } from './fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 20_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

t.test('a bad configuration names the field and exits 2 before serving', async (t) => {
  const port = await freePort()
  const r = run(['--web.listen-address', `127.0.0.1:${port}`], { PX_CLUSTER_ID: 'not-a-uuid', PX_API_KEY: 'px-secret-key-123' })
  t.equal(r.status, 2, 'exit status 2')
  t.match(r.stderr, /PX_CLUSTER_ID: /, 'the variable is named')
  t.notMatch(`${r.stdout}${r.stderr}`, /px-secret-key-123/, 'the API key is never printed')
  const listening = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    () => true,
    () => false,
  )
  t.notOk(listening, 'nothing was served')
})

t.test('--check-config validates and exits 0 without serving', async (t) => {
  const r = run(['--check-config', '--pixie.tls', 'plaintext', '--pixie.address', '127.0.0.1:1'], { PX_CLUSTER_ID: CLUSTER })
  t.equal(r.status, 0, `exit status 0\n${r.stderr}`)
  t.match(r.stdout, /configuration is valid/, 'says so')
})

t.test('an unknown flag is a usage error with status 2', async (t) => {
  const r = run(['--nope'], { PX_CLUSTER_ID: CLUSTER, PX_API_KEY: 'k' })
  t.equal(r.status, 2, 'exit status 2')
  t.match(r.stderr, /unknown flag --nope/, 'the flag is named')
})

t.test('--help prints usage and --version the version', async (t) => {
  const help = run(['--help'])
  t.equal(help.status, 0, 'help exits 0')
  t.match(help.stdout, /^ {2}simulate /m, 'usage lists the simulator')
  const version = run(['--version'])
  t.match(version.stdout, /^pixie-exporter, version \d+\.\d+\.\d+ /, 'version printed (test/cli-help.ts checks the rest)')
})

t.test('an invalid scenario for simulate names the field and exits 2', async (t) => {
  const r = run(['simulate', '--scenario', '/nonexistent/scenario.yaml'])
  t.equal(r.status, 2, 'exit status 2')
  t.match(r.stderr, /scenario/, 'the scenario is named')
})

t.test('SIGTERM stops the jobs and closes the server cleanly', async (t) => {
  const exporter = await startExporter(['--pixie.tls', 'plaintext', '--pixie.address', '127.0.0.1:9'], { PX_CLUSTER_ID: CLUSTER })
  const code = await exporter.stop()
  t.equal(code, 0, 'exit status 0 after SIGTERM')
  t.match(exporter.output(), /shutting down/, 'shutdown is logged')
})

t.test('demo polls every 5s like npm run demo, prints the bound URLs, and again once the first poll succeeded', async (t) => {
  const demo = startChild(process.execPath, [CLI, 'demo', '--web.listen-address', '127.0.0.1:0'])
  t.teardown(() => demo.stop())
  await waitFor(`the URL block twice\n${demo.output()}`, async () => ((demo.output().match(/Press Ctrl-C/g) ?? []).length >= 2 ? true : undefined), 30_000)
  const landing = /landing page:\s+(http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(demo.output())
  t.not(landing?.[2], '0', `the block names the bound port, not 0 (${landing?.[1]})`)
  t.equal((await fetch(landing?.[1] ?? 'http://127.0.0.1:1/')).status, 200, 'and that URL answers')
  const start = demo
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; config?: { collectors: { http: { schedule: { intervalMs: number } } } } })
    .find((l) => l.msg === 'starting pixie-exporter')
  t.equal(start?.config?.collectors.http.schedule.intervalMs, 5000, 'the HTTP collector polls every 5s')
  t.match(demo.output(), /cluster id 00000000-0000-0000-0000-000000000001/, 'the block names the cluster id the simulator is used with')
  t.equal(await demo.stop(), 0, 'SIGTERM: exit 0')
})
