/**
 * Duplicate keys in the configuration file (issue 13, defect 10). The YAML
 * parser's own check compares every key with every earlier one, which made
 * checking a 40k-key file take 11 s; the loader now checks with a hash set.
 * These tests pin that the check finds exactly what the parser's did, with
 * its wording and position, and that a large file is checked in full (each
 * of 40,000 keys reported once). Figures: node bench/config-keys.mjs.
 */
import t from 'tap'
import { parseDocument } from 'yaml'
import { loadConfig } from '../../src/config/load.js'
import { memoryReadFile, problems } from '../fixtures/config/helpers.js'

const PATH = '/c.yaml'
const load = (text: string) => () => loadConfig({ argv: ['--config', PATH], env: {}, readFile: memoryReadFile({ [PATH]: text }) })

/** What the YAML parser itself says about a document (its first error), as the loader words it. */
function parserSays(text: string): string | undefined {
  const first = parseDocument(text).errors[0]
  return first === undefined ? undefined : `${PATH}: invalid YAML: ${(first.message.split('\n')[0] ?? '').replace(/:$/, '')}`
}

t.test('duplicate keys are reported as the YAML parser reports them, at the first duplicate', async (t) => {
  const cases = [
    'pixie:\n  tls: verify\n  tls: plaintext\n',
    'pixie: {tls: verify, tls: plaintext}\n',
    'log:\n  level: info\nlog:\n  level: debug\n',
    'collectors:\n  http:\n    window: 1m\n    namespaces: {include: [a], include: [b]}\n    window: 2m\n',
    'pixie:\n  "tls": verify\n  tls: plaintext\n',
    "pixie:\n  'tls': verify\n  !!str tls: plaintext\n",
    'collectors:\n  custom:\n    - name: a\n      staticLabels: {x: "1", y: "2", x: "3"}\n',
    '1: a\n"1": b\n1: c\n',
    'a: &k {x: 1}\nb: *k\nc: {x: 1, x: 2}\n',
    'pixie: {tls: [verify\n',
    'x: 1\nx: 2\n"unterminated\n',
  ]
  for (const text of cases) {
    const want = parserSays(text)
    t.ok(want !== undefined, `the parser refuses ${JSON.stringify(text)}`)
    t.strictSame(problems(t, load(text)), [want], `same message and position for ${JSON.stringify(text)}`)
  }
})

t.test('keys that differ are not duplicates', async (t) => {
  for (const text of ['a: 1\nA: 2\n', '1: a\n2: b\n', 'true: a\n"true": b\n', '? [a]\n: 1\n? [a]\n: 2\n', 'x: {a: 1}\ny: {a: 1}\n']) {
    t.equal(parserSays(text), undefined, `the parser accepts ${JSON.stringify(text)}`)
    const lines = problems(t, load(text))
    t.notOk(lines.some((l) => l.includes('Map keys must be unique')), `no duplicate reported for ${JSON.stringify(text)}`)
  }
})

t.test('a 40,000-key file is checked in full: each unknown key is reported once', async (t) => {
  const n = 40_000
  const text = ['collectors:', '  http:', ...Array.from({ length: n }, (_, i) => `    k${i}: ${i}`), ''].join('\n')
  const lines = problems(t, load(text))
  const unknown = lines.filter((l) => /^collectors\.http\.k\d+: unknown key$/.test(l))
  t.equal(unknown.length, n, `${n} unknown keys, each once`)
  const dup = problems(t, load(`${text}    k${n - 1}: again\n`))
  t.strictSame(dup, [`${PATH}: invalid YAML: Map keys must be unique at line ${n + 3}, column 5`], 'a duplicate at the end is found')
})
