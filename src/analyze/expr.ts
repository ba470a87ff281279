/**
 * A small evaluator for the condition language of Argo Rollouts'
 * `successCondition` / `failureCondition` (expr-lang), limited to the forms
 * our templates and Argo's documentation use:
 *
 * - literals: numbers (`0.05`, `1e-3`, `1_000`), strings, `true`, `false`, `nil`;
 * - `result`, indexing `result[0]` (negative counts from the end), member
 *   access `result.error_rate` (web provider with `jsonPath: "{$}"`);
 * - arithmetic `+ - * / % **`, comparisons `== != < <= > >=`;
 * - logic `&& || !` and `and or not` (short-circuit), the ternary `a ? b : c`;
 * - functions `len`, `isNaN`, `isInf`, `isNil`, `default`, `abs`, `min`,
 *   `max`, `sum`, `asInt`, `asFloat`, and `all` / `any` / `none` / `one`
 *   with a predicate `{# < 0.05}`.
 *
 * Semantics follow expr-lang as Argo runs it: indexing outside an array is an
 * error (so `result[0]` on an empty Prometheus answer is an Error
 * measurement), every comparison with NaN is false, `all` of an empty array
 * is true, `default(x, y)` replaces only nil (never an empty array), and a
 * condition must yield a boolean. Anything else is an {@link ExpressionError}
 * naming the unsupported form.
 */
import { ExpressionError } from './errors.js'

/** A value a condition can see or produce. */
export type ExprValue = number | string | boolean | null | readonly ExprValue[] | { readonly [key: string]: ExprValue }

type Node =
  | { readonly kind: 'literal'; readonly value: ExprValue; readonly pos: number }
  | { readonly kind: 'name'; readonly name: string; readonly pos: number }
  | { readonly kind: 'element'; readonly pos: number }
  | { readonly kind: 'array'; readonly items: readonly Node[]; readonly pos: number }
  | { readonly kind: 'unary'; readonly op: '!' | '-' | '+'; readonly operand: Node; readonly pos: number }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Node; readonly right: Node; readonly pos: number }
  | { readonly kind: 'ternary'; readonly test: Node; readonly then: Node; readonly otherwise: Node; readonly pos: number }
  | { readonly kind: 'index'; readonly target: Node; readonly index: Node; readonly pos: number }
  | { readonly kind: 'member'; readonly target: Node; readonly name: string; readonly pos: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Node[]; readonly pos: number }
  | { readonly kind: 'predicate'; readonly body: Node; readonly pos: number }

interface Token {
  readonly type: 'number' | 'string' | 'ident' | 'op' | 'end'
  readonly text: string
  readonly value?: number | string
  readonly pos: number
}

const OPERATORS = ['**', '&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '+', '-', '*', '/', '%', '^', '(', ')', '[', ']', '{', '}', ',', '.', '?', ':', '#']
/** Operators of expr-lang that this evaluator rejects by name. */
const UNSUPPORTED_OPERATORS = ['?.', '??', '..', '|', '=', ';', '&']
const UNSUPPORTED_WORDS = new Set(['in', 'matches', 'contains', 'startsWith', 'endsWith', 'let', 'if', 'else'])
const PREDICATE_FUNCTIONS = new Set(['all', 'any', 'none', 'one'])
const FUNCTIONS = new Set([...PREDICATE_FUNCTIONS, 'len', 'isNaN', 'isInf', 'isNil', 'default', 'abs', 'asFloat', 'asInt', 'min', 'max', 'sum'])

function tokenize(src: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i] ?? ''
    if (/\s/.test(c)) {
      i++
      continue
    }
    const start = i
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(?:[0-9][0-9_]*)?(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i))
      const text = m?.[0] ?? ''
      if (/^0[xXoObB]/.test(src.slice(i, i + 2))) throw new ExpressionError(`unsupported number literal "${src.slice(i, i + 4)}…" (only decimal numbers)`, i)
      const value = Number(text.replaceAll('_', ''))
      if (text === '' || Number.isNaN(value)) throw new ExpressionError(`bad number literal "${text}"`, i)
      tokens.push({ type: 'number', text, value, pos: start })
      i += text.length
      continue
    }
    if (c === '"' || c === "'") {
      let j = i + 1
      let out = ''
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1] ?? ''
          out += ({ n: '\n', t: '\t', '\\': '\\', '"': '"', "'": "'" } as Record<string, string>)[e] ?? e
          j += 2
        } else {
          out += src[j]
          j++
        }
      }
      if (j >= src.length) throw new ExpressionError('unterminated string literal', i)
      tokens.push({ type: 'string', text: src.slice(i, j + 1), value: out, pos: start })
      i = j + 1
      continue
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i))
      const text = m?.[0] ?? c
      if (UNSUPPORTED_WORDS.has(text)) throw new ExpressionError(`unsupported operator "${text}"`, i)
      tokens.push({ type: 'ident', text, pos: start })
      i += text.length
      continue
    }
    // `&&`, `||` and `==` are supported; `&`, `|` (pipe), `=`, `??`, `?.` and `..` are not.
    const supportedPair = ['&&', '||', '=='].some((o) => src.startsWith(o, i))
    const unsupported = supportedPair ? undefined : UNSUPPORTED_OPERATORS.find((o) => src.startsWith(o, i))
    if (unsupported !== undefined) throw new ExpressionError(`unsupported operator "${unsupported}"`, i)
    const op = OPERATORS.find((o) => src.startsWith(o, i))
    if (op === undefined) throw new ExpressionError(`unexpected character "${c}"`, i)
    tokens.push({ type: 'op', text: op, pos: start })
    i += op.length
  }
  tokens.push({ type: 'end', text: '<end>', pos: src.length })
  return tokens
}

/** Recursive-descent parser; precedence from loosest to tightest as in expr-lang. */
class Parser {
  readonly #tokens: Token[]
  #i = 0
  #predicateDepth = 0

  constructor(tokens: Token[]) {
    this.#tokens = tokens
  }

  #peek(): Token {
    return this.#tokens[this.#i] ?? { type: 'end', text: '<end>', pos: 0 }
  }

  #next(): Token {
    const t = this.#peek()
    this.#i++
    return t
  }

  #isOp(text: string): boolean {
    const t = this.#peek()
    return t.type === 'op' && t.text === text
  }

  #isWord(text: string): boolean {
    const t = this.#peek()
    return t.type === 'ident' && t.text === text
  }

  #expect(text: string): Token {
    const t = this.#next()
    if (t.type !== 'op' || t.text !== text) throw new ExpressionError(`expected "${text}", found "${t.text}"`, t.pos)
    return t
  }

  parseAll(): Node {
    const node = this.#ternary()
    const t = this.#peek()
    if (t.type !== 'end') {
      if (t.type === 'ident' && UNSUPPORTED_WORDS.has(t.text)) throw new ExpressionError(`unsupported operator "${t.text}"`, t.pos)
      throw new ExpressionError(`unexpected "${t.text}"`, t.pos)
    }
    return node
  }

  #ternary(): Node {
    const test = this.#or()
    if (!this.#isOp('?')) return test
    const pos = this.#next().pos
    const then = this.#ternary()
    this.#expect(':')
    const otherwise = this.#ternary()
    return { kind: 'ternary', test, then, otherwise, pos }
  }

  #or(): Node {
    let left = this.#and()
    while (this.#isOp('||') || this.#isWord('or')) {
      const pos = this.#next().pos
      left = { kind: 'binary', op: '||', left, right: this.#and(), pos }
    }
    return left
  }

  #and(): Node {
    let left = this.#comparison()
    while (this.#isOp('&&') || this.#isWord('and')) {
      const pos = this.#next().pos
      left = { kind: 'binary', op: '&&', left, right: this.#comparison(), pos }
    }
    return left
  }

  #comparison(): Node {
    let left = this.#additive()
    for (;;) {
      const t = this.#peek()
      if (t.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) {
        this.#next()
        left = { kind: 'binary', op: t.text, left, right: this.#additive(), pos: t.pos }
      } else if (t.type === 'ident' && UNSUPPORTED_WORDS.has(t.text)) {
        throw new ExpressionError(`unsupported operator "${t.text}"`, t.pos)
      } else {
        return left
      }
    }
  }

  #additive(): Node {
    let left = this.#multiplicative()
    while (this.#isOp('+') || this.#isOp('-')) {
      const t = this.#next()
      left = { kind: 'binary', op: t.text, left, right: this.#multiplicative(), pos: t.pos }
    }
    return left
  }

  #multiplicative(): Node {
    let left = this.#unary()
    while (this.#isOp('*') || this.#isOp('/') || this.#isOp('%')) {
      const t = this.#next()
      left = { kind: 'binary', op: t.text, left, right: this.#unary(), pos: t.pos }
    }
    return left
  }

  #unary(): Node {
    const t = this.#peek()
    if ((t.type === 'op' && (t.text === '!' || t.text === '-' || t.text === '+')) || (t.type === 'ident' && t.text === 'not')) {
      this.#next()
      const op = t.text === 'not' ? '!' : (t.text as '!' | '-' | '+')
      return { kind: 'unary', op, operand: this.#unary(), pos: t.pos }
    }
    return this.#power()
  }

  #power(): Node {
    const base = this.#postfix()
    if (this.#isOp('**') || this.#isOp('^')) {
      const t = this.#next()
      // Right-associative, and binds tighter than unary minus on its left.
      return { kind: 'binary', op: '**', left: base, right: this.#unary(), pos: t.pos }
    }
    return base
  }

  #postfix(): Node {
    let node = this.#primary()
    for (;;) {
      if (this.#isOp('[')) {
        const pos = this.#next().pos
        if (this.#isOp(':')) throw new ExpressionError('unsupported form: slice "[:]"', pos)
        const index = this.#ternary()
        if (this.#isOp(':')) throw new ExpressionError('unsupported form: slice "[a:b]"', pos)
        this.#expect(']')
        node = { kind: 'index', target: node, index, pos }
      } else if (this.#isOp('.')) {
        const pos = this.#next().pos
        const name = this.#next()
        if (name.type !== 'ident') throw new ExpressionError(`expected a field name after ".", found "${name.text}"`, name.pos)
        if (this.#isOp('(')) throw new ExpressionError(`unsupported form: method call ".${name.text}()"`, name.pos)
        node = { kind: 'member', target: node, name: name.text, pos }
      } else {
        return node
      }
    }
  }

  #primary(): Node {
    const t = this.#next()
    switch (t.type) {
      case 'number':
      case 'string':
        return { kind: 'literal', value: t.value ?? null, pos: t.pos }
      case 'end':
        throw new ExpressionError('unexpected end of condition', t.pos)
      case 'op':
        if (t.text === '(') {
          const inner = this.#ternary()
          this.#expect(')')
          return inner
        }
        if (t.text === '#') {
          if (this.#predicateDepth === 0) throw new ExpressionError('"#" is only allowed inside a predicate {…}', t.pos)
          return { kind: 'element', pos: t.pos }
        }
        if (t.text === '[') {
          const items: Node[] = []
          if (!this.#isOp(']')) {
            do items.push(this.#ternary())
            while (this.#isOp(',') && this.#next())
          }
          this.#expect(']')
          return { kind: 'array', items, pos: t.pos }
        }
        if (t.text === '{') throw new ExpressionError('unsupported form: map literal or predicate outside all/any/none/one', t.pos)
        throw new ExpressionError(`unexpected "${t.text}"`, t.pos)
      case 'ident':
        break
    }
    if (t.text === 'true' || t.text === 'false') return { kind: 'literal', value: t.text === 'true', pos: t.pos }
    if (t.text === 'nil') return { kind: 'literal', value: null, pos: t.pos }
    if (UNSUPPORTED_WORDS.has(t.text)) throw new ExpressionError(`unsupported operator "${t.text}"`, t.pos)
    if (!this.#isOp('(')) return { kind: 'name', name: t.text, pos: t.pos }
    if (!FUNCTIONS.has(t.text)) throw new ExpressionError(`unsupported function "${t.text}()"`, t.pos)
    this.#next()
    const args: Node[] = []
    const predicateAt = PREDICATE_FUNCTIONS.has(t.text) ? 1 : -1
    if (!this.#isOp(')')) {
      do args.push(args.length === predicateAt ? this.#predicate() : this.#ternary())
      while (this.#isOp(',') && this.#next())
    }
    this.#expect(')')
    return { kind: 'call', name: t.text, args, pos: t.pos }
  }

  /** `{# < 0.05}`, or expr-lang's brace-less form `# < 0.05`. */
  #predicate(): Node {
    const pos = this.#peek().pos
    const braced = this.#isOp('{')
    if (braced) this.#next()
    this.#predicateDepth++
    const body = this.#ternary()
    this.#predicateDepth--
    if (braced) this.#expect('}')
    return { kind: 'predicate', body, pos }
  }
}

/** A parsed condition, evaluated against a `result` with {@link evaluate}. */
export interface Expression {
  readonly source: string
  readonly root: Node
}

/**
 * Parses a condition.
 *
 * @throws ExpressionError on a syntax error or an unsupported form, naming it.
 */
export function parseExpression(source: string): Expression {
  return { source, root: new Parser(tokenize(source)).parseAll() }
}

function typeName(v: ExprValue | undefined): string {
  if (v === null || v === undefined) return 'nil'
  if (Array.isArray(v)) return 'array'
  return typeof v === 'object' ? 'map' : typeof v === 'number' ? 'float' : typeof v === 'string' ? 'string' : 'bool'
}

function show(v: ExprValue): string {
  if (typeof v === 'number') return formatNumber(v)
  return JSON.stringify(v) ?? String(v)
}

/** Formats a number the way Prometheus and Go print floats (NaN, +Inf, -Inf). */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}

function isArray(v: ExprValue): v is readonly ExprValue[] {
  return Array.isArray(v)
}

function isMap(v: ExprValue): v is { readonly [key: string]: ExprValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function num(v: ExprValue, what: string, pos: number): number {
  if (typeof v !== 'number') throw new ExpressionError(`${what} expects a number, got ${typeName(v)} ${show(v)}`, pos)
  return v
}

function bool(v: ExprValue, what: string, pos: number): boolean {
  if (typeof v !== 'boolean') throw new ExpressionError(`${what} expects a bool, got ${typeName(v)} ${show(v)}`, pos)
  return v
}

function arr(v: ExprValue, what: string, pos: number): readonly ExprValue[] {
  if (!isArray(v)) throw new ExpressionError(`${what} expects an array, got ${typeName(v)} ${show(v)}`, pos)
  return v
}

function equal(a: ExprValue, b: ExprValue): boolean {
  if (isArray(a) && isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i] ?? null))
  return a === b
}

interface Scope {
  readonly result: ExprValue
  readonly element?: ExprValue
}

function evalNode(node: Node, scope: Scope): ExprValue {
  switch (node.kind) {
    case 'literal':
      return node.value
    case 'element':
      return scope.element ?? null
    case 'name':
      if (node.name === 'result') return scope.result
      throw new ExpressionError(`unknown name "${node.name}" (only "result" is defined)`, node.pos)
    case 'array':
      return node.items.map((n) => evalNode(n, scope))
    case 'predicate':
      throw new ExpressionError('a predicate {…} is only allowed as the second argument of all/any/none/one', node.pos)
    case 'unary': {
      const v = evalNode(node.operand, scope)
      if (node.op === '!') return !bool(v, 'operator "!"', node.pos)
      const n = num(v, `unary "${node.op}"`, node.pos)
      return node.op === '-' ? -n : n
    }
    case 'ternary':
      return bool(evalNode(node.test, scope), 'the ternary "?:"', node.pos) ? evalNode(node.then, scope) : evalNode(node.otherwise, scope)
    case 'index': {
      const target = evalNode(node.target, scope)
      const index = evalNode(node.index, scope)
      if (isMap(target) && typeof index === 'string') return target[index] ?? null
      const a = arr(target, 'indexing', node.pos)
      const i = num(index, 'an array index', node.pos)
      if (!Number.isInteger(i)) throw new ExpressionError(`array index must be an integer, got ${formatNumber(i)}`, node.pos)
      const at = i < 0 ? a.length + i : i
      if (at < 0 || at >= a.length) {
        throw new ExpressionError(`index out of range: ${i} (array of length ${a.length}; an empty Prometheus answer has length 0)`, node.pos)
      }
      return a[at] ?? null
    }
    case 'member': {
      const target = evalNode(node.target, scope)
      if (!isMap(target)) throw new ExpressionError(`field ".${node.name}" of a ${typeName(target)}`, node.pos)
      return target[node.name] ?? null
    }
    case 'binary':
      return evalBinary(node, scope)
    case 'call':
      return evalCall(node, scope)
  }
}

function evalBinary(node: Extract<Node, { kind: 'binary' }>, scope: Scope): ExprValue {
  const { op, pos } = node
  if (op === '&&' || op === '||') {
    const left = bool(evalNode(node.left, scope), `operator "${op}"`, pos)
    if (op === '&&' ? !left : left) return left
    return bool(evalNode(node.right, scope), `operator "${op}"`, pos)
  }
  const a = evalNode(node.left, scope)
  const b = evalNode(node.right, scope)
  if (op === '==') return equal(a, b)
  if (op === '!=') return !equal(a, b)
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b
  if (['<', '<=', '>', '>='].includes(op) && typeof a === 'string' && typeof b === 'string') {
    return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b
  }
  if (typeof a !== 'number' || typeof b !== 'number') {
    throw new ExpressionError(`invalid operation: ${typeName(a)} ${op} ${typeName(b)} (${show(a)} ${op} ${show(b)})`, pos)
  }
  switch (op) {
    case '<':
      return a < b
    case '<=':
      return a <= b
    case '>':
      return a > b
    case '>=':
      return a >= b
    case '+':
      return a + b
    case '-':
      return a - b
    case '*':
      return a * b
    case '/':
      return a / b
    case '%':
      if (!Number.isInteger(a) || !Number.isInteger(b)) throw new ExpressionError(`operator "%" needs integers, got ${show(a)} % ${show(b)}`, pos)
      if (b === 0) throw new ExpressionError('integer divide by zero', pos)
      return a % b
    case '**':
      return a ** b
    default:
      throw new ExpressionError(`unsupported operator "${op}"`, pos)
  }
}

function arity(node: Extract<Node, { kind: 'call' }>, min: number, max = min): void {
  const n = node.args.length
  if (n < min || n > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`
    throw new ExpressionError(`${node.name}() takes ${want} argument(s), got ${n}`, node.pos)
  }
}

function evalCall(node: Extract<Node, { kind: 'call' }>, scope: Scope): ExprValue {
  const { name, pos } = node
  const arg = (i: number): ExprValue => {
    const a = node.args[i]
    if (a === undefined) throw new ExpressionError(`${name}() is missing argument ${i + 1}`, pos)
    return evalNode(a, scope)
  }
  switch (name) {
    case 'len': {
      arity(node, 1)
      const v = arg(0)
      if (isArray(v) || typeof v === 'string') return v.length
      if (isMap(v)) return Object.keys(v).length
      throw new ExpressionError(`len() expects an array, string or map, got ${typeName(v)} ${show(v)}`, pos)
    }
    case 'isNaN':
      arity(node, 1)
      return Number.isNaN(num(arg(0), 'isNaN()', pos))
    case 'isInf': {
      arity(node, 1, 2)
      const v = num(arg(0), 'isInf()', pos)
      const sign = node.args.length === 2 ? num(arg(1), 'isInf() sign', pos) : 0
      return sign > 0 ? v === Infinity : sign < 0 ? v === -Infinity : v === Infinity || v === -Infinity
    }
    case 'isNil':
      arity(node, 1)
      return arg(0) === null
    case 'default': {
      arity(node, 2)
      // Like Argo's default(): only nil is replaced. An empty Prometheus
      // vector is an empty array, not nil, so it is returned unchanged.
      const v = arg(0)
      return v === null ? arg(1) : v
    }
    case 'abs':
      arity(node, 1)
      return Math.abs(num(arg(0), 'abs()', pos))
    case 'asFloat':
    case 'asInt': {
      arity(node, 1)
      const v = arg(0)
      const n = typeof v === 'string' ? Number(v.trim() === '' ? NaN : v) : num(v, `${name}()`, pos)
      if (Number.isNaN(n) && typeof v === 'string') throw new ExpressionError(`${name}(): cannot parse ${show(v)}`, pos)
      if (name === 'asInt' && !Number.isInteger(n)) throw new ExpressionError(`asInt(): not an integer: ${show(v)}`, pos)
      return n
    }
    case 'min':
    case 'max':
    case 'sum': {
      const values = node.args.length === 1 && isArray(arg(0)) ? arr(arg(0), `${name}()`, pos) : node.args.map((_, i) => arg(i))
      const nums = values.map((v) => num(v, `${name}()`, pos))
      if (name === 'sum') return nums.reduce((s, v) => s + v, 0)
      if (nums.length === 0) throw new ExpressionError(`${name}() of an empty array`, pos)
      return name === 'min' ? Math.min(...nums) : Math.max(...nums)
    }
    case 'all':
    case 'any':
    case 'none':
    case 'one': {
      arity(node, 2)
      const items = arr(arg(0), `${name}()`, pos)
      const pred = node.args[1]
      if (pred === undefined || pred.kind !== 'predicate') throw new ExpressionError(`${name}() needs a predicate like {# < 0.05}`, pos)
      const test = (el: ExprValue): boolean => bool(evalNode(pred.body, { ...scope, element: el }), `the predicate of ${name}()`, pred.pos)
      if (name === 'all') return items.every(test)
      if (name === 'any') return items.some(test)
      if (name === 'none') return !items.some(test)
      return items.filter(test).length === 1
    }
    default:
      throw new ExpressionError(`unsupported function "${name}()"`, pos)
  }
}

/**
 * Evaluates a parsed expression with `result` bound.
 *
 * @throws ExpressionError on a runtime error (index out of range, type mismatch).
 */
export function evaluate(expression: Expression, result: ExprValue): ExprValue {
  return evalNode(expression.root, { result })
}

/**
 * Parses and evaluates a condition that must yield a boolean, as Argo
 * compiles conditions with `expr.AsBool()`.
 *
 * @throws ExpressionError on a syntax error, an unsupported form, a runtime
 *   error, or a non-boolean result.
 */
export function evaluateCondition(condition: string, result: ExprValue): boolean {
  const value = evaluate(parseExpression(condition), result)
  if (typeof value !== 'boolean') throw new ExpressionError(`condition must be a bool, got ${typeName(value)} ${show(value)}`)
  return value
}
