/**
 * The installable package: `npm pack`, installed into an empty directory the
 * way a user would, then the installed `pixie-exporter` bin is run:
 * `--version`, `--check-config`, and a short serve against the simulator.
 * The tarball carries the runtime only: no tests, no sources, no source
 * maps, no dev-only code (the dashboards generator imports a dev dependency).
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../fixtures/deploy.js'
import { freePort, startChild, waitFor } from '../fixtures/tools.js'

const CLUSTER = '00000000-0000-0000-0000-000000000001'
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string
  version: string
  engines: { node: string }
  bin: Record<string, string>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

const work = mkdtempSync(join(tmpdir(), 'pxe-pack-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 })
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', output: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}

// One pack and one install for every test below (npm test has built dist/ first).
const packed = sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], REPO_ROOT)
const info = (JSON.parse(packed.status === 0 ? packed.stdout : '[{}]') as { filename?: string; files?: { path: string }[] }[])[0] ?? {}
const files = (info.files ?? []).map((f) => f.path)
const tarball = join(work, info.filename ?? 'missing.tgz')
const app = join(work, 'app')
const bin = join(app, 'node_modules', '.bin', 'pixie-exporter')

t.test('npm pack makes a tarball of the runtime only', async (t) => {
  t.equal(packed.status, 0, `npm pack exits 0\n${packed.stderr}`)
  t.ok(files.includes('dist/cli.js'), 'the CLI is in it')
  t.ok(files.includes('dist/build-info.json'), 'the build facts --version prints are in it')
  t.ok(files.includes('dist/pixie/proto/vizierapi.proto'), 'the proto the client loads is in it')
  t.ok(files.some((f) => f.startsWith('scenarios/')), 'the scenarios the simulator reads are in it')
  t.ok(files.includes('package.json') && files.includes('README.md'), 'package.json and README.md are in it')
  t.strictSame(files.filter((f) => /^(test|src|bench|deploy|\.ci)\//.test(f)), [], 'no tests, sources, benchmarks, manifests or CI files')
  t.strictSame(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts')), [], 'no source maps (the sources are not shipped) and no TypeScript')
  t.strictSame(files.filter((f) => f.startsWith('dist/dashboards/')), [], 'no dashboards generator (it imports a dev dependency)')
  const dev = Object.keys(pkg.devDependencies)
  const offenders = files
    .filter((f) => f.endsWith('.js'))
    .filter((f) => {
      const code = readFileSync(join(REPO_ROOT, f), 'utf8')
      return dev.some((d) => code.includes(`from '${d}`) || code.includes(`import('${d}`))
    })
  t.strictSame(offenders, [], 'no shipped module imports a dev dependency')
})

t.test('the tarball installs into an empty directory and the bin runs', async (t) => {
  const { mkdirSync } = await import('node:fs')
  mkdirSync(app)
  // As docs/install.md says: protobufjs's postinstall only prints version advice, so it is denied.
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'try-pixie-exporter', private: true, allowScripts: { protobufjs: false } }, null, 2))
  // Dependencies come from the npm cache when they are there (offline-capable), else the registry.
  const install = sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app)
  t.equal(install.status, 0, `npm install exits 0\n${install.output}`)
  const major = Number(process.versions.node.split('.')[0])
  const supported = major >= Number(/(\d+)/.exec(pkg.engines.node)?.[1])
  if (supported) t.notMatch(install.output, /EBADENGINE/, `no EBADENGINE under Node ${process.version}`)
  t.notMatch(install.output, /install-scripts/, 'no install-scripts warning once protobufjs\'s postinstall is denied as documented')

  const version = sh(bin, ['--version'], app)
  t.equal(version.status, 0, `the installed bin runs\n${version.stderr}`)
  t.match(version.stdout, new RegExp(`^pixie-exporter, version ${pkg.version.replace(/\./g, '\\.')} \\(branch: `), 'it prints its version')
  t.match(version.stdout, /node version: +v\d+/, 'and the Node.js version')
  const npx = sh('npx', ['--no-install', 'pixie-exporter', '--version'], app)
  t.equal(npx.stdout, version.stdout, '`npx pixie-exporter --version` in that directory runs the installed bin, not npm\'s own')

  const check = sh(bin, ['--check-config', '--pixie.address', '127.0.0.1:1', '--pixie.tls', 'plaintext'], app, { PX_CLUSTER_ID: CLUSTER })
  t.equal(check.status, 0, `--check-config exits 0\n${check.stderr}`)
  t.match(check.stdout, /configuration is valid/, 'and says so')
  const bad = sh(bin, ['--check-config'], app, { PX_CLUSTER_ID: 'nope' })
  t.equal(bad.status, 2, 'a bad configuration exits 2')

  const simPort = await freePort()
  const sim = startChild(bin, ['simulate', '--scenario', join(app, 'node_modules', pkg.name, 'scenarios', 'steady-canary.yaml'), '--listen', `127.0.0.1:${simPort}`])
  t.teardown(() => sim.stop())
  await waitFor(`the installed simulator\n${sim.output()}`, async () => (/listening on/.test(sim.output()) ? true : undefined), 20_000, 50)
  const port = await freePort()
  const exporter = startChild(bin, ['--pixie.address', `127.0.0.1:${simPort}`, '--pixie.tls', 'plaintext', '--web.listen-address', `:${port}`], { PX_CLUSTER_ID: CLUSTER })
  t.teardown(() => exporter.stop())
  const url = `http://127.0.0.1:${port}`
  await waitFor(`the installed exporter ready on ${url}\n${exporter.output()}`, async () => ((await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 30_000)
  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.match(metrics, /pixie_exporter_collector_up\{collector="http"\} 1/, 'the installed exporter polled the simulator')
  t.equal(await exporter.stop(), 0, 'SIGTERM: exit 0')
})
