import t from 'tap'
import { ExpressionError } from '../../src/analyze/errors.js'
import { evaluateCondition, parseExpression } from '../../src/analyze/expr.js'

t.test('comparisons, arithmetic and precedence', async (t) => {
  t.equal(evaluateCondition('result <= 0.05', 0.05), true, '<= on a scalar')
  t.equal(evaluateCondition('result > 0.05', 0.01), false, '> on a scalar')
  t.equal(evaluateCondition('result * 100 >= 1 + 2 * 2', 0.05), true, '* binds tighter than +, both tighter than >=')
  t.equal(evaluateCondition('result / 2 == 0.25', 0.5), true, 'division and ==')
  t.equal(evaluateCondition('-result < 0', 1), true, 'unary minus')
  t.equal(evaluateCondition('2 ** 3 == 8 && 7 % 4 == 3', 0), true, 'power and modulo')
  t.equal(evaluateCondition('(result + 1) * 2 == 4', 1), true, 'parentheses')
  t.equal(evaluateCondition('1_000 == 1e3 && .5 == 0.5', 0), true, 'number literal forms')
  t.equal(evaluateCondition('result != 1 ? true : false', 2), true, 'ternary')
})

t.test('logic: &&, ||, !, and, or, not; short-circuit', async (t) => {
  t.equal(evaluateCondition('true && !false', 0), true, '&& and !')
  t.equal(evaluateCondition('false or not false', 0), true, 'or and not')
  t.equal(evaluateCondition('result > 1 and result < 3', 2), true, 'and')
  t.equal(evaluateCondition('false || true && false', 0), false, '&& binds tighter than ||')
  t.equal(evaluateCondition('len(result) > 0 && result[0] < 1', []), false, '&& does not evaluate the right side (no index error)')
  t.equal(evaluateCondition('len(result) == 0 || result[0] < 1', []), true, '|| does not evaluate the right side')
})

t.test('arrays: len, indexing, negative index, all/any/none/one with predicates', async (t) => {
  t.equal(evaluateCondition('len(result) == 3 && result[0] == 1 && result[-1] == 3', [1, 2, 3]), true, 'len, [0], [-1]')
  t.equal(evaluateCondition('all(result, {# < 0.05})', [0.01, 0.02]), true, 'all true')
  t.equal(evaluateCondition('all(result, {# < 0.05})', [0.01, 0.5]), false, 'all false')
  t.equal(evaluateCondition('all(result, {# < 0.05})', []), true, 'all of an empty array is true, as in expr')
  t.equal(evaluateCondition('any(result, {# > 0.05})', [0.01, 0.5]), true, 'any')
  t.equal(evaluateCondition('none(result, {# > 0.05})', [0.01]), true, 'none')
  t.equal(evaluateCondition('one(result, {# > 0.05})', [0.5, 0.01]), true, 'one')
  t.equal(evaluateCondition('all(result, # < 1)', [0.5]), true, 'brace-less predicate')
  t.equal(evaluateCondition('max(result) < 1 && min(result) > 0 && sum(result) == 1', [0.25, 0.75]), true, 'max, min, sum')
})

t.test('NaN and Inf behave as Go floats', async (t) => {
  t.equal(evaluateCondition('result <= 0.05', NaN), false, 'NaN <= x is false')
  t.equal(evaluateCondition('result > 0.05', NaN), false, 'NaN > x is false')
  t.equal(evaluateCondition('result == result', NaN), false, 'NaN != NaN')
  t.equal(evaluateCondition('isNaN(result)', NaN), true, 'isNaN')
  t.equal(evaluateCondition('!isNaN(result) && result <= 0.05', NaN), false, 'guarded success is false on NaN')
  t.equal(evaluateCondition('isInf(result)', Infinity), true, 'isInf on +Inf')
  t.equal(evaluateCondition('isInf(result, -1)', Infinity), false, 'isInf with a sign')
  t.equal(evaluateCondition('result > 1e308', Infinity), true, '+Inf compares normally')
})

t.test('default() replaces nil only, as in Argo (an empty vector stays empty)', async (t) => {
  t.equal(evaluateCondition('default(result, 0) == 0', null), true, 'nil → default')
  t.equal(evaluateCondition('len(default(result, [1])) == 0', []), true, 'empty array is not nil')
  t.equal(evaluateCondition('isNil(result)', []), false, 'isNil([]) is false')
})

t.test('member access on web results', async (t) => {
  const body = { error_rate: 0.01, requests_per_second: 12, pods: 2 }
  t.equal(evaluateCondition('result.requests_per_second >= 1 && result.error_rate <= 0.05', body), true, 'fields')
  t.equal(evaluateCondition("result['pods'] == 2", body), true, 'string index on a map')
})

t.test('evaluation errors (Argo: Error phase)', async (t) => {
  t.throws(() => evaluateCondition('result[0] <= 0.05', []), { name: 'ExpressionError', message: /index out of range: 0 \(array of length 0/ }, 'indexing an empty array')
  t.throws(() => evaluateCondition('result <= 0.05', [0.01]), { message: /invalid operation: array <= float/ }, 'comparing an array with a number')
  t.throws(() => evaluateCondition('result', 1), { message: /condition must be a bool, got float 1/ }, 'non-bool result')
  t.throws(() => evaluateCondition('1 && true', 1), { message: /operator "&&" expects a bool/ }, 'non-bool operand of &&')
  t.throws(() => evaluateCondition('isNaN(result)', [1]), { message: /isNaN\(\) expects a number, got array/ }, 'isNaN on an array')
  t.throws(() => evaluateCondition('foo > 1', 1), { message: /unknown name "foo"/ }, 'unknown name')
  t.throws(() => evaluateCondition('result.x > 1', 1), { message: /field "\.x" of a float/ }, 'member of a number')
})

t.test('unsupported forms are errors naming the form', async (t) => {
  const cases: [string, RegExp][] = [
    ['result in [1, 2]', /unsupported operator "in"/],
    ['result matches "x"', /unsupported operator "matches"/],
    ['result ?? 1', /unsupported operator "\?\?"/],
    ['result | len()', /unsupported operator "\|"/],
    ['1..3', /unsupported operator "\.\."/],
    ['median(result) > 1', /unsupported function "median\(\)"/],
    ['result[1:2]', /unsupported form: slice/],
    ['let x = 1; x', /unsupported operator "let"/],
    ['result?.x', /unsupported operator "\?\."/],
    ['0x10 > 1', /unsupported number literal/],
  ]
  for (const [src, msg] of cases) {
    t.throws(() => parseExpression(src), { name: 'ExpressionError', code: 'PXE_ERR_ANALYZE_EXPRESSION', message: msg }, `rejects ${src}`)
  }
})

t.test('syntax errors say where', async (t) => {
  t.throws(() => parseExpression('result <= '), { message: /unexpected end of condition \(at offset 10\)/ }, 'dangling operator')
  t.throws(() => parseExpression('(result'), { message: /expected "\)"/ }, 'unclosed parenthesis')
  t.throws(() => parseExpression('# > 1'), { message: /only allowed inside a predicate/ }, '# outside a predicate')
  const e = (() => {
    try {
      parseExpression('result @ 1')
    } catch (err) {
      return err
    }
    return undefined
  })()
  t.ok(e instanceof ExpressionError && e.position === 7, 'the position is kept')
})
