import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { COLLECTOR_DURATION_RANGES, PXL_DEFAULTS, durationRangeMessage, type DurationRange } from '../../src/config/schema.js'
import { formatDuration, parseDuration } from '../../src/duration.js'
import { ConfigError } from '../../src/errors.js'
import { CLUSTER_ID, FIXTURE_API_KEY, memoryReadFile } from '../fixtures/config/helpers.js'

// Each duration setting's range is declared once, in the schema
// (COLLECTOR_DURATION_RANGES, through the x-duration keyword), and holds in
// the same words for the HTTP, custom and library collectors.

/** The problems of a config whose `collectors` section is `collectors` (YAML, indented by 2); [] when it loads. */
function problems(collectors: string): readonly string[] {
  const yaml = `pixie:\n  clusterId: ${CLUSTER_ID}\n  apiKey: ${FIXTURE_API_KEY}\ncollectors:\n${collectors}`
  try {
    loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: memoryReadFile({ 'c.yaml': yaml }) })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.errors
    throw err
  }
}

/** The three places a collector setting can be written, each with `key: value` in it. */
function placesOf(key: string, value: string): Record<string, { field: string; yaml: string }> {
  return {
    http: { field: `collectors.http.${key}`, yaml: `  http:\n    ${key}: "${value}"\n` },
    custom: {
      field: `collectors.custom[0].${key}`,
      yaml: [
        '  custom:',
        '    - name: orders',
        '      pxl: "import px"',
        '      table: t',
        '      labels: [{column: pod}]',
        '      metrics: [{column: requests, name: shop_requests_total, help: Requests., type: counter}]',
        `      ${key}: "${value}"`,
        '',
      ].join('\n'),
    },
    library: { field: `collectors.libraryOptions.dns.${key}`, yaml: `  library: [dns]\n  libraryOptions:\n    dns:\n      ${key}: "${value}"\n` },
  }
}

/** Values just outside a range: below its minimum and above its maximum. */
function outside(range: DurationRange): string[] {
  const min = range.positive === true ? 1 : range.min === undefined ? undefined : parseDuration(range.min)
  const out: string[] = []
  if (min !== undefined && min > 0) out.push(formatDuration(min - 1))
  if (range.max !== undefined) out.push(formatDuration(parseDuration(range.max) + 1))
  return out
}

t.test('the messages are written from the declared range', async (t) => {
  t.equal(durationRangeMessage({ min: '1s', max: '1h' }), 'must be from 1s to 1h', 'min and max')
  t.equal(durationRangeMessage({ positive: true, max: '10m' }), 'must be greater than 0 and at most 10m', 'positive and max')
  t.equal(durationRangeMessage({ positive: true }), 'must be greater than 0', 'positive')
  t.equal(durationRangeMessage({ min: '1s' }), 'must be at least 1s', 'min')
  t.equal(durationRangeMessage({ max: '5m' }), 'must be at most 5m', 'max')
  t.equal(durationRangeMessage({}), undefined, 'no range')
})

for (const [key, range] of Object.entries(COLLECTOR_DURATION_RANGES)) {
  t.test(`${key}: one range for every collector`, async (t) => {
    const declared: DurationRange = range
    const message = durationRangeMessage(declared)
    for (const [place, { field }] of Object.entries(placesOf(key, ''))) {
      for (const value of outside(declared)) {
        const got = problems(placesOf(key, value)[place]?.yaml ?? '')
        t.ok(got.includes(`${field}: ${message}`), `${place}: ${value} is refused with "${field}: ${message}"`)
      }
      // The largest value allowed, else a large one; 1h is a valid interval (it divides a day).
      const inside = declared.max ?? '1h'
      const got = problems(placesOf(key, inside)[place]?.yaml ?? '')
      t.notOk(got.some((line) => line.startsWith(`${field}:`)), `${place}: ${inside} is accepted`)
    }
  })
}

t.test('the collectors\' default durations lie inside their declared ranges', async (t) => {
  for (const key of ['interval', 'window', 'lag', 'maxCatchUp', 'expireAfter'] as const) {
    const range: DurationRange = COLLECTOR_DURATION_RANGES[key]
    const ms = parseDuration(PXL_DEFAULTS[key])
    const min = range.positive === true ? 1 : range.min === undefined ? 0 : parseDuration(range.min)
    const max = range.max === undefined ? Number.MAX_SAFE_INTEGER : parseDuration(range.max)
    t.ok(ms >= min && ms <= max, `${key}: ${PXL_DEFAULTS[key]} is within the range`)
  }
})
