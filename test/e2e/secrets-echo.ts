/**
 * Adversarial suite (issue 13, defect 4): a hostile Pixie echoes the API key
 * in every error field its protocol has (docs: pixie-api.md §1.3, §3):
 * the in-band status message (code 3, code 0 with a message, other codes),
 * compiler error details, the final gRPC status details (UNAUTHENTICATED,
 * INTERNAL, UNAVAILABLE, UNKNOWN, INVALID_ARGUMENT), mutation_info's status
 * and states, the query id and table names of metadata. The compiled
 * exporter runs against it at debug level with the key from each source
 * (PX_API_KEY, pixie.apiKeyFile, pixie.apiKey): the key must appear in no log
 * line, no page, no exposition, no answer.
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataType, metadataResponse, startFakeVizier, statusResponse, type FakeScript } from '../fixtures/fake-vizier.js'
import { startExporter, waitFor } from '../fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'
const KEY = 'px-api-5ec7e7-echoed-by-pixie-0123456789'

/** Every way the fake answers, in turn; each carries the key. */
const ECHOES: readonly [string, FakeScript][] = [
  ['compiler errors', { responses: [statusResponse(3, `bad script ${KEY}`, [{ line: 1, column: 2, message: `name '${KEY}' is not defined` }, { line: 2, column: 1, message: KEY }])], end: { code: 3, details: `compile failed ${KEY}` } }],
  ['in-band code 0 with a message', { responses: [statusResponse(0, `unimplemented ${KEY}`)], end: { code: 0 } }],
  ['in-band code 13', { responses: [statusResponse(13, `internal ${KEY}`)], end: 'hang' }],
  ['in-band code 3 without details', { responses: [statusResponse(3, `Script should not be empty. ${KEY}`)], end: { code: 3, details: KEY } }],
  ['final UNAUTHENTICATED', { end: { code: 16, details: `invalid API key ${KEY}` } }],
  ['final INTERNAL auth middleware', { end: { code: 13, details: `auth middleware failed: ${KEY}` } }],
  ['final INTERNAL', { end: { code: 13, details: `RST_STREAM ${KEY}` } }],
  ['final UNAVAILABLE', { end: { code: 14, details: `no healthy upstream ${KEY}` } }],
  ['final UNKNOWN', { end: { code: 2, details: KEY } }],
  [
    'mutation_info',
    {
      responses: [{ query_id: KEY, mutation_info: { status: { code: 14, message: `probes pending ${KEY}` }, states: [{ id: KEY, state: 1, name: KEY }] } }],
      end: { code: 14, details: `mutation ${KEY}` },
    },
  ],
  ['query id and table names', { responses: [metadataResponse(KEY, KEY, [{ name: KEY, type: DataType.STRING }], KEY)], end: { code: 0 } }],
]

function writeConfig(dir: string, pixie: string[]): string {
  const file = join(dir, 'config.yaml')
  writeFileSync(file, ['pixie:', ...pixie.map((l) => `  ${l}`), 'collectors:', '  http:', '    interval: 1s', '    window: 10s', ''].join('\n'))
  return file
}

const SOURCES: readonly [string, (dir: string) => { config: string; env: Record<string, string> }][] = [
  ['PX_API_KEY', (dir) => ({ config: writeConfig(dir, ['tls: plaintext']), env: { PX_API_KEY: KEY } })],
  [
    'pixie.apiKeyFile',
    (dir) => {
      writeFileSync(join(dir, 'key'), `${KEY}\n`)
      return { config: writeConfig(dir, ['tls: plaintext', `apiKeyFile: ${join(dir, 'key')}`]), env: {} }
    },
  ],
  ['pixie.apiKey', (dir) => ({ config: writeConfig(dir, ['tls: plaintext', `apiKey: ${KEY}`]), env: {} })],
]

t.test('the key echoed by Pixie in every error field never leaves the exporter', async (t) => {
  await Promise.all(
    SOURCES.map(async ([source, make]) => {
      let n = 0
      const vizier = await startFakeVizier({ executeScript: () => ECHOES[n++ % ECHOES.length]?.[1] ?? {} })
      t.teardown(() => vizier.close())
      const { config, env } = make(mkdtempSync(join(tmpdir(), 'pxe-secrets-')))
      const exporter = await startExporter(['--config', config, '--pixie.address', vizier.address, '--log.level', 'debug'], {
        PX_CLUSTER_ID: CLUSTER,
        PX_API_KEY: '',
        PIXIE_EXPORTER_API_KEY_FILE: '',
        ...env,
      })
      t.teardown(() => exporter.stop())
      const served: string[] = []
      // Read every page while the answers go round (twice), then stop.
      await waitFor(
        `${source}: two rounds of echoes`,
        async () => {
          for (const path of ['/', '/metrics', '/-/ready', '/error-rate/default/web']) served.push(await (await fetch(`${exporter.url}${path}`)).text())
          return vizier.calls.length >= 2 * ECHOES.length + 1 ? true : undefined
        },
        90_000,
        500,
      )
      const sent = vizier.calls[0]?.metadata['pixie-api-key']
      const code = await exporter.stop()
      const logs = exporter.output()
      t.equal(sent, KEY, `${source}: the exporter sent the key to Pixie`)
      t.equal(code, 0, `${source}: clean exit`)
      t.notOk(logs.includes(KEY), `${source}: no log line holds the key`)
      t.notOk(served.some((s) => s.includes(KEY)), `${source}: no page, exposition or answer holds the key`)
      t.match(logs, /PixieCompileError/, `${source}: the compile errors were logged`)
      t.match(logs, /"message":"name '<secret>' is not defined"/, `${source}: compiler error details logged, scrubbed`)
      t.match(logs, /PixieAuthError/, `${source}: the auth errors were logged`)
      t.match(served.join('\n'), /&lt;secret&gt;|<secret>/, `${source}: pages show <secret> where Pixie echoed the key`)
    }),
  )
})
