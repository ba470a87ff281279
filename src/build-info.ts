/**
 * Facts about this build, printed by `--version` and exported by
 * `pixie_exporter_build_info`. `npm run build` writes them to
 * dist/build-info.json (scripts/build-info.mjs); the version comes from
 * package.json.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** What `--version` prints besides the runtime. Unknown facts read `unknown`. */
export interface BuildInfo {
  readonly version: string
  /** Git commit the build was made from. */
  readonly revision: string
  readonly branch: string
  /** `user@host` that ran the build. */
  readonly buildUser: string
  /** UTC, `YYYYMMDD-HH:MM:SS` as the Prometheus exporters print it. */
  readonly buildDate: string
}

const UNKNOWN = 'unknown'

function readJson(path: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'))
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

const text = (value: unknown): string => (typeof value === 'string' && value !== '' ? value : UNKNOWN)

/**
 * Reads the build facts. `dir` is the directory of the compiled modules
 * (dist/); package.json is its parent's.
 */
export function readBuildInfo(dir: string = import.meta.dirname): BuildInfo {
  const pkg = readJson(join(dir, '..', 'package.json'))
  const build = readJson(join(dir, 'build-info.json'))
  return {
    version: text(pkg.version),
    revision: text(build.revision),
    branch: text(build.branch),
    buildUser: text(build.buildUser),
    buildDate: text(build.buildDate),
  }
}
