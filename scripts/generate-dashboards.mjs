// Writes the Grafana dashboards, their provisioning file and ConfigMap, and the
// Prometheus rules from src/dashboards/ (compiled to dev-dist/ by `npm run dashboards`:
// the generator imports a dev dependency, so it stays out of dist/ and the package).
// `--check` writes nothing and exits 1 when a committed file differs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { generatedFiles } from '../dev-dist/dashboards/index.js'

const root = join(import.meta.dirname, '..')
const check = process.argv.includes('--check')
let stale = 0
for (const { path, content } of generatedFiles()) {
  const file = join(root, path)
  let current
  try {
    current = readFileSync(file, 'utf8')
  } catch {
    current = undefined
  }
  if (current === content) continue
  if (check) {
    console.error(`${path} is not what src/dashboards/ generates; run npm run dashboards`)
    stale++
    continue
  }
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, content)
  console.log(`wrote ${path}`)
}
process.exit(stale === 0 ? 0 : 1)
