/**
 * The collector list (src/collectors/index.ts) drives everything: the
 * configuration schema and the names it accepts, the docs, and the landing
 * page. A module added to the list shows up in all of them with no other edit.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import type { SchemaObject } from 'ajv'
import { BUILT_IN_COLLECTORS, COLLECTORS, LIBRARY_COLLECTORS, libraryCollector } from '../../src/collectors/index.js'
import { COLLECTOR_NAME_PATTERN } from '../../src/collectors/pxl-spec.js'
import { loadConfig } from '../../src/config/load.js'
import { CONFIG_FILE_SCHEMA } from '../../src/config/schema.js'
import { ConfigError } from '../../src/errors.js'
import { createExporter } from '../../src/exporter.js'
import { SnapshotMetric } from '../../src/metrics/snapshot-metric.js'
import type { ExecuteScriptOptions, PixieApi, ScriptResult } from '../../src/pixie/types.js'
import { CLUSTER_ID, memoryReadFile } from '../fixtures/config/helpers.js'
import { ScriptedPixie, answer } from '../fixtures/http-fixtures.js'
import { sinkLogger } from '../fixtures/logger.js'

const COLLECTORS_DOC = readFileSync(new URL('../../docs/collectors.md', import.meta.url), 'utf8')
const PIXIE = `pixie:\n  clusterId: ${CLUSTER_ID}\n  tls: plaintext\n  address: 127.0.0.1:1\n`
const schemaOf = (path: string[]): SchemaObject | undefined =>
  path.reduce<SchemaObject | undefined>((s, key) => (s?.properties as Record<string, SchemaObject> | undefined)?.[key], CONFIG_FILE_SCHEMA)

function load(yaml: string) {
  return loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: memoryReadFile({ 'c.yaml': `${PIXIE}${yaml}` }) })
}

function configErrors(yaml: string): readonly string[] {
  try {
    load(yaml)
  } catch (err) {
    if (err instanceof ConfigError) return err.errors
    throw err
  }
  return []
}

t.test('the list holds distinct, valid names, the HTTP collector among them', async (t) => {
  const names = COLLECTORS.map((m) => m.name)
  t.equal(new Set(names).size, names.length, `no name twice: ${names.join(', ')}`)
  for (const name of names) t.match(name, COLLECTOR_NAME_PATTERN, `${name} is a valid collector name`)
  t.same(BUILT_IN_COLLECTORS.map((m) => m.name), ['http'], 'the HTTP collector is the one built-in module')
  t.ok(libraryCollector('redis') !== undefined, 'redis is a library module')
  t.equal(BUILT_IN_COLLECTORS.length + LIBRARY_COLLECTORS.length, COLLECTORS.length, 'every module is built-in or library')
})

t.test('the configuration schema of collectors.* comes from the list', async (t) => {
  for (const module of BUILT_IN_COLLECTORS) {
    t.equal(schemaOf(['collectors', module.name]), module.optionsSchema, `collectors.${module.name} is the module's own schema`)
  }
  const library = schemaOf(['collectors', 'library'])
  t.same((library?.items as SchemaObject | undefined)?.enum, LIBRARY_COLLECTORS.map((m) => m.name), 'collectors.library accepts exactly the library modules, in order')
  for (const module of LIBRARY_COLLECTORS) {
    t.equal(schemaOf(['collectors', 'libraryOptions', module.name]), module.optionsSchema, `collectors.libraryOptions.${module.name} is the module's own schema`)
  }
})

t.test('every module of the list is accepted by name and runs as a job', async (t) => {
  const { config } = load(`collectors:\n  library: [${LIBRARY_COLLECTORS.map((m) => m.name).join(', ')}]\n`)
  t.same(config.collectors.library.map((l) => l.name), LIBRARY_COLLECTORS.map((m) => m.name), 'every library name is accepted')
  const exporter = await createExporter({ config, logger: sinkLogger().logger, pixie: new NoPixie(), now: () => 1_700_000_000_000 })
  t.teardown(() => exporter.close())
  t.same(exporter.jobs.map((j) => j.name), COLLECTORS.map((m) => m.name), 'one job per module, built-in first, then the library in the order listed')
})

t.test('an unknown collector name is refused, naming the field', async (t) => {
  const known = LIBRARY_COLLECTORS.map((m) => m.name).join(', ')
  t.same(configErrors('collectors:\n  library: [redis, oracle]\n'), [`collectors.library[1]: must be one of ${known}`], 'an unknown library name')
  t.same(
    configErrors('collectors:\n  library: [redis]\n  libraryOptions:\n    oracle: {interval: 1m}\n'),
    [`collectors.libraryOptions.oracle: unknown library collector (known: ${known})`],
    'options for an unknown library collector',
  )
  t.same(configErrors('collectors:\n  redis: {interval: 1m}\n'), ['collectors.redis: unknown key'], 'a library collector is not configured as a built-in section')
  t.same(
    configErrors('collectors:\n  library: [redis]\n  libraryOptions:\n    redis: {intervall: 1m}\n'),
    ['collectors.libraryOptions.redis.intervall: unknown key'],
    "a mistyped key in a library module's options, from the module's own schema",
  )
  t.same(
    configErrors('collectors:\n  library: [redis]\n  libraryOptions:\n    redis: {routes: {patterns: [/a]}}\n'),
    ['collectors.libraryOptions.redis.routes: redis has no route label (routes apply to http_endpoint)'],
    'routes only for a module that takes them',
  )
})

t.test('docs/collectors.md has a row and a section for every module', async (t) => {
  for (const module of COLLECTORS) {
    t.match(COLLECTORS_DOC, new RegExp(`^\\| \\[\`${module.name}\`\\]\\(#${module.name}\\) \\|`, 'm'), `${module.name} has a row in the table`)
    t.match(COLLECTORS_DOC, new RegExp(`^## ${module.name}$`, 'm'), `${module.name} has a section`)
  }
})

t.test('the landing page lists every module of the list, and whether it runs', async (t) => {
  const { config } = load('collectors:\n  library: [redis]\n')
  const exporter = await createExporter({ config, logger: sinkLogger().logger, pixie: new NoPixie(), now: () => 1_700_000_000_000 })
  t.teardown(() => exporter.close())
  const page = (await exporter.app.inject('/')).body
  t.match(page, /<h2>Available collectors<\/h2>/, 'the page has the section')
  for (const module of COLLECTORS) {
    const enabled = module.name === 'http' || module.name === 'redis'
    const state = enabled ? 'running' : `off \\(add ${module.name} to <code>collectors.library</code>\\)`
    t.match(page, new RegExp(`<tr><td>${module.name}</td><td>${state}</td><td>[^<]+</td></tr>`), `${module.name}: ${enabled ? 'running' : 'off'}`)
  }
})

t.test('after a successful run the exporter prepares the exposition; the collector itself never compresses', async (t) => {
  const row = { namespace: 'demo', pod: 'demo/app-1', service: 'demo/app', requests: 300, errors: 3, p50: 2e7, p90: 5e7, p99: 9e7 }
  const { config } = load('')
  const exporter = await createExporter({ config, logger: sinkLogger().logger, pixie: new ScriptedPixie([answer([row])]), now: () => 1_700_000_000_000 })
  t.teardown(() => exporter.close())
  const job = exporter.jobs.find((j) => j.name === 'http')
  t.equal(await job?.runNow(), 'success', 'the HTTP collector ran')
  const metric = exporter.registry.getSingleMetric('pixie_http_requests_total') as unknown as SnapshotMetric
  t.type(metric, SnapshotMetric, 'a snapshot metric')
  let compressions = 0
  await metric.gzip(metric.render(), async (data) => {
    compressions++
    return data
  })
  t.equal(compressions, 0, 'the first scrape after the run finds the metric rendered and compressed')
})

/** A Pixie that is never reached: these tests never run a job. */
class NoPixie implements PixieApi {
  async executeScript(_options: ExecuteScriptOptions): Promise<ScriptResult> {
    throw new Error('not queried in these tests')
  }

  async healthCheck(): Promise<void> {}

  close(): void {}
}

t.test('no leaks between the parts the list keeps apart', async (t) => {
  const source = (path: string) => readFileSync(new URL(`../../src/${path}`, import.meta.url), 'utf8')
  const imports = (path: string) => [...source(path).matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '')
  t.same(imports('collectors/pxl.ts').filter((i) => /\/http(-[a-z]+)?\.js$/.test(i)), [], 'the generic PxL engine imports nothing of the HTTP collector')
  t.same(imports('collectors/http.ts').filter((i) => i.startsWith('node:zlib')), [], 'the HTTP collector does not compress (a transport concern)')
  const route = source('server/error-rate-route.ts')
  t.same(imports('server/error-rate-route.ts').filter((i) => i === 'prom-client'), [], '/error-rate does not read the prom-client registry')
  t.notMatch(route, /['"]http['"]/, "/error-rate does not look for a collector named 'http'")
  for (const dir of ['config/schema.ts', 'config/collectors.ts', 'exporter.ts']) {
    t.notMatch(source(dir), /['"](http_service|http_endpoint|resources|network|dns|mysql|redis)['"]/, `${dir} names no library collector`)
  }
})
