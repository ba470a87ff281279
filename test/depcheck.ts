import t from 'tap'
import { execFile } from 'node:child_process'
import { copyFileSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { promisify } from 'node:util'

// `npm run depcheck` (dependency-cruiser with .dependency-cruiser.cjs)
// enforces the import rules of docs/architecture.md; `npm test` runs it
// before tap. These tests run the real tool: on the repository, and on small
// trees that each break one rule.

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')
const BIN = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs')

interface Result {
  /** Exit code: the number of error-level violations. */
  readonly code: number
  /** One `<severity> <rule>: <from> → <to>` line per violation (a cycle: its first two modules). */
  readonly violations: readonly string[]
}

/** Runs dependency-cruiser on `src` in `cwd` with the project's rules, as `npm run depcheck` does. */
async function depcruise(cwd: string): Promise<Result> {
  const args = [BIN, 'src', '--config', CONFIG]
  try {
    const { stdout } = await run(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 })
    return { code: 0, violations: parse(stdout) }
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, violations: parse(e.stdout ?? '') }
  }
}

/** The violations of the `err` reporter's text (a cycle's modules are on the lines after its first). */
function parse(stdout: string): string[] {
  const out: string[] = []
  const lines = stdout.split('\n')
  lines.forEach((line, i) => {
    const m = /^\s*(error|warn) ([\w-]+): (\S+) → ?(\S*)$/.exec(line)
    if (m === null) return
    const to = m[4] !== '' ? m[4] : (lines[i + 1] ?? '').trim().replace(/ →$/, '')
    out.push(`${m[1]} ${m[2]}: ${m[3]} → ${to}`)
  })
  return out
}

const errorsOf = (r: Result): string[] => r.violations.filter((v) => v.startsWith('error '))

t.test('npm test runs the check, before tap', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts['depcheck'], 'depcruise src --config .dependency-cruiser.cjs', 'npm run depcheck runs dependency-cruiser with the rules file')
  const test = pkg.scripts['test'] ?? ''
  // Directly, or beside the type check, the lint and the build (scripts/parallel.mjs).
  const runs = /npm run depcheck|scripts\/parallel\.mjs [^&]*\bdepcheck\b/.exec(test)
  t.ok(runs, 'npm test runs npm run depcheck')
  t.ok(runs !== null && runs.index < test.indexOf('tap'), 'before tap')
})

t.test('the repository keeps every rule at severity error', async (t) => {
  const result = await depcruise(ROOT)
  t.same(errorsOf(result), [], 'no error-level violation')
  t.same(result.violations, [], 'no violation at all, warnings included')
  t.equal(result.code, 0, 'dependency-cruiser exits 0')
})

/** A throwaway tree of TypeScript modules (ESM `.js` specifiers, as in src/), with the project's tsconfig. */
function tree(t: Pick<typeof import('tap').default, 'testdir'>, files: Record<string, string>): string {
  const layout: Record<string, unknown> = {}
  for (const [path, text] of Object.entries(files)) {
    let node = layout
    const parts = path.split('/')
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>
    node[parts[parts.length - 1] ?? ''] = text
  }
  const root = t.testdir(layout as Parameters<typeof t.testdir>[0])
  copyFileSync(join(ROOT, 'tsconfig.json'), join(root, 'tsconfig.json'))
  return root
}

const CASES: readonly { readonly rule: string; readonly files: Record<string, string>; readonly from: string; readonly to: string }[] = [
  {
    rule: 'no-circular',
    files: {
      'src/collectors/a.ts': "import type { B } from './b.js'\nexport type A = B\n",
      'src/collectors/b.ts': "import type { A } from './a.js'\nexport type B = { a?: A }\n",
    },
    from: 'src/collectors/a.ts',
    to: 'src/collectors/b.ts',
  },
  {
    rule: 'leaves-are-leaves',
    files: {
      'src/duration.ts': "import { X } from './metrics/names.js'\nexport const D = X\n",
      'src/metrics/names.ts': "export const X = 'x'\n",
    },
    from: 'src/duration.ts',
    to: 'src/metrics/names.ts',
  },
  {
    rule: 'production-never-imports-simulator',
    files: {
      'src/collectors/http.ts': "import { S } from '../simulator/server.js'\nexport const H = S\n",
      'src/simulator/server.ts': "export const S = 's'\n",
    },
    from: 'src/collectors/http.ts',
    to: 'src/simulator/server.ts',
  },
  {
    rule: 'simulator-speaks-only-pixie-protocol',
    files: {
      'src/simulator/server.ts': "import { P } from '../collectors/pxl.js'\nimport { W } from '../pixie/proto.js'\nimport { D } from '../duration.js'\nexport const S = [P, W, D]\n",
      'src/collectors/pxl.ts': "export const P = 'p'\n",
      'src/pixie/proto.ts': "export const W = 'w'\n",
      'src/duration.ts': "export const D = 'd'\n",
    },
    from: 'src/simulator/server.ts',
    to: 'src/collectors/pxl.ts',
  },
  {
    rule: 'config-only-from-composition',
    files: {
      'src/scheduler/job.ts': "import type { Config } from '../config/types.js'\nexport type J = Config\n",
      'src/config/types.ts': 'export type Config = { a: 1 }\n',
      'src/cli.ts': "import type { Config } from './config/types.js'\nexport type C = Config\n",
    },
    from: 'src/scheduler/job.ts',
    to: 'src/config/types.ts',
  },
]

for (const c of CASES) {
  t.test(`a tree that breaks ${c.rule} fails the check, naming the import`, async (t) => {
    const result = await depcruise(tree(t, c.files))
    t.not(result.code, 0, 'dependency-cruiser exits non-zero')
    t.same(result.violations, [`error ${c.rule}: ${c.from} → ${c.to}`], 'exactly that import is reported, as an error')
  })
}


t.test('docs/architecture.md states every rule the checker enforces', async (t) => {
  const rules = (createRequire(import.meta.url)(CONFIG) as { forbidden: { name: string }[] }).forbidden.map((r) => r.name)
  t.ok(rules.length >= 6, 'the rules file holds the rules')
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8')
  for (const name of rules) t.ok(doc.includes(`\`${name}\``), `${name} is explained in docs/architecture.md`)
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  t.ok(readme.includes('(docs/architecture.md)'), 'the README links it')
})
