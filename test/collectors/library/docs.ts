import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LIBRARY_NAMES, librarySpec } from '../../fixtures/library-modules.js'

const DOC = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'collectors.md'), 'utf8')
const OPTIONS = { schedule: { kind: 'interval', intervalMs: 30_000, cron: '*/30 * * * * *' }, timeoutMs: 10_000 } as const

for (const name of LIBRARY_NAMES) {
  t.test(`docs/collectors.md documents library/${name} as the code builds it`, async (t) => {
    const spec = librarySpec(name, OPTIONS)
    t.match(DOC, new RegExp(`^## ${name}$`, 'm'), 'a section named after the collector')
    t.ok(DOC.includes(`\`\`\`python\n${spec.script.trimEnd()}\n\`\`\``), 'the default script, verbatim')
    for (const m of spec.metrics) {
      t.match(DOC, new RegExp(`^\\| \`${m.name}\` \\| ${m.type} \\| ${spec.labels.map((l) => l.label).join(', ')} \\|`, 'm'), `${m.name} in the metric table with its type and labels`)
    }
  })
}
