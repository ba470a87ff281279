/**
 * The command line's vocabulary: the commands, their flags (as
 * `util.parseArgs` option tables) and the help and version texts built from
 * them. Pure data and string building; src/cli.ts runs the commands.
 *
 * A flag is added in one place: its option table here (or FLAGS in
 * config/schema.ts for the exporter's own flags) with its help line, which
 * the compiler requires. `test/cli-help.ts` checks every flag shows up in
 * `--help`.
 */
import type { ParseArgsConfig } from 'node:util'
import { ANALYZE_USAGE } from './analyze/command.js'
import type { BuildInfo } from './build-info.js'
import { ENV_VARS, FLAGS } from './config/schema.js'
import { LOG_FORMATS, LOG_LEVELS } from './log.js'
import { TLS_MODES } from './pixie/tls-modes.js'

/** The program's name, as installed by package.json `bin`. */
export const PROGRAM = 'pixie-exporter'

/** One line of a command's flag list. */
export interface FlagHelp {
  /** Placeholder of the value (`FILE`); absent for a boolean flag. */
  readonly value?: string
  readonly help: string
}

type FlagName = (typeof FLAGS)[keyof typeof FLAGS]

/** The exporter's flags (`serve`), one help line each; the environment variable is added from ENV_VARS. */
export const SERVE_FLAGS: Readonly<Record<FlagName, FlagHelp>> = {
  [FLAGS.config]: { value: 'FILE', help: 'YAML configuration file (docs/configuration.md).' },
  [FLAGS.checkConfig]: { help: 'Validate the configuration (and the web configuration file), print the result and exit.' },
  [FLAGS.enableLifecycle]: { help: 'Serve POST /-/reload (off by default, as in Prometheus); SIGHUP always reloads.' },
  [FLAGS.listenAddress]: { value: 'HOST:PORT', help: 'Address of /metrics, the landing page and /-/ probes; :PORT means 0.0.0.0:PORT. Default 0.0.0.0:10049.' },
  [FLAGS.webConfigFile]: { value: 'FILE', help: 'Web configuration file: TLS and basic auth, as Prometheus exporters have.' },
  [FLAGS.logLevel]: { value: 'LEVEL', help: `Minimum log level: ${LOG_LEVELS.join(', ')}. Default info.` },
  [FLAGS.logFormat]: { value: 'FORMAT', help: `Log line format: ${LOG_FORMATS.join(' or ')}. Default json.` },
  [FLAGS.address]: { value: 'HOST:PORT', help: 'Pixie Cloud (or Vizier) gRPC address. Default withpixie.ai:443.' },
  [FLAGS.clusterId]: { value: 'UUID', help: 'Pixie cluster id. Required (flag, PX_CLUSTER_ID or pixie.clusterId).' },
  [FLAGS.tls]: { value: 'MODE', help: `TLS to Pixie: ${TLS_MODES.join(', ')}. Default verify.` },
  [FLAGS.caFile]: { value: 'FILE', help: 'PEM CA bundle to verify Pixie with (tls verify).' },
}

/** Environment variable of each flag, for the help text. */
const FLAG_ENV: Partial<Record<FlagName, string>> = {
  [FLAGS.config]: ENV_VARS.config,
  [FLAGS.listenAddress]: ENV_VARS.listenAddress,
  [FLAGS.webConfigFile]: ENV_VARS.webConfigFile,
  [FLAGS.logLevel]: ENV_VARS.logLevel,
  [FLAGS.logFormat]: ENV_VARS.logFormat,
  [FLAGS.address]: ENV_VARS.address,
  [FLAGS.clusterId]: ENV_VARS.clusterId,
  [FLAGS.tls]: ENV_VARS.tls,
  [FLAGS.caFile]: ENV_VARS.caFile,
}

/** Flags of `simulate`, as `util.parseArgs` options. */
export const SIMULATE_OPTIONS = {
  scenario: { type: 'string' },
  listen: { type: 'string', default: '127.0.0.1:50051' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'truth-listen': { type: 'string' },
  'log.level': { type: 'string', default: 'info' },
  'log.format': { type: 'string', default: 'json' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const SIMULATE_HELP: Readonly<Record<keyof typeof SIMULATE_OPTIONS, FlagHelp>> = {
  scenario: { value: 'FILE', help: 'Scenario file (scenarios/*.yaml, docs/scenarios.md). Required.' },
  listen: { value: 'HOST:PORT', help: 'gRPC address to serve the Pixie API on. Default 127.0.0.1:50051; port 0 picks a free one.' },
  'tls-cert': { value: 'FILE', help: 'PEM certificate to serve TLS with (with --tls-key). Default plaintext.' },
  'tls-key': { value: 'FILE', help: 'PEM private key of --tls-cert.' },
  'truth-listen': { value: 'HOST:PORT', help: 'Also serve the ground truth over HTTP at /truth on this address.' },
  'log.level': { value: 'LEVEL', help: `Minimum log level: ${LOG_LEVELS.join(', ')}. Default info.` },
  'log.format': { value: 'FORMAT', help: `Log line format: ${LOG_FORMATS.join(' or ')}. Default json.` },
  help: { help: 'Show this help and exit.' },
}

/** Flags of `demo`, as `util.parseArgs` options. */
export const DEMO_OPTIONS = {
  scenario: { type: 'string' },
  'web.listen-address': { type: 'string', default: '127.0.0.1:10049' },
  'log.level': { type: 'string', default: 'info' },
  'log.format': { type: 'string', default: 'json' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const DEMO_HELP: Readonly<Record<keyof typeof DEMO_OPTIONS, FlagHelp>> = {
  scenario: { value: 'FILE', help: 'Scenario file. Default scenarios/argo-canary.yaml.' },
  'web.listen-address': { value: 'HOST:PORT', help: "The exporter's address; :PORT means 0.0.0.0:PORT. Default 127.0.0.1:10049." },
  'log.level': { value: 'LEVEL', help: `Minimum log level: ${LOG_LEVELS.join(', ')}. Default info.` },
  'log.format': { value: 'FORMAT', help: `Log line format: ${LOG_FORMATS.join(' or ')}. Default json.` },
  help: { help: 'Show this help and exit.' },
}

/** The commands, in the order the overview lists them. */
export const COMMANDS = ['serve', 'simulate', 'demo', 'analyze'] as const
/** A command name. */
export type CommandName = (typeof COMMANDS)[number]

function flagLines(flags: Readonly<Record<string, FlagHelp>>, env: Readonly<Record<string, string | undefined>> = {}): string {
  const rows = Object.entries(flags).map(([name, f]) => [`--${name}${f.value === undefined ? '' : ` ${f.value}`}`, f.help, env[name]] as const)
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, help, variable]) => `  ${left.padEnd(width)}  ${help}${variable === undefined ? '' : ` [$${variable}]`}`).join('\n')
}

const SERVE_HELP_FLAG: Readonly<Record<string, FlagHelp>> = {
  help: { help: 'Show this help and exit.' },
  version: { help: 'Print the version, revision, build date, Node.js version and platform, and exit.' },
}

/** `pixie-exporter --help`: the overview. */
export function overviewHelp(): string {
  return `Usage: ${PROGRAM} [COMMAND] [FLAGS]

Prometheus exporter for Pixie: runs PxL scripts on a schedule and serves the results as metrics.

Commands:
  serve      Run the exporter (the default when no command is given).
  simulate   Run the built-in Pixie API simulator (simulated data, for demos and tests).
  demo       Run the simulator and the exporter together in one process.
  analyze    Run an Argo Rollouts AnalysisTemplate's metrics once.

Run '${PROGRAM} COMMAND --help' for a command's flags. Flags of serve:
${flagLines({ ...SERVE_FLAGS, ...SERVE_HELP_FLAG }, FLAG_ENV)}

Configuration reference: docs/configuration.md`
}

/** `pixie-exporter COMMAND --help`. */
export function commandHelp(command: CommandName): string {
  switch (command) {
    case 'serve':
      return `Usage: ${PROGRAM} [serve] [FLAGS]

Runs the exporter: polls Pixie on each collector's schedule and serves /metrics. Settings come
from, lowest precedence first: defaults, the YAML file, environment variables, flags.
The API key comes only from PX_API_KEY, PIXIE_EXPORTER_API_KEY_FILE or the YAML file.

Flags:
${flagLines({ ...SERVE_FLAGS, ...SERVE_HELP_FLAG }, FLAG_ENV)}

Signals: SIGHUP reloads the configuration; SIGTERM and SIGINT stop gracefully.
Configuration reference: docs/configuration.md`
    case 'simulate':
      return `Usage: ${PROGRAM} simulate --scenario FILE [FLAGS]

Runs the Pixie API simulator: a real gRPC server answering the exporter's scripts with SIMULATED
data from a scenario. Any cluster id is accepted (the demo uses 00000000-0000-0000-0000-000000000001).

Flags:
${flagLines(SIMULATE_HELP)}`
    case 'demo':
      return `Usage: ${PROGRAM} demo [FLAGS]

Runs the simulator and the exporter in one process, the exporter polling every 5s.
All data is SIMULATED. Ctrl-C stops both.

Flags:
${flagLines(DEMO_HELP)}`
    case 'analyze':
      return ANALYZE_USAGE
  }
}

/** `pixie-exporter --version`, in the layout of the Prometheus exporters' `--version`. */
export function versionText(info: BuildInfo, runtime: { readonly node: string; readonly platform: string }): string {
  return [
    `${PROGRAM}, version ${info.version} (branch: ${info.branch}, revision: ${info.revision})`,
    `  build user:       ${info.buildUser}`,
    `  build date:       ${info.buildDate}`,
    `  node version:     ${runtime.node}`,
    `  platform:         ${runtime.platform}`,
    '',
  ].join('\n')
}
