import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import { loadConfig } from '../../src/config/load.js'
import { FIXTURE_API_KEY, fixturePath } from '../fixtures/config/helpers.js'

// Cron schedules run in local time; the gaps quoted in messages are those of UTC (no DST).
process.env['TZ'] = 'UTC'

// Each fixture is a working configuration with one mistake (`many` has
// several), and `want` is the exact list of lines the ConfigError carries.
// The API key is set in the fixtures so that every row also proves it is
// never echoed.
interface Row {
  readonly file: string
  readonly want: (path: string) => readonly string[]
}

const DURATION = 'must be a duration (e.g. 500ms, 10s, 1m30s, 2h, 1d)'
const UNEVEN =
  'must divide a minute, an hour or a day evenly (e.g. 10s, 15s, 30s, 1m, 5m); use collectors.http.schedule for other cadences'

const rows: readonly Row[] = [
  { file: 'invalid-unknown-key.yaml', want: () => ['collectors.http.windw: unknown key'] },
  { file: 'invalid-unknown-section.yaml', want: () => ['pixi: unknown key'] },
  { file: 'invalid-address.yaml', want: () => ['pixie.address: must be host:port (e.g. work.withpixie.ai:443)'] },
  { file: 'invalid-cluster-id.yaml', want: () => ['pixie.clusterId: must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)'] },
  {
    file: 'invalid-cluster-id-missing.yaml',
    want: () => ['pixie.clusterId: required (set PX_CLUSTER_ID, --pixie.cluster-id or pixie.clusterId)'],
  },
  { file: 'invalid-api-key-both.yaml', want: () => ['pixie.apiKey: conflicts with pixie.apiKeyFile (set only one)'] },
  {
    file: 'invalid-api-key-missing.yaml',
    want: () => ['pixie.apiKey: required (set PX_API_KEY, pixie.apiKey or pixie.apiKeyFile)'],
  },
  { file: 'invalid-api-key-type.yaml', want: () => ['pixie.apiKey: must be a non-empty string'] },
  { file: 'invalid-api-key-spaces.yaml', want: () => ['pixie.apiKey: must be printable ASCII without spaces'] },
  { file: 'invalid-tls.yaml', want: () => ['pixie.tls: must be one of verify, skip-verify, plaintext'] },
  {
    file: 'invalid-ca-file-without-verify.yaml',
    want: () => ['pixie.caFile: only allowed with TLS mode verify (pixie.tls is skip-verify)'],
  },
  {
    file: 'invalid-ca-file-unreadable.yaml',
    want: () => ['pixie.caFile: cannot read /nonexistent/pixie-exporter/ca.pem: ENOENT: no such file or directory'],
  },
  { file: 'invalid-timeout.yaml', want: () => ['pixie.timeout: must be greater than 0 and at most 10m'] },
  { file: 'invalid-duration.yaml', want: () => [`collectors.http.window: ${DURATION}`] },
  { file: 'invalid-window.yaml', want: () => ['collectors.http.window: must be from 1s to 1h'] },
  { file: 'invalid-interval-uneven.yaml', want: () => [`collectors.http.interval: ${UNEVEN}`] },
  { file: 'invalid-interval-short.yaml', want: () => ['collectors.http.interval: must be at least 1s'] },
  {
    file: 'invalid-interval-and-schedule.yaml',
    want: () => ['collectors.http.interval: conflicts with collectors.http.schedule (set only one)'],
  },
  {
    file: 'invalid-schedule-fields.yaml',
    want: () => [
      'collectors.http.schedule: must be a cron expression with 6 fields (second minute hour day-of-month month day-of-week)',
    ],
  },
  {
    file: 'invalid-schedule-value.yaml',
    want: () => ['collectors.http.schedule: invalid cron fields second "61", day-of-week "mon-fry"'],
  },
  { file: 'invalid-error-status.yaml', want: () => ['collectors.http.errorStatusMin: must be an integer from 100 to 599'] },
  {
    file: 'invalid-namespace.yaml',
    want: () => [
      'collectors.http.namespaces.include[1]: must be a Kubernetes namespace name (lower-case letters, digits and "-", at most 63 characters)',
    ],
  },
  { file: 'invalid-namespace-both.yaml', want: () => ['collectors.http.namespaces: "shop" is in both include and exclude'] },
  { file: 'invalid-stale-after.yaml', want: () => ['collectors.http.staleAfter: must be at least the interval (30s)'] },
  { file: 'invalid-collector-timeout.yaml', want: () => ['collectors.http.timeout: must be greater than 0 and at most 10m'] },
  { file: 'invalid-max-rows.yaml', want: () => ['collectors.http.maxRows: must be an integer from 1 to 9007199254740991'] },
  // Issue 13, defect 8: accepted by --check-config at 3fef3da, then failing at run time.
  { file: 'invalid-max-rows-huge.yaml', want: () => ['collectors.http.maxRows: must be an integer from 1 to 9007199254740991'] },
  {
    file: 'invalid-buckets-huge.yaml',
    want: () => ['collectors.http.buckets[1]: must be at most 9223372036 seconds (Pixie counts latencies in int64 nanoseconds)'],
  },
  { file: 'invalid-buckets-tiny.yaml', want: () => ['collectors.http.buckets[0]: must be at least 1ns (0.000000001 seconds)'] },
  {
    file: 'invalid-buckets-same-ns.yaml',
    want: () => ['collectors.http.buckets: 1.0000000001 and 1.0000000002 are the same bound in nanoseconds (bounds must be at least 1ns apart)'],
  },
  { file: 'invalid-stale-after-cron.yaml', want: () => ['collectors.http.staleAfter: must be at least the longest gap between runs of the schedule (10s)'] },
  {
    file: 'invalid-stale-after-cron-gap.yaml',
    want: () => [
      'collectors.http.staleAfter: must be at least the longest gap between runs of the schedule (54m10s)',
      'collectors.http.expireAfter: must be at least the longest gap between runs of the schedule (54m10s)',
    ],
  },
  { file: 'invalid-lag.yaml', want: () => ['collectors.http.lag: must be from 0s to 5m'] },
  { file: 'invalid-expire-after.yaml', want: () => ['collectors.http.expireAfter: must be at least the interval (30s)'] },
  { file: 'invalid-buckets-order.yaml', want: () => ['collectors.http.buckets: must be strictly increasing'] },
  { file: 'invalid-buckets-value.yaml', want: () => ['collectors.http.buckets[0]: must be a number of seconds greater than 0'] },
  {
    file: 'invalid-listen-address.yaml',
    want: () => ['web.listenAddress: must be host:port or :port (e.g. 0.0.0.0:10049, :10049 or [::1]:10049)'],
  },
  { file: 'invalid-listen-port.yaml', want: () => ['web.listenAddress: port must be from 0 to 65535'] },
  { file: 'invalid-log-level.yaml', want: () => ['log.level: must be one of trace, debug, info, warn, error, fatal'] },
  { file: 'invalid-section-type.yaml', want: () => ['collectors: must be a mapping'] },
  { file: 'invalid-not-mapping.yaml', want: (path) => [`${path}: must be a YAML mapping`] },
  {
    file: 'invalid-yaml.yaml',
    want: (path) => [
      `${path}: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 7, column 1`,
    ],
  },
  {
    file: 'invalid-duplicate-key.yaml',
    want: (path) => [`${path}: invalid YAML: Map keys must be unique at line 4, column 3`],
  },
  {
    file: 'invalid-many.yaml',
    // The schema's findings first (durations and their ranges are schema
    // rules), then the rules that also cover the environment and flags.
    want: () => [
      `pixie.timeout: ${DURATION}`,
      'collectors.http.errorStatusMin: must be an integer from 100 to 599',
      'collectors.http.maxRows: must be an integer from 1 to 9007199254740991',
      'web.listenAddres: unknown key',
      'log.level: must be one of trace, debug, info, warn, error, fatal',
      'pixie.address: must be host:port (e.g. work.withpixie.ai:443)',
      'pixie.clusterId: must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
      `collectors.http.interval: ${UNEVEN}`,
    ],
  },
]

for (const row of rows) {
  t.test(row.file, async (t) => {
    const path = fixturePath(row.file)
    const err = t.throws(() => loadConfig({ argv: ['--config', path], env: {} }), 'the file is rejected')
    t.type(err, ConfigError, 'as a ConfigError')
    if (!(err instanceof ConfigError)) return
    t.same(err.errors, row.want(path), 'with exactly the expected messages')
    t.notMatch(err.message, FIXTURE_API_KEY, 'without the API key')
  })
}
