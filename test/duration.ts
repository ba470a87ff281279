import t from 'tap'
import { DurationSyntaxError, DURATION_PATTERN, formatDuration, isDuration, parseDuration, parseDurationFine } from '../src/duration.js'
import { loadConfig } from '../src/config/load.js'
import { scenarioProblems } from './fixtures/simulator-helpers.js'
import { ConfigError } from '../src/errors.js'

// One grammar (src/duration.ts) for the configuration and the scenarios;
// these tables are its specification.

t.test('parseDuration reads single, compound and decimal parts', async (t) => {
  const table: [string, number][] = [
    ['0', 0],
    ['0s', 0],
    ['0ms', 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['90s', 90_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1s500ms', 1_500],
    ['1.5s', 1_500],
    ['1.1s', 1_100],
    ['0.001s', 1],
    ['1.25h30.5s', 4_530_500],
    ['007s', 7_000],
    [`${Number.MAX_SAFE_INTEGER}ms`, Number.MAX_SAFE_INTEGER],
  ]
  for (const [text, ms] of table) t.equal(parseDuration(text), ms, `${text} is ${ms}ms`)
})

t.test('parseDuration refuses everything else with a DurationSyntaxError naming the text', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /not a duration/],
    [' ', /not a duration/],
    [' 1s', /not a duration/],
    ['1s ', /not a duration/],
    ['1 s', /not a duration/],
    ['1s\n', /not a duration/],
    ['10', /not a duration/],
    ['-1s', /not a duration/],
    ['+1s', /not a duration/],
    ['-0', /not a duration/],
    ['10S', /not a duration/],
    ['1H', /not a duration/],
    ['1Ms', /not a duration/],
    ['1w', /not a duration/],
    ['1y', /not a duration/],
    ['1us', /not a duration/],
    ['s', /not a duration/],
    ['ms', /not a duration/],
    ['30s1m', /not a duration/],
    ['1m1m', /not a duration/],
    ['1h1h', /not a duration/],
    ['1s1s', /not a duration/],
    ['.5s', /not a duration/],
    ['1.s', /not a duration/],
    ['1e3ms', /not a duration/],
    ['1,5s', /not a duration/],
    ['1.5ms', /finer than a millisecond/],
    ['0.0001s', /finer than a millisecond/],
    ['9999999999999999999d', /too large/],
    [`${Number.MAX_SAFE_INTEGER + 1}ms`, /too large/],
  ]
  for (const [text, reason] of bad) {
    t.throws(() => parseDuration(text), DurationSyntaxError, `${JSON.stringify(text)} is refused`)
    t.throws(() => parseDuration(text), { message: reason, text }, `${JSON.stringify(text)}: the reason and the text`)
    t.equal(isDuration(text), false, `isDuration(${JSON.stringify(text)}) is false`)
  }
  t.ok(new DurationSyntaxError('x', 'y') instanceof TypeError, 'a DurationSyntaxError is a TypeError')
})

t.test('parseDurationFine keeps fractions of a millisecond, down to the nanosecond', async (t) => {
  t.equal(parseDurationFine('0.5ms'), 0.5, '0.5ms')
  t.equal(parseDurationFine('1s0.25ms'), 1_000.25, '1s0.25ms')
  t.equal(parseDurationFine('0.000001ms'), 0.000001, 'one nanosecond')
  t.equal(parseDurationFine('1m30s'), 90_000, 'compound values as parseDuration')
  t.throws(() => parseDurationFine('0.0000001ms'), { message: /finer than a nanosecond/ }, 'a tenth of a nanosecond is refused')
  t.throws(() => parseDurationFine('1h1h'), DurationSyntaxError, 'the same grammar: no repeated units')
})

t.test('DURATION_PATTERN accepts exactly the texts of the grammar', async (t) => {
  for (const text of ['0', '1.5m', '1m30s', '500ms', '1d2h3m4s5ms']) t.match(text, DURATION_PATTERN, `${text} matches`)
  for (const text of ['', '10', '1h1h', ' 1s', '1S', '-1s']) t.notMatch(text, DURATION_PATTERN, `${JSON.stringify(text)} does not match`)
})

t.test('formatDuration writes the largest units first', async (t) => {
  const table: [number, string][] = [
    [0, '0s'],
    [500, '500ms'],
    [1_500, '1s500ms'],
    [15_000, '15s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
    [93_784_005, '1d2h3m4s5ms'],
    [0.5, '0.5ms'],
    [1_000.25, '1s0.25ms'],
  ]
  for (const [ms, text] of table) t.equal(formatDuration(ms), text, `${ms}ms is ${text}`)
})

t.test('formatDuration and the parsers round-trip', async (t) => {
  for (const ms of [1, 999, 1_000, 59_999, 61_001, 3_599_999, 90_061_001, Number.MAX_SAFE_INTEGER]) {
    t.equal(parseDuration(formatDuration(ms)), ms, `${ms}ms survives the round trip`)
  }
  for (const ms of [0.5, 1_000.001, 59_999.999999]) t.equal(parseDurationFine(formatDuration(ms)), ms, `${ms}ms survives the fine round trip`)
})

t.test('formatDuration rejects negative, infinite and oversized values', async (t) => {
  for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2]) {
    t.throws(() => formatDuration(ms), TypeError, `${ms} is rejected`)
  }
})

const CLUSTER = '11111111-2222-3333-4444-555555555555'

function configProblems(yaml: string): readonly string[] {
  try {
    loadConfig({ argv: ['--config', 'c.yaml'], env: { PX_API_KEY: 'key', PX_CLUSTER_ID: CLUSTER }, readFile: () => yaml })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.errors
    throw err
  }
}

const SCENARIO = (until: string): string => `
name: durations
pods:
  - namespace: shop
    name: checkout-aaaaa
    until: ${JSON.stringify(until)}
    phases:
      - at: 0s
        rps: 10
        errorRatio: 0
        latency: { p50: 20ms, p99: 80ms }
`

t.test('the configuration and the scenarios accept and refuse the same texts', async (t) => {
  t.same(scenarioProblems(SCENARIO('2m')), [], 'the scenario template itself is valid')
  for (const text of ['1m30s', '1.5m', '90s', '1m29.5s', '1d']) {
    t.same(configProblems(`pixie:\n  timeout: "${text.replace('1d', '5m')}"\n`), [], `config accepts ${text}`)
    t.same(scenarioProblems(SCENARIO(text)), [], `scenario accepts ${text}`)
  }
  for (const text of ['1h1h', '1M', ' 1m', '-1m', '1 m', '']) {
    t.same(
      configProblems(`pixie:\n  timeout: ${JSON.stringify(text)}\n`),
      ['pixie.timeout: must be a duration (e.g. 500ms, 10s, 1m30s, 2h, 1d)'],
      `config refuses ${JSON.stringify(text)} naming the field`,
    )
    t.match(scenarioProblems(SCENARIO(text)), [/^pods\[0\]\.until: must be a duration/], `scenario refuses ${JSON.stringify(text)} naming the field`)
  }
})

t.test('range checks belong to the field: 0 is a duration, but not a valid timeout', async (t) => {
  t.same(configProblems('pixie:\n  timeout: "0"\n'), ['pixie.timeout: must be greater than 0 and at most 10m'], 'zero timeout')
  t.same(configProblems('pixie:\n  timeout: "10m0.001s"\n'), ['pixie.timeout: must be greater than 0 and at most 10m'], 'just over the maximum')
  t.same(configProblems('pixie:\n  timeout: "10m"\n'), [], 'the maximum itself')
  t.same(configProblems('collectors:\n  http:\n    lag: "0"\n'), [], 'a zero lag is allowed')
})
