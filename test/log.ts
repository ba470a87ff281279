/** The logger factory (src/log.ts): level names, ISO time, no duplicate keys, json and logfmt. */
import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger, formatLine } from '../src/log.js'
import { PixieUnavailableError } from '../src/errors.js'
import { parseStrictJson } from './fixtures/strict-json.js'

function memory(): { destination: Writable; lines: () => string[] } {
  const chunks: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'))
      done()
    },
  })
  return { destination, lines: () => chunks.join('').split('\n').filter((l) => l !== '') }
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

t.test('the strict parser used by the log tests rejects a repeated key', async (t) => {
  t.throws(() => parseStrictJson('{"a":1,"a":2}'), /duplicate key "a"/, 'a repeated key is an error')
  t.strictSame(parseStrictJson('{"a":{"b":[1,"x",null]}}'), { a: { b: [1, 'x', null] } }, 'plain JSON parses')
})

t.test('json lines start with time (ISO, UTC), level (its name) and msg, and hold each key once', async (t) => {
  const { destination, lines } = memory()
  const logger = createLogger({ level: 'info', format: 'json', bindings: { simulated: true }, destination })
  logger.child({ component: 'pixie' }).child({ component: 'pixie-client', simulated: true }).info({ component: 'call' }, 'hello')
  const [line] = lines()
  const record = parseStrictJson(line ?? '') as Record<string, unknown>
  t.strictSame(Object.keys(record).slice(0, 3), ['time', 'level', 'msg'], 'time, level, msg lead')
  t.match(record.time, ISO, `time is ISO 8601 UTC (${String(record.time)})`)
  t.equal(record.level, 'info', 'the level is a name, not a number')
  t.equal(record.component, 'call', 'the innermost value of a repeated key wins')
  t.equal(record.simulated, true, 'a binding repeated by a child is kept once')
})

t.test('logfmt lines are key=value pairs with the same keys, nested keys dotted', async (t) => {
  const { destination, lines } = memory()
  const logger = createLogger({ level: 'info', format: 'logfmt', destination })
  logger.info({ collector: 'http', empty: '', nested: { a: 1, b: 'two words' } }, 'collector runs recovered')
  const [line] = lines()
  t.match(line, /^time=\d{4}-\d\d-\d\dT[\d:.]+Z level=info msg="collector runs recovered" /, 'time, level, msg lead')
  t.match(line, / collector=http /, 'plain values are bare')
  t.match(line, / empty="" /, 'an empty value is quoted')
  t.match(line, / nested\.a=1 nested\.b="two words"$/, 'nested objects become dotted keys')
})

t.test('a coded error is one line without stack below debug, with its stack at debug', async (t) => {
  const err = new PixieUnavailableError('cannot reach Pixie at 127.0.0.1:1', 14, { cause: new Error('connect ECONNREFUSED') })
  for (const [level, stack] of [
    ['info', false],
    ['debug', true],
  ] as const) {
    const { destination, lines } = memory()
    createLogger({ level, destination }).error({ err }, 'collector run failed')
    const record = parseStrictJson(lines()[0] ?? '') as { err: Record<string, unknown> }
    if (stack) t.equal(record.err.message, 'cannot reach Pixie at 127.0.0.1:1: connect ECONNREFUSED', 'debug: the causes are added')
    else t.equal(record.err.message, 'cannot reach Pixie at 127.0.0.1:1', `${level}: the message is the error's own`)
    t.equal('stack' in record.err, stack, `${level}: stack ${stack ? 'included' : 'left out'}`)
    t.equal(record.err.code, 'PXE_ERR_PIXIE_UNAVAILABLE', `${level}: the code is kept`)
  }
  const { destination, lines } = memory()
  createLogger({ level: 'info', destination }).error({ err: new TypeError('a bug') }, 'unexpected')
  t.match((parseStrictJson(lines()[0] ?? '') as { err: { stack: string } }).err.stack, /TypeError: a bug/, 'an unexpected error keeps its stack at info')
})

t.test('formatLine leaves a line that is not JSON alone', async (t) => {
  t.equal(formatLine('not json\n', 'logfmt'), 'not json\n', 'passed through')
})

t.test('a key with a quote or a backslash is scrubbed in logfmt even inside a list or object value (quoted twice there)', async (t) => {
  const { Secrets } = await import('../src/secrets.js')
  for (const key of ['px-api-"quoted"-key', 'px-api-back\\slash-key']) {
    for (const format of ['logfmt', 'json'] as const) {
      const { destination, lines } = memory()
      const logger = createLogger({ level: 'info', format, destination, secrets: new Secrets([key]) })
      logger.info({ details: [`compiler said ${key}`], nested: { list: [{ text: key }] }, plain: key }, `msg ${key}`)
      const line = lines().join('\n')
      t.match(line, /<secret>/, `${format} ${key}: placeholder written`)
      // The key's distinctive middle part, in any escaping.
      const core = key.includes('"') ? 'quoted' : 'slash'
      t.notMatch(line, new RegExp(core), `${format} ${key}: no form of the key is left: ${line}`)
    }
  }
})
