/**
 * The file source: the YAML configuration file, parsed (duplicate keys,
 * aliases and non-plain values refused), validated once by the schema
 * (schema.ts, which also fills in the defaults) and offered by dotted path.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { LineCounter, isScalar, parseDocument, visit, type Document } from 'yaml'
import { CONFIG_FILE_SCHEMA, DURATION_KEYWORD, MESSAGE_KEYWORD, durationKeyword, type ConfigFile } from '../schema.js'
import { firstLine, tryRead, type Source } from '../values.js'

export interface FileLayer {
  /**
   * False when the named file could not be read, parsed or was not a
   * mapping. That problem is reported once; "required" errors for keys the
   * file may well have held would only be noise.
   */
  readonly usable: boolean
  /** Whether the schema rejected the value at a dotted path (already reported). */
  rejected(path: string): boolean
  /** The value at a dotted path, unless the schema rejected it or a section above it. */
  value(path: string): unknown
  /** A string at a dotted path, unless the schema rejected it. */
  text(path: string): Source | undefined
}

export function loadFile(source: Source | undefined, readFile: (path: string) => string, errors: string[]): FileLayer {
  let raw: unknown = {}
  let usable = true
  if (source !== undefined) {
    const content = tryRead(source, source.value, readFile, errors)
    const parsed = content === undefined ? undefined : parseYaml(source.value, content, errors)
    usable = parsed !== undefined
    if (parsed !== undefined) raw = parsed.value ?? {}
  }
  const rejected = new Set<string>()
  let data = validateFile(raw, source?.value ?? 'config file', rejected, errors)
  if (data === undefined) {
    usable = false
    // The top level was not a mapping: carry on with the defaults so the
    // environment and flags are still checked.
    data = validateFile({}, '', rejected, errors) as ConfigFile
  }
  const root: unknown = data
  const value = (path: string): unknown => {
    if (rejected.has(path)) return undefined
    let node = root
    for (const key of path.split('.')) {
      node = typeof node === 'object' && node !== null && !Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined
    }
    return node
  }
  return {
    usable,
    rejected: (path) => rejected.has(path),
    value,
    text(path) {
      const node = value(path)
      return typeof node === 'string' ? { label: path, value: node } : undefined
    },
  }
}

/** The document's value (`null` for an empty file), or undefined after reporting why it is not YAML. */
function parseYaml(path: string, content: string, errors: string[]): { value: unknown } | undefined {
  try {
    // The parser's own duplicate-key check compares each key with every
    // earlier one (quadratic: 40k keys took 11 s); firstDuplicateKey does the
    // same check with a hash set and the parser's wording and position.
    const lineCounter = new LineCounter()
    const doc = parseDocument(content, { uniqueKeys: false, lineCounter })
    const first = doc.errors[0]
    const duplicate = firstDuplicateKey(doc)
    if (first !== undefined && (duplicate === undefined || first.pos[0] <= duplicate)) {
      errors.push(`${path}: invalid YAML: ${firstLine(first.message)}`)
      return undefined
    }
    if (duplicate !== undefined) {
      const { line, col } = lineCounter.linePos(duplicate)
      errors.push(`${path}: invalid YAML: Map keys must be unique at line ${line}, column ${col}`)
      return undefined
    }
    const value = plainData(doc.toJS(), new Set())
    if (value === NOT_PLAIN) {
      errors.push(`${path}: must be a YAML mapping`)
      return undefined
    }
    return { value }
  } catch (err) {
    // toJS throws on unresolved aliases and alias bombs.
    errors.push(`${path}: invalid YAML: ${firstLine(err instanceof Error ? err.message : String(err))}`)
    return undefined
  }
}

/**
 * The offset of the first key that repeats an earlier key of the same
 * mapping (scalar keys with equal values, as the YAML parser compares them),
 * or undefined. Linear in the size of the document: aliases are not followed.
 */
function firstDuplicateKey(doc: Document): number | undefined {
  let found: number | undefined
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>()
      for (const pair of map.items) {
        const key = pair.key
        if (!isScalar(key)) continue
        if (seen.has(key.value)) {
          const at = key.range?.[0]
          if (at !== undefined && (found === undefined || at < found)) found = at
        }
        seen.add(key.value)
      }
    },
  })
  return found
}

const NOT_PLAIN = Symbol('not plain data')

/**
 * The document with every value that is not plain data replaced by null,
 * which every rule of the schema rejects as the wrong type. Tags such as
 * `!!set`, `!!omap`, `!!binary` and `!!timestamp` (and YAML 1.1 dates) give
 * Sets, Maps, Buffers and Dates, which the schema would otherwise take for
 * empty mappings or mappings of their methods. Cycles (`&x [*x]`) are cut the
 * same way. Returns NOT_PLAIN when the document itself is such a value.
 */
function plainData(value: unknown, ancestors: Set<object>, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value
  const proto: unknown = Object.getPrototypeOf(value)
  const plain = Array.isArray(value) || proto === Object.prototype || proto === null
  if (!plain || ancestors.has(value)) return depth === 0 ? NOT_PLAIN : null
  ancestors.add(value)
  const out = Array.isArray(value)
    ? value.map((item: unknown) => plainData(item, ancestors, depth + 1))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainData(v, ancestors, depth + 1)]))
  ancestors.delete(value)
  return out
}
// Compiling the schema costs ~40ms, so it is done once, on first use. The
// compiled function only remembers the last call's `errors`, which are read
// right after that (synchronous) call, so sharing it leaks nothing between
// loads.
let compiledSchema: ValidateFunction<ConfigFile> | undefined

function fileValidator(): ValidateFunction<ConfigFile> {
  if (compiledSchema === undefined) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true })
    ajv.addKeyword({ keyword: MESSAGE_KEYWORD, schemaType: 'string' })
    ajv.addKeyword(durationKeyword)
    compiledSchema = ajv.compile<ConfigFile>(CONFIG_FILE_SCHEMA)
  }
  return compiledSchema
}

function validateFile(raw: unknown, path: string, rejected: Set<string>, errors: string[]): ConfigFile | undefined {
  const validate = fileValidator()
  if (validate(raw)) return raw
  for (const error of validate.errors ?? []) {
    const field = dottedPath(error.instancePath)
    if (field === '') {
      if (error.keyword === 'type') {
        errors.push(`${path}: must be a YAML mapping`)
        return undefined
      }
    }
    rejected.add(field)
    errors.push(schemaMessage(field, error, path))
  }
  return raw as ConfigFile
}

function schemaMessage(field: string, error: ErrorObject, file: string): string {
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty)
    // A key that cannot stand as the field of a `<field>: <reason>` line (empty,
    // a colon, control or invisible characters, a line break) is quoted after
    // the section that holds it instead.
    if (!plainKey(key)) return `${field === '' ? file : field}: unknown key ${quoteKey(key)}`
    return `${field === '' ? key : `${field}.${key}`}: unknown key`
  }
  if (error.keyword === 'type' && (error.params as { type: string }).type === 'object') return `${field}: must be a mapping`
  // A duration's keyword says which rule failed: the grammar or the declared range.
  if (error.keyword === DURATION_KEYWORD && error.message !== undefined) return `${field}: ${error.message}`
  const message: unknown = (error.parentSchema as Record<string, unknown> | undefined)?.[MESSAGE_KEYWORD]
  // Every leaf of the schema carries its message; the fallback only guards
  // against a future key added without one.
  return `${field}: ${typeof message === 'string' ? message : (error.message ?? 'is invalid')}`
}

function plainKey(key: string): boolean {
  return key !== '' && key.trim() === key && !/[\p{C}\p{Zl}\p{Zp}:]/u.test(key)
}

/** JSON-style quoting that also escapes the invisible characters JSON.stringify leaves alone. */
function quoteKey(key: string): string {
  return JSON.stringify(key).replace(/[\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`)
}

/** `/collectors/http/namespaces/include/0` → `collectors.http.namespaces.include[0]`. */
function dottedPath(pointer: string): string {
  let out = ''
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~')
    // Numeric segments only arise as array indexes: object keys are fixed by the schema.
    out += /^\d+$/.test(key) ? `[${key}]` : out === '' ? key : `.${key}`
  }
  return out
}
