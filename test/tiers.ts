/**
 * The two test tiers (.taprc): `npm test` runs every test file that .taprc's
 * `exclude` does not name, `npm run test:e2e` (scripts/test-e2e.mjs) runs
 * exactly the ones it names. Asked of tap itself (`tap list`), so a file that
 * neither tier would run, or that both would, fails here.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
// @ts-expect-error: a plain .mjs script without types
import { e2eFiles } from '../scripts/test-e2e.mjs'

const ROOT = join(import.meta.dirname, '..')
const TAP = join(ROOT, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs')

/** `tap list [args]`, run from the repository root: the files tap would run. */
function tapList(args: string[]): string[] {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP')))
  const r = spawnSync(process.execPath, [TAP, 'list', ...args], { cwd: ROOT, encoding: 'utf8', env })
  if (r.status !== 0) throw new Error(`tap list ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout.split('\n').filter((l) => l !== '')
}

/** Every .ts file under test/ outside fixture(s) folders. */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return /^fixtures?$/.test(e.name) ? [] : testFiles(path)
    return e.name.endsWith('.ts') ? [relative(ROOT, path)] : []
  })
}

t.test('every test file runs in exactly one tier', async (t) => {
  const e2eEntries = e2eFiles() as string[]
  const fast = tapList([])
  const e2e = tapList(e2eEntries)
  const all = testFiles(join(ROOT, 'test')).sort()
  t.ok(fast.length > 0 && e2e.length > 0, `both tiers have files (fast ${fast.length}, e2e ${e2e.length})`)
  t.same(fast.filter((f) => e2e.includes(f)), [], 'no file in both tiers')
  t.same(all.filter((f) => !fast.includes(f) && !e2e.includes(f)), [], 'no file in neither tier')
  t.same([...fast, ...e2e].filter((f) => !all.includes(f)), [], 'the tiers hold test files only (no fixture)')
  t.ok(fast.includes('test/tiers.ts'), 'this check itself is in the fast tier')
  // Entries are files or whole folders (`dir/**`), so a stale one is easy to spot.
  for (const entry of e2eEntries) {
    const folder = /^(.*)\/\*\*$/.exec(entry)?.[1]
    const named = folder === undefined ? all.filter((f) => f === entry) : all.filter((f) => f.startsWith(`${folder}/`))
    t.ok(named.length > 0, `.taprc exclude entry ${entry} names a test file or a folder of them (no stale entry)`)
  }
})
