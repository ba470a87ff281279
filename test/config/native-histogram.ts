import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { CLUSTER_ID, memoryReadFile, problems } from '../fixtures/config/helpers.js'

const load = (http: string) =>
  loadConfig({ argv: ['--config', 'c.yaml'], env: { PX_API_KEY: 'k' }, readFile: memoryReadFile({ 'c.yaml': `pixie: {clusterId: ${CLUSTER_ID}}\ncollectors:\n  http:\n${http}` }) })

t.test('collectors.http.nativeHistogram: off unless enabled, defaults schema 3 and separate classic buckets', async (t) => {
  t.equal(load('    interval: 15s\n').config.collectors.http.nativeHistogram, undefined, 'absent: classic only')
  t.equal(load('    nativeHistogram: {enabled: false, schema: 5}\n').config.collectors.http.nativeHistogram, undefined, 'enabled: false: classic only')
  t.same(load('    nativeHistogram: {enabled: true}\n').config.collectors.http.nativeHistogram, { schema: 3, classicBuckets: 'separate' }, 'defaults')
  t.same(load('    nativeHistogram: {enabled: true, schema: 8, classicBuckets: inline}\n').config.collectors.http.nativeHistogram, { schema: 8, classicBuckets: 'inline' }, 'every key set')
})

t.test('bad nativeHistogram values are named', async (t) => {
  t.same(problems(t, () => load('    nativeHistogram: {enabled: true, schema: 9}\n')), ['collectors.http.nativeHistogram.schema: must be an integer from 0 to 8'], 'schema out of range')
  t.same(problems(t, () => load('    nativeHistogram: {enabled: true, classicBuckets: both}\n')), ['collectors.http.nativeHistogram.classicBuckets: must be one of separate, inline, none'], 'unknown placement')
  t.same(problems(t, () => load('    nativeHistogram: {enabled: yes please}\n')), ['collectors.http.nativeHistogram.enabled: must be true or false'], 'not a boolean')
  t.match(problems(t, () => load('    nativeHistogram: {enabled: true, zeroThreshold: 0}\n')).join('\n'), /collectors\.http\.nativeHistogram.*zeroThreshold/, 'unknown keys are refused')
})

t.test('collectors.http.metrics picks the families of the built-in collector', async (t) => {
  t.same(
    load('    interval: 15s\n').config.collectors.http.metrics,
    ['pixie_http_requests_per_second', 'pixie_http_errors_per_second', 'pixie_http_requests_total', 'pixie_http_request_duration_seconds'],
    'absent: the default series set (no error_ratio, no quantile gauges)',
  )
  t.same(
    load('    metrics: [pixie_http_requests_per_second, pixie_http_errors_per_second, pixie_http_error_ratio, pixie_http_latency_seconds, pixie_http_requests_total, pixie_http_request_duration_seconds]\n').config.collectors.http.metrics,
    ['pixie_http_requests_per_second', 'pixie_http_errors_per_second', 'pixie_http_error_ratio', 'pixie_http_latency_seconds', 'pixie_http_requests_total', 'pixie_http_request_duration_seconds'],
    'every family, when listed',
  )
  t.equal(load('    interval: 15s\n').config.collectors.http.histogramSumAndCount, false, 'the histogram has no _sum/_count by default')
  t.equal(load('    histogramSumAndCount: true\n').config.collectors.http.histogramSumAndCount, true, 'histogramSumAndCount: true turns them on')
  t.same(problems(t, () => load('    histogramSumAndCount: sometimes\n')), ['collectors.http.histogramSumAndCount: must be true or false'], 'a non-boolean is named')
  t.same(load('    metrics: [pixie_http_requests_total, pixie_http_request_duration_seconds]\n').config.collectors.http.metrics, ['pixie_http_requests_total', 'pixie_http_request_duration_seconds'], 'a subset')
  t.match(problems(t, () => load('    metrics: [pixie_http_requests]\n')).join('\n'), /collectors\.http\.metrics.*must be one of pixie_http_requests_per_second/, 'an unknown family is named')
  t.match(problems(t, () => load('    metrics: []\n')).join('\n'), /collectors\.http\.metrics: must be a list of distinct metric family names, at least one/, 'an empty list is refused')
  t.match(problems(t, () => load('    metrics: [pixie_http_error_ratio, pixie_http_error_ratio]\n')).join('\n'), /collectors\.http\.metrics: must be a list of distinct/, 'duplicates are refused')
  t.same(
    problems(t, () => load('    metrics: [pixie_http_requests_total]\n    nativeHistogram: {enabled: true}\n')),
    ['collectors.http.nativeHistogram: enabled, but collectors.http.metrics leaves out pixie_http_request_duration_seconds'],
    'a native histogram needs the histogram family',
  )
})
