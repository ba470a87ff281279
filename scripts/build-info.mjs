// Writes dist/build-info.json, read by `pixie-exporter --version`
// (src/build-info.ts). Git is asked for the revision and branch when this is
// a checkout; the Docker build, which has no .git, passes them in as
// PIXIE_BUILD_REVISION and PIXIE_BUILD_BRANCH. SOURCE_DATE_EPOCH fixes the
// date for reproducible builds.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { hostname, userInfo } from 'node:os'

function git(...args) {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

function user() {
  try {
    return `${userInfo().username}@${hostname()}`
  } catch {
    return ''
  }
}

const epoch = Number(process.env.SOURCE_DATE_EPOCH)
const date = Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date()
const iso = date.toISOString()
const info = {
  revision: process.env.PIXIE_BUILD_REVISION || git('rev-parse', 'HEAD'),
  branch: process.env.PIXIE_BUILD_BRANCH || git('rev-parse', '--abbrev-ref', 'HEAD'),
  buildUser: process.env.PIXIE_BUILD_USER || user(),
  // 20261129-15:30:04, the layout of the Prometheus exporters' "build date".
  buildDate: `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19)}`,
}
mkdirSync('dist', { recursive: true })
writeFileSync('dist/build-info.json', `${JSON.stringify(info, null, 2)}\n`)
