// Runs before `npm test`: the end-to-end tests need Debian's `prometheus`
// package (prometheus and promtool). Installs it when missing and we are root
// with apt-get (as in CI); otherwise says exactly what to do and fails.
import { spawnSync } from 'node:child_process'

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
const missing = ['prometheus', 'promtool'].filter((c) => !has(c))
if (missing.length === 0) process.exit(0)

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (isRoot && has('apt-get')) {
  console.error(`ensure-tools: ${missing.join(', ')} missing; installing Debian's prometheus package`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'prometheus']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env })
    if (r.status !== 0) {
      console.error(`ensure-tools: apt-get ${args.join(' ')} failed`)
      process.exit(1)
    }
  }
  process.exit(0)
}
console.error(`ensure-tools: ${missing.join(', ')} not found. Install Debian's package first: sudo apt-get install -y prometheus`)
process.exit(1)
