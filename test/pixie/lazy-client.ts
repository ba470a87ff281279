import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { LazyPixieClient } from '../../src/pixie/lazy-client.js'
import { startFakeVizier } from '../fixtures/fake-vizier.js'
import { sinkLogger } from '../fixtures/logger.js'
import { answer } from '../fixtures/http-fixtures.js'
import { tableResponses } from '../fixtures/wire-tables.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'

t.test('the gRPC client is created on the first call, answers as PixieClient does, and closes', async (t) => {
  const fake = await startFakeVizier({ executeScript: () => ({ responses: tableResponses(answer([], 5)) }) })
  t.teardown(() => fake.close())
  const lazy = new LazyPixieClient({ address: fake.address, clusterId: CLUSTER, tls: 'plaintext', logger: sinkLogger('warn').logger })
  t.equal(lazy.loaded, false, 'nothing is loaded or connected by the constructor')
  const result = await lazy.executeScript({ script: 'px.display(1)', queryName: 'q', timeoutMs: 5_000 })
  t.equal(lazy.loaded, true, 'the first call creates the client')
  t.ok(result.tables.size > 0, 'the script ran through the real client')
  t.equal(fake.calls.length, 1, 'one ExecuteScript call reached Pixie')
  lazy.close()
  await t.rejects(lazy.executeScript({ script: 'px.display(1)', queryName: 'q', timeoutMs: 2_000 }), /shut down/, 'a closed client fails calls as a closed PixieClient does')
})

t.test('closing before the first call loads nothing', async (t) => {
  const lazy = new LazyPixieClient({ address: '127.0.0.1:9', clusterId: CLUSTER, tls: 'plaintext', logger: sinkLogger('warn').logger })
  lazy.close()
  t.equal(lazy.loaded, false, 'still not loaded')
})

/**
 * Runs test/fixtures/serving-thread-modules.ts in a fresh Node.js process
 * (tsx, as tap runs the tests). Asynchronously: the fake Vizier it talks to
 * runs in this process.
 */
async function servingThread(address: string, yaml: string): Promise<{ outcomes: Record<string, string>; grpcLoaded: boolean }> {
  const child = spawn(process.execPath, ['--import=tsx', join(import.meta.dirname, '..', 'fixtures', 'serving-thread-modules.ts'), address, yaml], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
  const [status] = (await once(child, 'exit')) as [number | null]
  if (status !== 0) throw new Error(`serving-thread-modules exited ${status}:\n${stderr}`)
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { outcomes: Record<string, string>; grpcLoaded: boolean }
}

t.test('the serving thread never loads @grpc/grpc-js: the HTTP collector and the PxL-engine collectors poll from worker threads', async (t) => {
  const fake = await startFakeVizier({ executeScript: () => ({ responses: tableResponses(answer([], 5)) }) })
  t.teardown(() => fake.close())
  const http = await servingThread(fake.address, '')
  t.same(http.outcomes, { http: 'success' }, 'only the HTTP collector runs, and succeeds')
  t.equal(http.grpcLoaded, false, 'the HTTP collector polled from its worker thread; the serving thread has no gRPC client')
  const withDns = await servingThread(fake.address, 'collectors:\n  library: [dns]\n')
  t.equal(withDns.outcomes.dns, 'error', 'the dns library collector ran (and failed: this Pixie answers with the HTTP table)')
  t.ok(fake.calls.some((c) => (c.request as { query_name?: string }).query_name === 'pixie-exporter/dns'), 'its query reached Pixie')
  t.equal(withDns.grpcLoaded, false, "the dns collector polled from the PxL collectors' worker thread: the serving thread still has no gRPC client")
})
