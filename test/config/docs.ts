import t from 'tap'
import { readFileSync } from 'node:fs'
import type { SchemaObject } from 'ajv'
import { loadConfig } from '../../src/config/load.js'
import { CONFIG_FILE_SCHEMA, ENV_VARS, FLAGS } from '../../src/config/schema.js'
import { memoryReadFile } from '../fixtures/config/helpers.js'

// docs/configuration.md is the reference; these tests keep it in step with the code.
const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')

function leafPaths(schema: SchemaObject, prefix = ''): string[] {
  const properties = schema.properties as Record<string, SchemaObject> | undefined
  // The options of each library collector are documented once, as the row of collectors.libraryOptions.
  if (properties === undefined || prefix === 'collectors.libraryOptions') return [prefix]
  return Object.entries(properties).flatMap(([key, child]) => leafPaths(child, prefix === '' ? key : `${prefix}.${key}`))
}

t.test('every YAML key is documented', async (t) => {
  const paths = leafPaths(CONFIG_FILE_SCHEMA)
  t.ok(paths.includes('collectors.http.namespaces.include'), 'the schema walk reaches nested keys')
  for (const path of paths) t.ok(doc.includes(`| \`${path}\``), `${path} has a row`)
})

t.test('every environment variable is documented', async (t) => {
  for (const name of Object.values(ENV_VARS)) t.ok(doc.includes(`| \`${name}\``), `${name} has a row`)
})

t.test('every flag is documented', async (t) => {
  for (const name of Object.values(FLAGS)) t.ok(doc.includes(`| \`--${name}`), `--${name} has a row`)
})

t.test('the example file is valid', async (t) => {
  const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1]
  if (example === undefined) return t.fail('the example YAML block is missing')
  const readFile = memoryReadFile({ 'example.yaml': example, '/var/run/secrets/pixie/api-key': 'px-api-example\n' })
  const { config } = loadConfig({ argv: ['--config', 'example.yaml'], env: {}, readFile })
  t.equal(config.pixie.apiKey, 'px-api-example', 'the key file it names is used')
  t.strictSame(config.collectors.http.namespaces.exclude, ['kube-system', 'px-operator', 'pl'], 'its values are read')
})
