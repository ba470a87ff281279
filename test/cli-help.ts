/**
 * `--help` on every command lists every flag the command accepts (compared
 * with the config schema's FLAGS and the commands' parseArgs tables), and
 * `--version` prints what the Prometheus exporters print.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { ANALYZE_OPTIONS } from '../src/analyze/command.js'
import { COMMANDS, DEMO_OPTIONS, SIMULATE_OPTIONS } from '../src/commands.js'
import { ENV_VARS, FLAGS } from '../src/config/schema.js'
import { CLI } from './fixtures/tools.js'

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Every flag each command accepts, from the tables the parsers use. */
const ACCEPTED: Record<(typeof COMMANDS)[number], readonly string[]> = {
  serve: [...Object.values(FLAGS), 'help', 'version'],
  simulate: Object.keys(SIMULATE_OPTIONS),
  demo: Object.keys(DEMO_OPTIONS),
  analyze: Object.keys(ANALYZE_OPTIONS),
}

for (const command of COMMANDS) {
  t.test(`${command} --help lists every flag ${command} accepts and exits 0`, async (t) => {
    const help = run([command, '--help'])
    t.equal(help.status, 0, `exit status 0\n${help.stderr}`)
    t.equal(help.stderr, '', 'nothing on stderr')
    for (const flag of ACCEPTED[command]) t.match(help.stdout, new RegExp(`--${flag.replace(/\./g, '\\.')}\\b`), `--${flag} is listed`)
    t.equal(run([command, '-h']).stdout, help.stdout, '-h is the same')
  })
}

t.test('serve --help names the environment variable of each flag that has one', async (t) => {
  const help = run(['serve', '--help']).stdout
  for (const name of Object.values(ENV_VARS)) {
    if (name === ENV_VARS.apiKey || name === ENV_VARS.apiKeyFile) t.match(help, new RegExp(name), `${name} is named (no flag: secrets stay off the command line)`)
    else t.match(help, new RegExp(`\\[\\$${name}\\]`), `${name} is shown next to its flag`)
  }
})

t.test('--help after other flags, and `help COMMAND`, print the help instead of a usage error', async (t) => {
  const late = run(['--config', 'does-not-exist.yaml', '--help'])
  t.equal(late.status, 0, 'exit 0 although --config names no file')
  t.match(late.stdout, /^Usage: pixie-exporter \[COMMAND\] \[FLAGS\]/, 'the overview')
  for (const command of COMMANDS) t.equal(run(['help', command]).stdout, run([command, '--help']).stdout, `help ${command} = ${command} --help`)
  const overview = run(['--help']).stdout
  for (const command of COMMANDS) t.match(overview, new RegExp(`^  ${command} `, 'm'), `the overview lists ${command}`)
})

t.test('an unknown command or flag is a usage error naming it, exit 2', async (t) => {
  const command = run(['srve'])
  t.equal(command.status, 2, 'exit 2')
  t.match(command.stderr, /unknown command "srve"/, 'the command is named')
  const flag = run(['simulate', '--scenari', 'x'])
  t.equal(flag.status, 2, 'exit 2')
  t.match(flag.stderr, /Unknown option '--scenari'[\s\S]*pixie-exporter simulate --help/, 'the flag is named and the help pointed to')
})

t.test('--version prints version, revision, branch, build user and date, Node.js version and platform', async (t) => {
  const r = run(['--version'])
  t.equal(r.status, 0, 'exit 0')
  const lines = r.stdout.split('\n')
  t.match(lines[0], /^pixie-exporter, version \d+\.\d+\.\d+ \(branch: \S+, revision: [0-9a-f]{40}|unknown\)$/, `first line (${lines[0]})`)
  t.match(r.stdout, /^ {2}build user: {7}\S+$/m, 'build user')
  t.match(r.stdout, /^ {2}build date: {7}\d{8}-\d\d:\d\d:\d\d$/m, 'build date as the Prometheus exporters print it')
  t.match(r.stdout, new RegExp(`^ {2}node version: {5}${process.version.replace(/\./g, '\\.')}$`, 'm'), 'the Node.js version running it')
  t.match(r.stdout, new RegExp(`^ {2}platform: {9}${process.platform}/${process.arch}$`, 'm'), 'os/arch')
  t.equal(run(['serve', '--version']).stdout, r.stdout, 'serve --version is the same')
})
