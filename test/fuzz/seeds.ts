/**
 * Replays the inputs that once broke a fuzz test (test/fixtures/fuzz-seeds/),
 * so each fixed bug stays fixed. Every seed file is replayed; the ones listed
 * below also have their exact outcome checked.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { memoryReadFile } from '../fixtures/config/helpers.js'
import { badErrorLine } from '../fixtures/fuzz-config.js'
import { runWire } from '../fixtures/fuzz-oracles.js'
import { SEEDS_DIR, readStreamSeed, seedFiles } from '../fixtures/fuzz-seeds.js'
import { decodeResponse } from '../fixtures/fuzz-streams.js'

t.test('stream seeds: each ends with its expected outcome and breaks no rule', async (t) => {
  const files = seedFiles('stream-', '.json')
  t.ok(files.length > 0, 'there are stream seeds to replay')
  for (const file of files) {
    const seed = readStreamSeed(file)
    const outcome = runWire(
      seed.messages.map((m) => Buffer.from(m, 'base64')),
      decodeResponse,
    )
    t.equal(outcome.problem, undefined, `${file}: no broken rule (${seed.description})`)
    t.equal(outcome.outcome, seed.expect, `${file}: ends with ${seed.expect}`)
  }
})

t.test('the row count of a table stays an exact integer', async (t) => {
  const seed = readStreamSeed('stream-row-count-overflow.json')
  const outcome = runWire(
    seed.messages.map((m) => Buffer.from(m, 'base64')),
    decodeResponse,
  )
  t.equal(outcome.outcome, 'PXE_ERR_PIXIE_PROTOCOL', 'a batch taking the count past 2^53-1 rows is a protocol error')
})

/** Exact lines of the config seeds, for a file loaded as `/fuzz/<name>`. */
const CONFIG_LINES: Readonly<Record<string, (path: string) => readonly string[]>> = {
  'config-unknown-key-colon.yaml': () => ['collectors.http: unknown key "a: b"'],
  'config-unknown-key-control.yaml': (path) => [
    `${path}: unknown key "\\r\\u0001:\\u0019x"`,
    `${path}: unknown key ""`,
    `${path}: unknown key " padded "`,
    'log: unknown key "\\u{202e}evil"',
  ],
  'config-tagged-sections.yaml': () => [
    'pixie.timeout: must be a duration (e.g. 500ms, 10s, 1m30s, 2h, 1d)',
    'collectors: must be a mapping',
    'web: must be a mapping',
    'log: must be a mapping',
  ],
  'config-tagged-document.yaml': (path) => [`${path}: must be a YAML mapping`],
  'config-yaml11-date.yaml': () => ['web: must be a mapping'],
}

t.test('config seeds: one "<field>: <reason>" line per problem, naming a real field', async (t) => {
  const files = seedFiles('config-', '.yaml')
  t.ok(files.length > 0, 'there are config seeds to replay')
  for (const file of files) {
    const path = `/fuzz/${file}`
    const text = readFileSync(join(SEEDS_DIR, file), 'utf8')
    const err = t.throws(
      () => loadConfig({ argv: ['--config', path], env: {}, readFile: memoryReadFile({ [path]: text }) }),
      `${file} is rejected`,
    )
    if (!(err instanceof ConfigError)) {
      t.fail(`${file}: expected a ConfigError, got ${String(err)}`)
      continue
    }
    t.equal(badErrorLine(err.errors, path, text), undefined, `${file}: every line names a real field`)
    const want = CONFIG_LINES[file]
    if (want !== undefined) t.same(err.errors, want(path), `${file}: the exact lines`)
  }
})
