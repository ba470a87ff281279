/**
 * loadConfigAsync (issue 13, defect 10): the same configuration and the same
 * errors as loadConfig, with every file read through the asynchronous reader
 * (so a blocking file never holds up the event loop).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { loadConfig, loadConfigAsync } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { CLUSTER_ID, fixturePath, memoryReadFile } from '../fixtures/config/helpers.js'

const FILES: Record<string, string> = {
  'full.yaml': readFileSync(fixturePath('valid-full.yaml'), 'utf8'),
  'custom.yaml': readFileSync(fixturePath('valid-custom.yaml'), 'utf8'),
  'orders.pxl': "import px\ndf = px.DataFrame('http_events', start_time=px.plugin.start_time, end_time=px.plugin.end_time)\npx.display(df, 'orders')\n",
  'keyfile.yaml': `pixie:\n  clusterId: ${CLUSTER_ID}\n  apiKeyFile: key\n  caFile: ca.pem\n`,
  key: 'px-api-from-a-file\n',
  'ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  'missing-key.yaml': `pixie:\n  clusterId: ${CLUSTER_ID}\n  apiKeyFile: nowhere\n`,
}

/** An asynchronous reader over FILES that records the paths it was asked for. */
function asyncReader() {
  const asked: string[] = []
  const sync = memoryReadFile(FILES)
  return {
    asked,
    read: async (path: string) => {
      asked.push(path)
      await new Promise((r) => setImmediate(r))
      return sync(path)
    },
  }
}

t.test('the same configuration as loadConfig, every file read asynchronously and once', async (t) => {
  for (const [name, reads] of [
    ['full.yaml', ['full.yaml']],
    ['custom.yaml', ['custom.yaml', 'orders.pxl']],
    ['keyfile.yaml', ['keyfile.yaml', 'key', 'ca.pem']],
  ] as const) {
    const reader = asyncReader()
    const argv = ['--config', name]
    const got = await loadConfigAsync({ argv, env: {}, readFile: reader.read })
    const want = loadConfig({ argv, env: {}, readFile: memoryReadFile(FILES) })
    t.same(got, want, `${name}: same result`)
    t.same([...reader.asked].sort(), [...reads].sort(), `${name}: each file read once, through the asynchronous reader`)
  }
})

t.test('the same errors as loadConfig, a missing file included', async (t) => {
  const argv = ['--config', 'missing-key.yaml']
  const sync = (() => {
    try {
      loadConfig({ argv, env: {}, readFile: memoryReadFile(FILES) })
    } catch (err) {
      return err
    }
    return undefined
  })()
  t.type(sync, ConfigError)
  await t.rejects(loadConfigAsync({ argv, env: {}, readFile: asyncReader().read }), sync as ConfigError, 'same ConfigError')
  await t.rejects(
    loadConfigAsync({ argv: ['--config', 'absent.yaml'], env: {}, readFile: asyncReader().read }),
    new ConfigError(['--config: cannot read absent.yaml: ENOENT']),
    'an unreadable config file',
  )
})
