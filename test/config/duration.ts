import t from 'tap'
import { formatDuration, parseDuration } from '../../src/config/duration.js'

t.test('parseDuration reads single and compound units', async (t) => {
  const table: [string, number][] = [
    ['0', 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['90s', 90_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1s500ms', 1_500],
    ['0s', 0],
  ]
  for (const [text, ms] of table) t.equal(parseDuration(text), ms, `${text} is ${ms}ms`)
})

t.test('parseDuration rejects anything else with a TypeError', async (t) => {
  const bad = ['', '10', '1.5s', '-1s', '+1s', ' 1s', '1s ', '1 s', '10S', '1w', '1y', '1us', 's', '30s1m', '1m1m', 'ms', '1e3ms', '9999999999999999999d']
  for (const text of bad) t.throws(() => parseDuration(text), TypeError, `${JSON.stringify(text)} is rejected`)
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
  ]
  for (const [ms, text] of table) t.equal(formatDuration(ms), text, `${ms}ms is ${text}`)
})

t.test('formatDuration and parseDuration round-trip', async (t) => {
  for (const ms of [1, 999, 1_000, 59_999, 61_001, 3_599_999, 90_061_001]) {
    t.equal(parseDuration(formatDuration(ms)), ms, `${ms}ms survives the round trip`)
  }
})

t.test('formatDuration rejects negative and fractional values', async (t) => {
  for (const ms of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => formatDuration(ms), TypeError, `${ms} is rejected`)
  }
})
