/**
 * The analyze command against a scripted Prometheus API on loopback: args
 * substitution, Argo's conversion of each result type, Argo's phase rules,
 * and the exit statuses.
 */
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ANALYZE_EXIT, analyzeTemplate, runAnalyzeCommand, worstPhase } from '../../src/analyze/command.js'
import { convertPromData, decidePhase } from '../../src/analyze/measure.js'
import { freePort } from '../fixtures/tools.js'

/** A loopback HTTP server answering each request with `answer(path, form)`; records the requests. */
async function fakeServer(
  answer: (path: string, form: URLSearchParams) => { status: number; body: unknown },
): Promise<{ url: string; requests: { path: string; form: URLSearchParams }[] }> {
  const requests: { path: string; form: URLSearchParams }[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const form = new URLSearchParams(req.method === 'POST' ? body : url.search)
      requests.push({ path: url.pathname, form })
      const a = answer(url.pathname, form)
      res.writeHead(a.status, { 'content-type': 'application/json' })
      res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  return { url: `http://127.0.0.1:${addr.port}`, requests }
}

const vector = (...values: string[]) => ({ status: 'success', data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1, v] })) } })
const scalar = (v: string) => ({ status: 'success', data: { resultType: 'scalar', result: [1, v] } })

function template(metrics: string, args = ''): string {
  return `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: t}
spec:
  args:
    - name: namespace
    - name: max
      value: "0.05"
    - name: address
      value: http://127.0.0.1:1
${args}
  metrics:
${metrics}`
}

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  return runAnalyzeCommand(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) }).then((code) => ({ code, out, err }))
}

t.test('Argo conversion: scalar → number, vector → values in order, empty → [], NaN and ±Inf parsed', async (t) => {
  t.same(convertPromData(scalar('0.25').data), { result: 0.25, value: '0.25' }, 'scalar')
  t.same(convertPromData(vector('0.1', '0.3', '0.2').data), { result: [0.1, 0.3, 0.2], value: '[0.1,0.3,0.2]' }, 'vector keeps answer order, drops labels')
  t.same(convertPromData(vector().data), { result: [], value: '[]' }, 'empty vector')
  const nan = convertPromData(scalar('NaN').data)
  t.ok(typeof nan.result === 'number' && Number.isNaN(nan.result), 'NaN scalar is NaN')
  t.same(convertPromData(vector('+Inf', '-Inf').data).result, [Infinity, -Infinity], '±Inf')
  t.same(convertPromData({ resultType: 'matrix', result: [{ values: [[1, '1'], [2, '2']] }, { values: [[1, '3']] }] }).result, [1, 2, 3], 'matrix is flattened')
  t.throws(() => convertPromData({ resultType: 'string', result: [1, 'x'] }), { code: 'PXE_ERR_ANALYZE_MEASUREMENT', message: /not supported: string/ }, 'string results are not supported')
})

t.test("Argo's phase rules", async (t) => {
  t.equal(decidePhase({}, 1).phase, 'Successful', 'no condition → Successful')
  t.equal(decidePhase({ successCondition: 'result < 1' }, 2).phase, 'Failed', 'success only, false → Failed')
  t.equal(decidePhase({ successCondition: 'result < 1' }, NaN).phase, 'Failed', 'success only, NaN → Failed')
  t.equal(decidePhase({ failureCondition: 'result > 1' }, 0).phase, 'Successful', 'failure only, false → Successful')
  t.equal(decidePhase({ successCondition: 'result < 1', failureCondition: 'result > 1' }, NaN).phase, 'Inconclusive', 'both false (NaN) → Inconclusive')
  t.equal(decidePhase({ successCondition: 'true', failureCondition: 'true' }, 0).phase, 'Failed', 'a true failure condition wins')
  t.equal(decidePhase({ successCondition: 'result[0] < 1' }, []).phase, 'Error', 'index error → Error')
  t.equal(decidePhase({ successCondition: 'true', failureCondition: 'result[0] > 1' }, []).phase, 'Error', 'an error in the failure condition → Error even if success is true')
  t.equal(decidePhase({ successCondition: 'result' }, 1).phase, 'Error', 'non-bool → Error')
  t.equal(worstPhase(['Successful', 'Inconclusive', 'Error']), 'Error', 'Error is worse than Inconclusive')
  t.equal(worstPhase(['Error', 'Failed', 'Successful']), 'Failed', 'Failed is the worst')
})

t.test('args are substituted everywhere (query, conditions) from --arg and defaults; instant query at now', async (t) => {
  const prom = await fakeServer(() => ({ status: 200, body: scalar('0.01') }))
  const text = template(`    - name: ratio
      successCondition: result <= {{args.max}}
      failureCondition: result > {{ args.max }}
      provider:
        prometheus:
          address: "{{args.address}}"
          query: sum(x{namespace="{{args.namespace}}"})`)
  const before = Date.now() / 1000
  const r = await analyzeTemplate(text, 't.yaml', { args: { namespace: 'demo', address: prom.url } })
  t.equal(r.phase, 'Successful', 'measured and decided')
  t.equal(r.measurements[0]?.resolved, 'sum(x{namespace="demo"})', 'the query is resolved')
  const req = prom.requests[0]
  t.equal(req?.path, '/api/v1/query', 'instant query endpoint')
  t.equal(req?.form.get('query'), 'sum(x{namespace="demo"})', 'resolved query sent')
  const time = Number(req?.form.get('time'))
  t.ok(time >= before - 1 && time <= Date.now() / 1000 + 1, `evaluation time is now (${time})`)
})

t.test('a missing arg is an error naming it; unknown args and unresolved placeholders too', async (t) => {
  const text = template(`    - name: ratio
      successCondition: result <= {{args.max}}
      provider:
        prometheus:
          query: x{namespace="{{args.namespace}}"}`, `    - name: canary-hash
      valueFrom:
        podTemplateHashValue: Latest`)
  await t.rejects(analyzeTemplate(text, 't.yaml', { args: {} }), { code: 'PXE_ERR_ANALYZE_TEMPLATE', message: /argument\(s\) not supplied: namespace, canary-hash \(valueFrom in the Rollout; pass it with --arg canary-hash=…\)/ }, 'missing args named')
  await t.rejects(analyzeTemplate(text, 't.yaml', { args: { namespace: 'a', 'canary-hash': 'h', bogus: '1' } }), { message: /unknown arg\(s\) bogus/ }, 'unknown --arg')
  const undeclared = template(`    - name: ratio
      provider:
        prometheus:
          query: x{pod="{{args.pod}}"}`)
  await t.rejects(analyzeTemplate(undeclared, 't.yaml', { args: { namespace: 'a' } }), { message: /failed to resolve \{\{args\.pod\}\}: not declared/ }, 'placeholder of an undeclared arg')
})

t.test('empty vector: result[0] is an Error, the len() guard is Inconclusive; NaN scalar with both conditions is Inconclusive', async (t) => {
  const answers: Record<string, unknown> = { empty: vector(), nan: scalar('NaN'), bad: vector('0.8') }
  const prom = await fakeServer((_p, form) => ({ status: 200, body: answers[form.get('query') ?? ''] }))
  const text = template(`    - name: unguarded
      successCondition: result[0] <= 0.05
      provider: {prometheus: {address: "{{args.address}}", query: empty}}
    - name: guarded
      successCondition: len(result) > 0 && result[0] <= 0.05
      failureCondition: len(result) > 0 && result[0] > 0.05
      provider: {prometheus: {address: "{{args.address}}", query: empty}}
    - name: nan
      successCondition: "!isNaN(result) && result <= 0.05"
      failureCondition: "!isNaN(result) && result > 0.05"
      provider: {prometheus: {address: "{{args.address}}", query: nan}}
    - name: bad
      successCondition: len(result) > 0 && result[0] <= 0.05
      failureCondition: len(result) > 0 && result[0] > 0.05
      provider: {prometheus: {address: "{{args.address}}", query: bad}}`)
  const r = await analyzeTemplate(text, 't.yaml', { args: { namespace: 'a', address: prom.url } })
  const phase = (n: string) => r.measurements.find((m) => m.metric === n)?.phase
  t.equal(phase('unguarded'), 'Error', 'result[0] on [] is an Error measurement')
  t.match(r.measurements[0]?.message, /index out of range/, 'and says why')
  t.equal(phase('guarded'), 'Inconclusive', 'len() guard on [] → Inconclusive')
  t.equal(phase('nan'), 'Inconclusive', 'NaN → Inconclusive')
  t.equal(r.measurements[2]?.value, 'NaN', 'value printed as Prometheus does')
  t.equal(phase('bad'), 'Failed', 'a bad value fails')
  t.equal(r.phase, 'Failed', 'the run takes the worst phase')
})

t.test('Prometheus errors and unreachable addresses are Error measurements', async (t) => {
  const prom = await fakeServer(() => ({ status: 400, body: { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' } }))
  const text = template(`    - name: m
      successCondition: "true"
      provider: {prometheus: {address: "{{args.address}}", query: "sum("}}`)
  const r = await analyzeTemplate(text, 't.yaml', { args: { namespace: 'a', address: prom.url } })
  t.equal(r.phase, 'Error', 'API error → Error')
  t.match(r.measurements[0]?.message, /bad_data: parse error at char 3/, 'Prometheus message kept')
  const down = await analyzeTemplate(text, 't.yaml', { args: { namespace: 'a' } })
  t.equal(down.phase, 'Error', 'connection refused → Error')
  t.match(down.measurements[0]?.message, /request to http:\/\/127\.0\.0\.1:1\/api\/v1\/query failed/, 'names the URL')
})

t.test('web provider: jsonPath, member access, non-2xx is an Error', async (t) => {
  const web = await fakeServer((path) =>
    path === '/error-rate/demo/app-h'
      ? { status: 200, body: { error_rate: 0.5, requests_per_second: 10, pods: 1 } }
      : { status: 404, body: { error: 'no pod' } },
  )
  const text = template(`    - name: web
      successCondition: result.requests_per_second >= 1 && result.error_rate <= {{args.max}}
      failureCondition: result.requests_per_second >= 1 && result.error_rate > {{args.max}}
      provider:
        web:
          url: "{{args.address}}/error-rate/{{args.namespace}}/app-h"
          jsonPath: "{$}"
    - name: compat
      successCondition: result <= {{args.max}}
      provider:
        web:
          url: "{{args.address}}/error-rate/{{args.namespace}}/app-h"
          jsonPath: "{$.error_rate}"`)
  const r = await analyzeTemplate(text, 't.yaml', { args: { namespace: 'demo', address: web.url } })
  t.same(r.measurements.map((m) => m.phase), ['Failed', 'Failed'], 'both forms fail a 50 % error rate')
  const missing = await analyzeTemplate(text, 't.yaml', { args: { namespace: 'other', address: web.url } })
  t.same(missing.measurements.map((m) => m.phase), ['Error', 'Error'], '404 → Error')
  t.match(missing.measurements[0]?.message, /answered 404/, 'says the status')
})

t.test('an unreachable web metric says why (not a bare "fetch failed"), and that --prometheus does not apply to it', async (t) => {
  const text = template(`    - name: web
      successCondition: result <= 0.05
      provider:
        web:
          url: "{{args.address}}/error-rate/{{args.namespace}}/app-h"
          jsonPath: "{$.error_rate}"`)
  const address = `http://127.0.0.1:${await freePort()}` // nothing listens there
  const r = await analyzeTemplate(text, 't.yaml', { args: { namespace: 'demo', address } })
  t.equal(r.phase, 'Error', 'an Error measurement')
  t.match(r.measurements[0]?.message, /request to http:\/\/127\.0\.0\.1:\d+\/error-rate\/demo\/app-h failed: fetch failed \(.*ECONNREFUSED/, `the cause is given (${r.measurements[0]?.message})`)
  const withProm = await analyzeTemplate(text, 't.yaml', { args: { namespace: 'demo', address }, prometheus: 'http://127.0.0.1:9090' })
  t.match(withProm.measurements[0]?.message, /--prometheus applies to prometheus metrics only: a web metric's URL comes from the template/, 'says --prometheus is not used for web metrics')
})

t.test('runAnalyzeCommand prints value and phase per metric and exits with the documented status', async (t) => {
  const answers: Record<string, unknown> = { good: scalar('0.01'), bad: scalar('0.5'), none: scalar('NaN'), broken: vector() }
  const prom = await fakeServer((_p, form) => ({ status: 200, body: answers[form.get('query') ?? ''] }))
  const dir = t.testdir({})
  const file = join(dir, 't.yaml')
  writeFileSync(
    file,
    template(
      ['good', 'bad', 'none', 'broken']
        .map((q) => `    - name: ${q}
      successCondition: "${q === 'broken' ? 'result[0] < 1' : '!isNaN(result) && result <= {{args.max}}'}"
      failureCondition: "${q === 'broken' ? 'result[0] >= 1' : '!isNaN(result) && result > {{args.max}}'}"
      provider: {prometheus: {address: http://127.0.0.1:1, query: ${q}}}`)
        .join('\n'),
    ),
  )
  const base = ['--template', file, '--arg', 'namespace=demo', '--prometheus', prom.url]
  const good = await run([...base, '--metric', 'good'])
  t.equal(good.code, ANALYZE_EXIT.Successful, 'exit 0 when Successful')
  t.match(good.out, /metric good: Successful {2}value=0\.01 {2}\(successCondition is true\)/, 'value and phase printed')
  t.match(good.out, /analysis: Successful/, 'overall phase printed')
  t.equal((await run([...base, '--metric', 'bad'])).code, ANALYZE_EXIT.Failed, 'exit 1 when Failed')
  t.equal((await run([...base, '--metric', 'none'])).code, ANALYZE_EXIT.Inconclusive, 'exit 3 when Inconclusive')
  t.equal((await run([...base, '--metric', 'broken'])).code, ANALYZE_EXIT.Error, 'exit 4 when Error')
  const all = await run(base)
  t.equal(all.code, ANALYZE_EXIT.Failed, 'the worst phase decides the status')
  t.equal(all.out.match(/^metric /gm)?.length, 4, 'every metric printed')
  const missing = await run(['--template', file, '--prometheus', prom.url])
  t.equal(missing.code, ANALYZE_EXIT.usage, 'exit 2 for a missing arg')
  t.match(missing.err, /argument\(s\) not supplied: namespace/, 'names the arg')
  t.equal((await run(['--template', join(dir, 'nope.yaml')])).code, ANALYZE_EXIT.usage, 'exit 2 for a missing file')
  t.equal((await run(['--bogus'])).code, ANALYZE_EXIT.usage, 'exit 2 for an unknown flag')
  const unknown = await run([...base, '--metric', 'nope'])
  t.match(unknown.err, /no metric named nope/, 'unknown --metric named')
  t.equal(new Set(Object.values(ANALYZE_EXIT)).size, 5, 'exit statuses are distinct')
})

t.test("a count below inconclusiveLimit is explained with Argo's rule, before any query", async (t) => {
  const prom = await fakeServer(() => ({ status: 200, body: scalar('0.01') }))
  const dir = t.testdir({})
  const file = join(dir, 't.yaml')
  writeFileSync(
    file,
    template(`    - name: m
      interval: 5s
      count: "2"
      inconclusiveLimit: "3"
      successCondition: "result <= {{args.max}}"
      provider: {prometheus: {address: "{{args.address}}", query: q}}`),
  )
  const r = await run(['--template', file, '--arg', 'namespace=demo', '--prometheus', prom.url])
  t.equal(r.code, ANALYZE_EXIT.usage, 'exit 2: the template is unusable as it stands')
  t.match(r.err, /count \(2\) must be >= inconclusiveLimit \(3\)/, "Argo's message")
  t.match(r.err, /rejects such an AnalysisRun before any measurement/, 'what Argo does with it')
  t.match(r.err, /more than inconclusiveLimit of its measurements/, 'the rule explained')
  t.match(r.err, /--arg count=3\) or lower inconclusive-limit \(--arg inconclusive-limit=2\)/, 'and the fix')
  t.equal(prom.requests.length, 0, 'no query was sent')
})

t.test('an empty Prometheus address falls back to ARGO_ROLLOUTS_PROMETHEUS_ADDRESS, as in Argo', async (t) => {
  const { prometheusAddress } = await import('../../src/analyze/measure.js')
  const env = { ARGO_ROLLOUTS_PROMETHEUS_ADDRESS: 'http://argo-default:9090' }
  t.equal(prometheusAddress('', undefined, env), 'http://argo-default:9090', 'empty template address → the controller-wide one')
  t.equal(prometheusAddress('http://mine:9090', undefined, env), 'http://mine:9090', 'a given address wins')
  t.equal(prometheusAddress('', 'http://forward:9090', env), 'http://forward:9090', '--prometheus wins over both')
  t.equal(prometheusAddress('', undefined, {}), undefined, 'none at all: not configured')
})
