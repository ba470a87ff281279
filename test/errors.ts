import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as errors from '../src/errors.js'
import * as analyzeErrors from '../src/analyze/errors.js'

const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8')

/** One instance of every concrete error class, built the way the code builds them. */
const instances: errors.ExporterError[] = [
  new errors.ConfigError(['a: b']),
  new errors.ScenarioError(['a: b']),
  new errors.PixieCompileError([{ line: 1, column: 2, message: "name 'aa' is not defined" }]),
  new errors.PixieUnavailableError('x'),
  new errors.PixieDeadlineError('x'),
  new errors.PixieAuthError('x'),
  new errors.PixieProtocolError('x'),
  new errors.PixieCancelledError('x'),
  new errors.PixieQueryError('x'),
  new errors.PixieResultTooLargeError('x'),
  new errors.CollectorResultError('x'),
  new errors.CollectorWorkerError('x'),
  new analyzeErrors.ExpressionError('x'),
  new analyzeErrors.AnalyzeTemplateError('x'),
  new analyzeErrors.MeasurementError('x'),
]

t.test('every error class is covered here', async (t) => {
  const classes = [...Object.entries(errors), ...Object.entries(analyzeErrors)].filter(
    ([, v]) => typeof v === 'function' && v !== errors.ExporterError && v !== errors.PixieError,
  )
  t.same(classes.map(([k]) => k).sort(), instances.map((e) => e.constructor.name).sort(), 'the list above names every exported error class')
})

t.test('docs/errors.md documents every code with its class, and nothing else', async (t) => {
  const documented = [...doc.matchAll(/^\| `(PXE_ERR_[A-Z_]+)` \| `([A-Za-z]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`)
  const actual = instances.map((e) => `${e.code} ${e.name}`)
  t.same(documented.sort(), actual.sort(), 'codes and classes agree')
})

t.test('errors carry their class name for pino err.type, and keep details', async (t) => {
  const e = new errors.PixieCompileError([
    { line: 1, column: 2, message: "name 'aa' is not defined" },
    { line: 2, column: 2, message: 'Indentation error' },
  ], 3)
  t.equal(e.name, 'PixieCompileError', 'name is the class')
  t.equal(e.grpcCode, 3, 'gRPC code kept')
  t.equal(e.message, "PxL compilation failed: 1:2 name 'aa' is not defined; 2:2 Indentation error", 'line:column in the message')
  t.ok(e instanceof errors.PixieError && e instanceof errors.ExporterError, 'hierarchy')
  const c = new errors.ConfigError(['pixie.clusterId: required', 'web.listenAddress: must be host:port'])
  t.equal(c.message, 'invalid configuration:\n  - pixie.clusterId: required\n  - web.listenAddress: must be host:port', 'every problem listed')
  t.ok(Object.isFrozen(c.errors), 'the list is frozen')
})
