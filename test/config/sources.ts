import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { LAYERED_SETTINGS, type LayeredSetting } from '../../src/config/schema.js'
import type { Config } from '../../src/config/types.js'
import { ConfigError } from '../../src/errors.js'
import { CLUSTER_ID, FIXTURE_API_KEY, memoryReadFile } from '../fixtures/config/helpers.js'

// The three sources (flags, environment, file) are merged in one place
// (src/config/load.ts, readSources) from one table (LAYERED_SETTINGS in
// schema.ts): for every setting there, the flag beats the environment,
// which beats the file, which beats the schema's default; and a bad value
// is reported under the name of the source it came from.

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'

/** Per setting: three valid values (for flag, environment, file), one invalid one, and where the value lands. */
const CASES: Readonly<Record<LayeredSetting, { valid: readonly [string, string, string]; invalid: string; read: (c: Config) => unknown }>> = {
  'pixie.address': { valid: ['flag.example:443', 'env.example:443', 'file.example:443'], invalid: 'no-port', read: (c) => c.pixie.address },
  'pixie.clusterId': {
    valid: ['11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222', '33333333-3333-3333-3333-333333333333'],
    invalid: 'not-a-uuid',
    read: (c) => c.pixie.clusterId,
  },
  'pixie.tls': { valid: ['plaintext', 'skip-verify', 'verify'], invalid: 'sometimes', read: (c) => c.pixie.tls },
  'pixie.caFile': { valid: ['flag.pem', 'env.pem', 'file.pem'], invalid: 'missing.pem', read: (c) => c.pixie.caFile },
  'web.listenAddress': { valid: [':1001', ':1002', ':1003'], invalid: 'nowhere', read: (c) => c.web.listenAddress },
  'web.configFile': { valid: ['flag-web.yml', 'env-web.yml', 'file-web.yml'], invalid: 'missing-web.yml', read: (c) => c.web.configFile },
  'log.level': { valid: ['debug', 'warn', 'error'], invalid: 'loud', read: (c) => c.log.level },
  'log.format': { valid: ['logfmt', 'json', 'logfmt'], invalid: 'xml', read: (c) => c.log.format },
}

/** Settings that name a file: checked by reading it, which only the winning source is. */
const FILE_PATHS: readonly LayeredSetting[] = ['pixie.caFile', 'web.configFile']

const FILES = {
  'flag.pem': PEM,
  'env.pem': PEM,
  'file.pem': PEM,
  'flag-web.yml': '{}\n',
  'env-web.yml': '{}\n',
  'file-web.yml': '{}\n',
}

/** `a.b` → YAML `a:\n  b: "value"`. */
function yamlAt(key: string, value: string): string {
  const [section, name] = key.split('.')
  return `${section}:\n  ${name}: ${JSON.stringify(value)}\n`
}

interface Given {
  readonly flag?: string
  readonly env?: string
  readonly file?: string
}

function load(key: LayeredSetting, given: Given): { config?: Config; errors: readonly string[] } {
  const { flag, env: variable } = LAYERED_SETTINGS[key]
  const argv = ['--config', 'c.yaml', ...(given.flag === undefined ? [] : [`--${flag}`, given.flag])]
  const env: Record<string, string> = { PX_API_KEY: FIXTURE_API_KEY }
  if (key !== 'pixie.clusterId') env['PX_CLUSTER_ID'] = CLUSTER_ID
  if (given.env !== undefined) env[variable] = given.env
  const yaml = given.file === undefined ? '' : yamlAt(key, given.file)
  try {
    return { config: loadConfig({ argv, env, readFile: memoryReadFile({ ...FILES, 'c.yaml': yaml }) }).config, errors: [] }
  } catch (err) {
    if (err instanceof ConfigError) return { errors: err.errors }
    throw err
  }
}

t.test('every layered setting has a flag and a variable, and a case here', async (t) => {
  t.same(Object.keys(CASES).sort(), Object.keys(LAYERED_SETTINGS).sort(), 'the cases cover the table')
})

for (const key of Object.keys(LAYERED_SETTINGS) as LayeredSetting[]) {
  const c = CASES[key]
  const { flag, env: variable } = LAYERED_SETTINGS[key]
  const [flagValue, envValue, fileValue] = c.valid

  t.test(`${key}: flag beats environment beats file`, async (t) => {
    const all = load(key, { flag: flagValue, env: envValue, file: fileValue })
    t.same(all.errors, [], 'three valid values load')
    t.equal(all.config === undefined ? undefined : c.read(all.config), flagValue, `--${flag} wins over ${variable} and the file`)
    const noFlag = load(key, { env: envValue, file: fileValue })
    t.equal(noFlag.config === undefined ? undefined : c.read(noFlag.config), envValue, `${variable} wins over the file`)
    const fileOnly = load(key, { file: fileValue })
    t.equal(fileOnly.config === undefined ? undefined : c.read(fileOnly.config), fileValue, 'the file wins over the default')
  })

  t.test(`${key}: each error names its field, in every source`, async (t) => {
    const bad = c.invalid
    const labels = { flag: `--${flag}`, env: variable, file: key } as const
    for (const source of ['flag', 'env', 'file'] as const) {
      const { errors } = load(key, { [source]: bad })
      t.equal(errors.length, 1, `a bad ${source} value is one problem`)
      t.match(errors[0] ?? '', new RegExp(`^${labels[source].replace(/[.]/g, '\\.')}: `), `it starts with ${labels[source]}`)
    }
    const both = load(key, { flag: flagValue, env: bad, file: bad })
    if (FILE_PATHS.includes(key)) {
      // Only the winning file is read: an overridden path is never opened.
      t.same(both.errors, [], 'the overridden paths are not read')
      return
    }
    // A bad value is reported even when a higher source overrides it, and nothing is lost.
    t.equal(both.errors.length, 2, 'the overridden bad values are both reported')
    t.ok(both.errors.some((line) => line.startsWith(`${variable}: `)), `one names ${variable}`)
    t.ok(both.errors.some((line) => line.startsWith(`${key}: `)), `one names ${key}`)
  })
}
