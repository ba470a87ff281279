import t from 'tap'
import { join } from 'node:path'
import { ConfigError } from '../../src/errors.js'
import { loadConfig, redactConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { CLUSTER_ID, FIXTURE_API_KEY, fixturePath, memoryReadFile, problems } from '../fixtures/config/helpers.js'

// Cron schedules run in local time; the gaps quoted in messages are those of UTC (no DST).
process.env['TZ'] = 'UTC'

const MINIMAL_ENV = { PX_CLUSTER_ID: CLUSTER_ID, PX_API_KEY: 'px-api-env-key' }

t.test('defaults apply when only PX_CLUSTER_ID and PX_API_KEY are set', async (t) => {
  const { config, checkOnly, configFile } = loadConfig({ argv: [], env: MINIMAL_ENV })
  const want: Config = {
    pixie: {
      address: 'work.withpixie.ai:443',
      clusterId: CLUSTER_ID,
      apiKey: 'px-api-env-key',
      tls: 'verify',
      caFile: undefined,
      timeoutMs: 10_000,
      encryption: false,
      simulated: false,
    },
    collectors: {
      http: {
        schedule: { kind: 'interval', intervalMs: 5_000, cron: '*/5 * * * * *' },
        windowMs: 10_000,
        errorStatusMin: 500,
        namespaces: { include: [], exclude: [] },
        staleAfterMs: undefined,
        timeoutMs: 10_000,
        maxRows: 100_000,
        lagMs: 5_000,
        maxCatchUpMs: 300_000,
        expireAfterMs: 300_000,
        // The lean default series set (docs/metrics.md): 5 buckets, no _sum/_count, four families.
        bucketsSeconds: [0.025, 0.1, 0.25, 0.5, 1],
        metrics: ['pixie_http_requests_per_second', 'pixie_http_errors_per_second', 'pixie_http_requests_total', 'pixie_http_request_duration_seconds'],
        histogramSumAndCount: false,
      },
      custom: [],
      library: [],
    },
    web: { listenAddress: '0.0.0.0:10049', host: '0.0.0.0', port: 10049, configFile: undefined },
    log: { level: 'info', format: 'json' },
  }
  t.strictSame(config, want, 'every default is filled in')
  t.equal(checkOnly, false, 'checkOnly is off without --check-config')
  t.equal(configFile, undefined, 'no config file was read')
})

t.test('a full file sets every key', async (t) => {
  const path = fixturePath('valid-full.yaml')
  const { config, configFile } = loadConfig({ argv: ['--config', path], env: {} })
  t.equal(configFile, path, 'the file path is reported')
  t.strictSame(
    config.pixie,
    {
      address: 'pixie.example.com:8443',
      clusterId: CLUSTER_ID,
      apiKey: FIXTURE_API_KEY,
      tls: 'skip-verify',
      caFile: undefined,
      timeoutMs: 20_000,
      encryption: true,
      simulated: false,
    },
    'pixie section, cluster ID lower-cased',
  )
  t.strictSame(
    config.collectors.http,
    {
      schedule: { kind: 'interval', intervalMs: 30_000, cron: '*/30 * * * * *' },
      windowMs: 60_000,
      errorStatusMin: 400,
      namespaces: { include: ['shop', 'payments'], exclude: ['kube-system'] },
      staleAfterMs: 120_000,
      timeoutMs: 5_000,
      maxRows: 5000,
      lagMs: 10_000,
      maxCatchUpMs: 600_000,
      expireAfterMs: 900_000,
      bucketsSeconds: [0.01, 0.1, 1],
      metrics: ['pixie_http_requests_per_second', 'pixie_http_errors_per_second', 'pixie_http_requests_total', 'pixie_http_request_duration_seconds'],
      histogramSumAndCount: false,
    },
    'http collector section',
  )
  t.strictSame(config.web, { listenAddress: '127.0.0.1:9999', host: '127.0.0.1', port: 9999, configFile: undefined }, 'web section')
  t.equal(config.log.level, 'debug', 'log level')
})

t.test('a cron schedule is kept as written; staleAfter and expireAfter cover its longest gap', async (t) => {
  const { config } = loadConfig({ argv: ['--config', fixturePath('valid-schedule.yaml')], env: {} })
  t.strictSame(config.collectors.http.schedule, { kind: 'cron', cron: '0 */2 * * * 1-5' }, 'cron schedule')
  t.equal(config.collectors.http.staleAfterMs, 3 * 86_400_000, 'staleAfter as written')
  // Every 2 minutes on weekdays: the longest gap is the weekend, Friday 23:58 to Monday 00:00.
  const short = memoryReadFile({ 'c.yaml': `pixie: {clusterId: ${CLUSTER_ID}, apiKey: k-0001}\ncollectors:\n  http:\n    schedule: "0 */2 * * * 1-5"\n    staleAfter: 1h\n    expireAfter: 2d2m\n` })
  const lines = problems(t, () => loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: short }))
  t.strictSame(lines, ['collectors.http.staleAfter: must be at least the longest gap between runs of the schedule (2d2m)'], 'a staleAfter the weekend gap would outlast is refused')
})

t.test('the config file can be named by PIXIE_EXPORTER_CONFIG, and --config wins', async (t) => {
  const readFile = memoryReadFile({
    'env.yaml': `pixie: {clusterId: ${CLUSTER_ID}, apiKey: k-env-file}\nlog: {level: warn}\n`,
    'flag.yaml': `pixie: {clusterId: ${CLUSTER_ID}, apiKey: k-flag-file}\nlog: {level: error}\n`,
  })
  const fromEnv = loadConfig({ argv: [], env: { PIXIE_EXPORTER_CONFIG: 'env.yaml' }, readFile })
  t.equal(fromEnv.configFile, 'env.yaml', 'the variable names the file')
  t.equal(fromEnv.config.log.level, 'warn', 'and the file is read')
  const fromFlag = loadConfig({ argv: ['--config', 'flag.yaml'], env: { PIXIE_EXPORTER_CONFIG: 'env.yaml' }, readFile })
  t.equal(fromFlag.configFile, 'flag.yaml', '--config takes precedence')
  t.equal(fromFlag.config.log.level, 'error', 'the flag-named file is the one read')
})

t.test('precedence is flag > environment > file > default', async (t) => {
  const readFile = memoryReadFile({
    'c.yaml': [
      'pixie:',
      '  address: file.example:1',
      '  clusterId: 11111111-1111-1111-1111-111111111111',
      '  apiKey: key-from-file',
      '  tls: skip-verify',
      'web:',
      '  listenAddress: 127.0.0.1:1111',
      'log:',
      '  level: warn',
    ].join('\n'),
  })
  const env = {
    PX_CLOUD_ADDR: 'env.example:2',
    PX_CLUSTER_ID: '22222222-2222-2222-2222-222222222222',
    PX_API_KEY: 'key-from-env',
    PIXIE_EXPORTER_TLS: 'plaintext',
    PIXIE_EXPORTER_LISTEN_ADDRESS: '127.0.0.1:2222',
    PIXIE_EXPORTER_LOG_LEVEL: 'error',
  }
  const fileOnly = loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile }).config
  t.equal(fileOnly.pixie.address, 'file.example:1', 'file beats default (address)')
  t.equal(fileOnly.log.level, 'warn', 'file beats default (log level)')

  const withEnv = loadConfig({ argv: ['--config', 'c.yaml'], env, readFile }).config
  t.equal(withEnv.pixie.address, 'env.example:2', 'PX_CLOUD_ADDR beats the file')
  t.equal(withEnv.pixie.clusterId, '22222222-2222-2222-2222-222222222222', 'PX_CLUSTER_ID beats the file')
  t.equal(withEnv.pixie.apiKey, 'key-from-env', 'PX_API_KEY beats the file')
  t.equal(withEnv.pixie.tls, 'plaintext', 'PIXIE_EXPORTER_TLS beats the file')
  t.equal(withEnv.web.port, 2222, 'PIXIE_EXPORTER_LISTEN_ADDRESS beats the file')
  t.equal(withEnv.log.level, 'error', 'PIXIE_EXPORTER_LOG_LEVEL beats the file')

  const argv = [
    '--config=c.yaml',
    '--pixie.address',
    'flag.example:3',
    '--pixie.cluster-id',
    '33333333-3333-3333-3333-333333333333',
    '--pixie.tls=verify',
    '--web.listen-address',
    '[::1]:3333',
    '--log.level',
    'trace',
  ]
  const withFlags = loadConfig({ argv, env, readFile }).config
  t.equal(withFlags.pixie.address, 'flag.example:3', '--pixie.address beats the environment')
  t.equal(withFlags.pixie.clusterId, '33333333-3333-3333-3333-333333333333', '--pixie.cluster-id beats the environment')
  t.equal(withFlags.pixie.tls, 'verify', '--pixie.tls beats the environment')
  t.strictSame(withFlags.web, { listenAddress: '[::1]:3333', host: '::1', port: 3333, configFile: undefined }, 'IPv6 listen address, host unbracketed')
  t.equal(withFlags.log.level, 'trace', '--log.level beats the environment')
})

t.test('empty environment variables count as unset', async (t) => {
  const { config } = loadConfig({ argv: [], env: { ...MINIMAL_ENV, PX_CLOUD_ADDR: '', PIXIE_EXPORTER_TLS: '' } })
  t.equal(config.pixie.address, 'work.withpixie.ai:443', 'the default address is used')
  t.equal(config.pixie.tls, 'verify', 'the default TLS mode is used')
})

t.test('pixie.simulated: the operator says the Pixie address is the simulator', async (t) => {
  const readFile = memoryReadFile({ 'sim.yaml': 'pixie:\n  simulated: true\n', 'bad.yaml': 'pixie:\n  simulated: yes please\n' })
  t.equal(loadConfig({ argv: ['--config', 'sim.yaml'], env: MINIMAL_ENV, readFile }).config.pixie.simulated, true, 'true in the file')
  t.equal(loadConfig({ argv: [], env: MINIMAL_ENV, readFile }).config.pixie.simulated, false, 'false by default')
  const lines = problems(t, () => loadConfig({ argv: ['--config', 'bad.yaml'], env: MINIMAL_ENV, readFile }))
  t.ok(lines.some((l) => l.includes('pixie.simulated') && l.includes('must be true or false')), `a non-boolean is refused naming the field (${lines.join('; ')})`)
})

t.test('collectors.http.timeout defaults to pixie.timeout', async (t) => {
  const readFile = memoryReadFile({ 'c.yaml': 'pixie:\n  timeout: 45s\n' })
  const { config } = loadConfig({ argv: ['--config', 'c.yaml'], env: MINIMAL_ENV, readFile })
  t.equal(config.collectors.http.timeoutMs, 45_000, 'inherits the pixie timeout')
})

t.test('the API key can be read from a file, trimmed', async (t) => {
  const dir = t.testdir({ 'key.txt': '  px-api-from-file\n', 'empty.txt': '\n', 'c.yaml': 'pixie:\n  apiKeyFile: key.txt\n' })
  const fromEnv = loadConfig({
    argv: [],
    env: { PX_CLUSTER_ID: CLUSTER_ID, PIXIE_EXPORTER_API_KEY_FILE: join(dir, 'key.txt') },
  })
  t.equal(fromEnv.config.pixie.apiKey, 'px-api-from-file', 'PIXIE_EXPORTER_API_KEY_FILE is read and trimmed')

  // Relative paths are resolved from the working directory, not the file's.
  t.chdir(dir)
  const fromFile = loadConfig({ argv: ['--config', 'c.yaml'], env: { PX_CLUSTER_ID: CLUSTER_ID } })
  t.equal(fromFile.config.pixie.apiKey, 'px-api-from-file', 'pixie.apiKeyFile is read and trimmed')

  const lines = problems(t, () =>
    loadConfig({ argv: [], env: { PX_CLUSTER_ID: CLUSTER_ID, PIXIE_EXPORTER_API_KEY_FILE: join(dir, 'empty.txt') } }),
  )
  t.strictSame(lines, [`PIXIE_EXPORTER_API_KEY_FILE: ${join(dir, 'empty.txt')} is empty`], 'an empty key file is an error')
})

t.test('an unreadable API key file names the field and path', async (t) => {
  const dir = t.testdir({})
  const missing = join(dir, 'nope.txt')
  const lines = problems(t, () => loadConfig({ argv: [], env: { PX_CLUSTER_ID: CLUSTER_ID, PIXIE_EXPORTER_API_KEY_FILE: missing } }))
  t.strictSame(lines, [`PIXIE_EXPORTER_API_KEY_FILE: cannot read ${missing}: ENOENT: no such file or directory`], 'exact message')
})

t.test('an overridden API key file is not read', async (t) => {
  const readFile = memoryReadFile({ 'c.yaml': `pixie:\n  apiKeyFile: /missing/key\n` })
  const { config } = loadConfig({ argv: ['--config', 'c.yaml'], env: MINIMAL_ENV, readFile })
  t.equal(config.pixie.apiKey, 'px-api-env-key', 'PX_API_KEY wins and the missing file is never opened')
})

t.test('PX_API_KEY and PIXIE_EXPORTER_API_KEY_FILE together conflict', async (t) => {
  const lines = problems(t, () =>
    loadConfig({ argv: [], env: { ...MINIMAL_ENV, PIXIE_EXPORTER_API_KEY_FILE: '/run/key' }, readFile: memoryReadFile({}) }),
  )
  t.strictSame(lines, ['PX_API_KEY: conflicts with PIXIE_EXPORTER_API_KEY_FILE (set only one)'], 'exact message')
})

t.test('the API key never appears in errors', async (t) => {
  const secret = 'px-api-0123456789-SECRET'
  const dir = t.testdir({ 'key.txt': `${secret} with spaces\n` })
  const readFile = memoryReadFile({
    'c.yaml': `pixie:\n  apiKey: ${secret}\n  clusterId: ${secret}\n  address: ${secret}\nweb:\n  listenAddress: ${secret}\n`,
    'broken.yaml': `pixie:\n  apiKey: "${secret}\n  clusterId: x\n`,
  })
  const cases: [string, () => unknown][] = [
    ['key pasted into other fields', () => loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile })],
    ['key in a broken YAML file', () => loadConfig({ argv: ['--config', 'broken.yaml'], env: {}, readFile })],
    [
      'key in an unknown flag',
      () => loadConfig({ argv: [`--pixie.api-key=${secret}`, '--pixie.apikey', secret, `-k=${secret}`, '-key', secret], env: MINIMAL_ENV }),
    ],
    ['key as a stray argument', () => loadConfig({ argv: [secret], env: MINIMAL_ENV })],
    [
      'key in an env var with spaces',
      () => loadConfig({ argv: [], env: { PX_CLUSTER_ID: secret, PX_API_KEY: `${secret} x`, PIXIE_EXPORTER_API_KEY: secret } }),
    ],
    [
      'key file with spaces',
      () => loadConfig({ argv: [], env: { PX_CLUSTER_ID: CLUSTER_ID, PIXIE_EXPORTER_API_KEY_FILE: join(dir, 'key.txt') } }),
    ],
  ]
  for (const [name, run] of cases) {
    const err = t.throws(run, `${name}: rejected`)
    t.ok(err instanceof ConfigError, `${name}: a ConfigError`)
    t.notMatch(String((err as Error).message), secret, `${name}: the message does not contain the key`)
  }
})

t.test('a key read from a key file is never echoed by an error about another field (issue 13, defect 5)', async (t) => {
  const key = 'pxapi-5f1e2d3c-key-from-a-file'
  const pasted = `pixie:
  clusterId: ${key}
  address: ${key}
collectors:
  http:
    schedule: "${key} * * * * *"
    namespaces:
      include: [${key}]
  custom:
    - name: ${key}
      pxlFile: ${key}.pxl
      table: t
      labels:
        - column: c
          label: ${key}
      staticLabels:
        ${key}: x
      metrics:
        - column: c
          name: ${key}
          help: h
          type: gauge
web:
  listenAddress: ${key}
  configFile: /etc/${key}/web.yml
`
  const sources: [string, Record<string, string>, string][] = [
    ['pixie.apiKeyFile', { PX_CLUSTER_ID: CLUSTER_ID }, 'pixie:\n  apiKeyFile: /run/key\n'],
    ['PIXIE_EXPORTER_API_KEY_FILE', { PIXIE_EXPORTER_API_KEY_FILE: '/run/key' }, ''],
    ['PX_API_KEY', { PX_API_KEY: key }, ''],
    ['pixie.apiKey', {}, `pixie:\n  apiKey: ${key}\n`],
  ]
  for (const [source, env, head] of sources) {
    // The key-source lines go first; the pasted document's pixie section merges in.
    const text = head === '' ? pasted : pasted.replace('pixie:\n', head)
    const readFile = memoryReadFile({ '/run/key': `${key}\n`, 'c.yaml': text })
    const lines = problems(t, () => loadConfig({ argv: ['--config', 'c.yaml'], env, readFile }))
    t.ok(lines.length >= 5, `${source}: several fields rejected (${lines.length})`)
    t.same(lines.filter((l) => l.includes(key)), [], `${source}: no line shows the key`)
    t.ok(lines.some((l) => l.includes('<secret>')), `${source}: a quoted value shows <secret> instead`)
  }
  // The schedule error of the issue, exactly.
  const readFile = memoryReadFile({ '/run/key': `${key}\n`, 'c.yaml': `pixie:\n  apiKeyFile: /run/key\ncollectors:\n  http:\n    schedule: "${key} * * * * *"\n` })
  const lines = problems(t, () => loadConfig({ argv: ['--config', 'c.yaml'], env: { PX_CLUSTER_ID: CLUSTER_ID }, readFile }))
  t.same(lines.filter((l) => l.startsWith('collectors.http.schedule')).length, 1, 'the schedule is rejected')
  t.notMatch(lines.join('\n'), key, 'without the key')
})

t.test('a missing API key is allowed only with TLS plaintext', async (t) => {
  const { config } = loadConfig({ argv: ['--pixie.tls', 'plaintext'], env: { PX_CLUSTER_ID: CLUSTER_ID } })
  t.equal(config.pixie.apiKey, undefined, 'no key in plaintext mode')
  const lines = problems(t, () => loadConfig({ argv: ['--pixie.tls', 'skip-verify'], env: { PX_CLUSTER_ID: CLUSTER_ID } }))
  t.strictSame(lines, ['pixie.apiKey: required (set PX_API_KEY, pixie.apiKey or pixie.apiKeyFile)'], 'required otherwise')
})

t.test('a CA file must be readable PEM and only goes with TLS verify', async (t) => {
  const dir = t.testdir({ 'ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', 'junk.pem': 'hello' })
  const ok = loadConfig({ argv: ['--pixie.ca-file', join(dir, 'ca.pem')], env: MINIMAL_ENV })
  t.equal(ok.config.pixie.caFile, join(dir, 'ca.pem'), 'the path is kept')

  const junk = problems(t, () => loadConfig({ argv: [], env: { ...MINIMAL_ENV, PIXIE_EXPORTER_CA_FILE: join(dir, 'junk.pem') } }))
  t.strictSame(junk, [`PIXIE_EXPORTER_CA_FILE: ${join(dir, 'junk.pem')} holds no PEM certificate`], 'not PEM')

  const mode = problems(t, () =>
    loadConfig({ argv: ['--pixie.ca-file', join(dir, 'ca.pem')], env: { ...MINIMAL_ENV, PIXIE_EXPORTER_TLS: 'skip-verify' } }),
  )
  t.strictSame(mode, ['--pixie.ca-file: only allowed with TLS mode verify (PIXIE_EXPORTER_TLS is skip-verify)'], 'wrong mode')
})

t.test('environment values are checked and named by their variable', async (t) => {
  const lines = problems(t, () =>
    loadConfig({
      argv: [],
      env: {
        PX_CLUSTER_ID: 'cluster-1',
        PX_API_KEY: 'k',
        PX_CLOUD_ADDR: 'withpixie.ai',
        PIXIE_EXPORTER_TLS: 'on',
        PIXIE_EXPORTER_LISTEN_ADDRESS: '10049',
        PIXIE_EXPORTER_LOG_LEVEL: 'loud',
      },
    }),
  )
  t.strictSame(
    lines,
    [
      'PX_CLOUD_ADDR: must be host:port (e.g. work.withpixie.ai:443)',
      'PX_CLUSTER_ID: must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
      'PIXIE_EXPORTER_TLS: must be one of verify, skip-verify, plaintext',
      'PIXIE_EXPORTER_LISTEN_ADDRESS: must be host:port or :port (e.g. 0.0.0.0:10049, :10049 or [::1]:10049)',
      'PIXIE_EXPORTER_LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal',
    ],
    'one line per bad variable',
  )
})

t.test('a listen address may be :PORT, meaning every IPv4 interface, as Prometheus exporters accept it', async (t) => {
  const { config } = loadConfig({ argv: ['--web.listen-address', ':10050'], env: MINIMAL_ENV })
  t.equal(config.web.host, '0.0.0.0', ':PORT listens on every IPv4 interface')
  t.equal(config.web.port, 10050, 'the port is read')
  t.equal(config.web.listenAddress, ':10050', 'the address is kept as written')
  const lines = problems(t, () => loadConfig({ argv: ['--web.listen-address', ':99999'], env: MINIMAL_ENV }))
  t.strictSame(lines, ['--web.listen-address: port must be from 0 to 65535'], 'the port of :PORT is checked')
})

t.test('a mistyped IPv4 address is refused before serving, not left to fail at resolution', async (t) => {
  t.strictSame(
    problems(t, () => loadConfig({ argv: ['--web.listen-address', '256.1.1.1:80'], env: MINIMAL_ENV })),
    ['--web.listen-address: 256.1.1.1 is not a valid IPv4 address'],
    'listen address',
  )
  t.strictSame(
    problems(t, () => loadConfig({ argv: ['--pixie.address', '10.0.0.300:443'], env: MINIMAL_ENV })),
    ['--pixie.address: 10.0.0.300 is not a valid IPv4 address'],
    'Pixie address',
  )
  t.equal(loadConfig({ argv: ['--pixie.address', '10.0.0.3:443'], env: MINIMAL_ENV }).config.pixie.address, '10.0.0.3:443', 'a valid one is kept')
})

t.test('log.format is logfmt or json, from the flag, the environment or the file', async (t) => {
  t.equal(loadConfig({ argv: [], env: MINIMAL_ENV }).config.log.format, 'json', 'json by default')
  t.equal(loadConfig({ argv: ['--log.format=logfmt'], env: MINIMAL_ENV }).config.log.format, 'logfmt', 'the flag sets it')
  t.equal(loadConfig({ argv: [], env: { ...MINIMAL_ENV, PIXIE_EXPORTER_LOG_FORMAT: 'logfmt' } }).config.log.format, 'logfmt', 'the variable sets it')
  const lines = problems(t, () => loadConfig({ argv: ['--log.format', 'text'], env: MINIMAL_ENV }))
  t.strictSame(lines, ['--log.format: must be one of logfmt, json'], 'another value names the flag')
})

t.test('flag values are checked and named by their flag', async (t) => {
  const argv = ['--pixie.address', 'pixie:0', '--pixie.cluster-id', 'x', '--web.listen-address', 'localhost:65536']
  const lines = problems(t, () => loadConfig({ argv, env: MINIMAL_ENV }))
  t.strictSame(
    lines,
    [
      '--pixie.address: port must be from 1 to 65535',
      '--pixie.cluster-id: must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
      '--web.listen-address: port must be from 0 to 65535',
    ],
    'one line per bad flag',
  )
})

t.test('a bad value is reported even when a higher source overrides it', async (t) => {
  const lines = problems(t, () =>
    loadConfig({ argv: ['--log.level', 'info'], env: { ...MINIMAL_ENV, PIXIE_EXPORTER_LOG_LEVEL: 'nope' } }),
  )
  t.strictSame(lines, ['PIXIE_EXPORTER_LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal'], 'exact message')
})

t.test('unknown PIXIE_EXPORTER_ variables are rejected by name', async (t) => {
  const lines = problems(t, () =>
    loadConfig({ argv: [], env: { ...MINIMAL_ENV, PIXIE_EXPORTER_LOGLEVEL: 'debug', PIXIE_EXPORTER_API_KEY: 'x', PX_OTHER: 'fine' } }),
  )
  t.strictSame(
    lines,
    ['PIXIE_EXPORTER_API_KEY: unknown environment variable', 'PIXIE_EXPORTER_LOGLEVEL: unknown environment variable'],
    'both typos named, sorted; other prefixes ignored',
  )
})

t.test('Kubernetes service-link variables are not mistaken for typos', async (t) => {
  const env = {
    ...MINIMAL_ENV,
    PIXIE_EXPORTER_SERVICE_HOST: '10.0.0.7',
    PIXIE_EXPORTER_SERVICE_PORT: '10049',
    PIXIE_EXPORTER_SERVICE_PORT_METRICS: '10049',
    PIXIE_EXPORTER_PORT: 'tcp://10.0.0.7:10049',
    PIXIE_EXPORTER_PORT_10049_TCP: 'tcp://10.0.0.7:10049',
    PIXIE_EXPORTER_PORT_10049_TCP_PROTO: 'tcp',
    PIXIE_EXPORTER_PORT_10049_TCP_PORT: '10049',
    PIXIE_EXPORTER_PORT_10049_TCP_ADDR: '10.0.0.7',
  }
  t.doesNotThrow(() => loadConfig({ argv: [], env }), 'the variables of a Service named pixie-exporter are ignored')
  const lines = problems(t, () => loadConfig({ argv: [], env: { ...MINIMAL_ENV, PIXIE_EXPORTER_LISTEN_PORT: '9000' } }))
  t.strictSame(lines, ['PIXIE_EXPORTER_LISTEN_PORT: unknown environment variable'], 'a _PORT typo is still caught')
})

t.test('unknown flags, missing values and stray arguments are all reported', async (t) => {
  // `--log.level --check-config` is ambiguous, as parseArgs' strict mode says.
  const argv = ['--foo', 'bar', '-v', '--log.level', '--check-config', 'stray', '-config.file=x', '--config']
  const lines = problems(t, () => loadConfig({ argv, env: MINIMAL_ENV, readFile: memoryReadFile({}) }))
  t.strictSame(
    lines,
    [
      'unknown flag --foo',
      'unknown flag -v',
      '--log.level: requires a value',
      'unexpected argument in position 6 (flags take the form --name VALUE)',
      'unknown flag -config.file',
      '--config: requires a value',
    ],
    'every problem, the value of an unknown flag not echoed',
  )
})

t.test('--check-config sets checkOnly', async (t) => {
  t.equal(loadConfig({ argv: ['--check-config'], env: MINIMAL_ENV }).checkOnly, true, 'checkOnly is true')
  const lines = problems(t, () => loadConfig({ argv: ['--check-config=false'], env: MINIMAL_ENV }))
  t.strictSame(lines, ['--check-config: takes no value'], 'it takes no value')
})

t.test('a missing config file is one short error', async (t) => {
  const lines = problems(t, () => loadConfig({ argv: ['--config', 'nope.yaml'], env: {}, readFile: memoryReadFile({}) }))
  t.strictSame(lines, ['--config: cannot read nope.yaml: ENOENT: no such file or directory'], 'no follow-on "required" errors')
})

t.test('the result is deep-frozen', async (t) => {
  const { config } = loadConfig({ argv: ['--config', fixturePath('valid-full.yaml')], env: {} })
  t.ok(Object.isFrozen(config), 'the root')
  t.ok(Object.isFrozen(config.collectors.http.schedule), 'a nested object')
  t.ok(Object.isFrozen(config.collectors.http.namespaces.include), 'an array')
  t.throws(() => {
    ;(config.pixie as { address: string }).address = 'x:1'
  }, 'assignment throws in strict mode')
})

t.test('redactConfig hides the API key and leaves the config alone', async (t) => {
  const { config } = loadConfig({ argv: [], env: MINIMAL_ENV })
  const shown = redactConfig(config) as Config
  t.equal(shown.pixie.apiKey, '<secret>', 'the key is replaced')
  t.notMatch(JSON.stringify(shown), 'px-api-env-key', 'the key is nowhere in the copy')
  t.equal(shown.pixie.clusterId, CLUSTER_ID, 'other fields are kept')
  t.equal(config.pixie.apiKey, 'px-api-env-key', 'the original is unchanged')
  const plain = loadConfig({ argv: ['--pixie.tls', 'plaintext'], env: { PX_CLUSTER_ID: CLUSTER_ID } }).config
  t.equal((redactConfig(plain) as Config).pixie.apiKey, undefined, 'an unset key stays unset')
})

t.test('the web config file comes from the flag, the environment or the file, and must be readable', async (t) => {
  const dir = t.testdir({ 'web.yml': 'basic_auth_users: {}\n' })
  const env = { PX_CLUSTER_ID: '10000000-0000-0000-0000-000000000001', PX_API_KEY: 'px-api-key-0001' }
  const path = `${dir}/web.yml`
  t.equal(loadConfig({ argv: ['--web.config.file', path], env }).config.web.configFile, path, 'from --web.config.file')
  t.equal(loadConfig({ argv: [], env: { ...env, PIXIE_EXPORTER_WEB_CONFIG_FILE: path } }).config.web.configFile, path, 'from the environment')
  t.throws(
    () => loadConfig({ argv: ['--web.config.file', `${dir}/missing.yml`], env }),
    { errors: [`--web.config.file: cannot read ${dir}/missing.yml: ENOENT: no such file or directory`] },
    'an unreadable file is named before serving',
  )
})
