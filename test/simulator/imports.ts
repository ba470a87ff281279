import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

const ROOT = resolve(import.meta.dirname, '..', '..')
const SRC = join(ROOT, 'src')

/**
 * What the simulator may import outside src/simulator: Pixie's wire format
 * (the .proto loader and the JWE batch encryption), the coded errors, and
 * leaf utilities (clock, duration). Everything else (collectors, config,
 * metrics, server, scheduler, the exporter's Pixie client and scripts) is the
 * exporter, which the simulator must not share: it could not catch the
 * exporter's mistakes.
 */
const ALLOWED_OUTSIDE = new Set(['pixie/proto.ts', 'pixie/jwe.ts', 'errors.ts', 'clock.ts'])
const isLeafDuration = (rel: string): boolean => rel.endsWith('/duration.ts') || rel === 'duration.ts'

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
}

/** Relative imports of a file (values and types alike), resolved to .ts source paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return info.importedFiles.map((f) => f.fileName).filter((f) => f.startsWith('.')).map((f) => resolve(dirname(file), f).replace(/\.js$/, '.ts'))
}

/** Every module reachable from `roots`, with the first importer of each (for the message). */
function graph(roots: readonly string[]): Map<string, string> {
  const seen = new Map<string, string>(roots.map((r) => [r, '(root)']))
  const queue = [...roots]
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const dep of importsOf(file)) {
      if (seen.has(dep)) continue
      seen.set(dep, file)
      queue.push(dep)
    }
  }
  return seen
}

t.test('the simulator module graph reaches no collector, config, metrics or server module', async (t) => {
  const roots = tsFiles(join(SRC, 'simulator'))
  t.ok(roots.length > 10, `the simulator's ${roots.length} modules are walked`)
  const reached = graph(roots)
  const outside = [...reached.keys()].map((f) => relative(SRC, f)).filter((rel) => !rel.startsWith('simulator/'))
  const forbidden = outside.filter((rel) => !ALLOWED_OUTSIDE.has(rel) && !isLeafDuration(rel))
  t.same(
    forbidden.map((rel) => `${rel} (imported by ${relative(SRC, reached.get(join(SRC, rel)) ?? '')})`),
    [],
    'outside src/simulator only Pixie\'s wire format, errors and leaf utilities are imported',
  )
  t.ok(outside.includes('pixie/proto.ts'), 'the walk follows imports out of src/simulator (it reaches the proto loader)')
})

t.test('the import walk follows value and type-only imports, so a forbidden import cannot hide behind either', async (t) => {
  const dir = t.testdir({
    'a.ts': "import { b } from './b.js'\nimport type { C } from './c.js'\nexport const a = b",
    'b.ts': 'export const b = 1',
    'c.ts': 'export interface C { readonly c: number }',
  })
  const reached = [...graph([join(dir, 'a.ts')]).keys()].map((f) => relative(dir, f)).sort()
  t.same(reached, ['a.ts', 'b.ts', 'c.ts'], 'value and type-only imports are both followed')
})

/** Static `import` / `export ... from` declarations of a file (not `import()` calls), resolved to .ts paths. */
function staticImportsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022)
  return source.statements.flatMap((s) => {
    const spec = ts.isImportDeclaration(s) || ts.isExportDeclaration(s) ? s.moduleSpecifier : undefined
    return spec !== undefined && ts.isStringLiteral(spec) && spec.text.startsWith('.') ? [resolve(dirname(file), spec.text).replace(/\.js$/, '.ts')] : []
  })
}

t.test('no production module imports the simulator; the CLI loads it only for simulate and demo', async (t) => {
  const outside = tsFiles(SRC).filter((f) => !relative(SRC, f).startsWith('simulator/'))
  const intoSimulator = (deps: string[]) => deps.some((dep) => relative(SRC, dep).startsWith('simulator/'))
  t.same(outside.filter((f) => intoSimulator(staticImportsOf(f))).map((f) => relative(SRC, f)), [], 'no static import of a simulator module')
  t.same(
    outside.filter((f) => intoSimulator(importsOf(f))).map((f) => relative(SRC, f)),
    ['cli.ts'],
    'only src/cli.ts loads it, with import() in the simulate and demo commands (serve never loads it)',
  )
})
