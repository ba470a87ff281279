import t from 'tap'
import { spawnSync } from 'node:child_process'
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

/** Runs test/fixtures/serving-thread-modules.ts in a fresh Node.js process (tsx, as tap runs the tests). */
function servingThread(address: string, yaml: string): { outcomes: Record<string, string>; grpcLoaded: boolean } {
  const r = spawnSync(process.execPath, ['--import=tsx', join(import.meta.dirname, '..', 'fixtures', 'serving-thread-modules.ts'), address, yaml], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  if (r.status !== 0) throw new Error(`serving-thread-modules exited ${r.status}:\n${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { outcomes: Record<string, string>; grpcLoaded: boolean }
}

t.test('with the default collectors the serving thread never loads @grpc/grpc-js; a PxL-engine collector does at its first poll', async (t) => {
  const fake = await startFakeVizier({ executeScript: () => ({ responses: tableResponses(answer([], 5)) }) })
  t.teardown(() => fake.close())
  const http = servingThread(fake.address, '')
  t.same(Object.keys(http.outcomes), ['http'], 'only the HTTP collector runs')
  t.equal(http.grpcLoaded, false, 'the HTTP collector polled from its worker thread; the serving thread has no gRPC client')
  const withDns = servingThread(fake.address, 'collectors:\n  library: [dns]\n')
  t.ok('dns' in withDns.outcomes, 'the dns library collector ran')
  t.equal(withDns.grpcLoaded, true, 'a collector polling from the serving thread loads the client there')
})
