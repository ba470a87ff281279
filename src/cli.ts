#!/usr/bin/env node
/**
 * The process: parses the command line, builds the exporter (or the simulator),
 * listens, and owns signals, process warnings and exit codes. Nothing else
 * calls process.exit. The commands, their flags and help texts are in
 * src/commands.ts.
 *
 *   pixie-exporter [serve] [flags]          run the exporter (see docs/configuration.md)
 *   pixie-exporter simulate --scenario F    run the Pixie API simulator
 *   pixie-exporter demo [--scenario F]      simulator + exporter in one process
 *   pixie-exporter analyze --template F     run an AnalysisTemplate's metrics once
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Logger } from 'pino'
import { runAnalyzeCommand } from './analyze/command.js'
import { readBuildInfo } from './build-info.js'
import { COMMANDS, DEMO_OPTIONS, SIMULATE_OPTIONS, commandHelp, overviewHelp, versionText, type CommandName } from './commands.js'
import { loadConfig, loadConfigAsync, redactConfig } from './config/load.js'
import type { Config } from './config/types.js'
import { DEMO_CLUSTER_ID, DEMO_CONFIG_YAML, browseBase, demoBanner } from './demo.js'
import { ConfigError, ExporterError, ScenarioError } from './errors.js'
import { createExporter, type Exporter } from './exporter.js'
import { LOG_FORMATS, LOG_LEVELS, createLogger } from './log.js'
import { loadWebConfig } from './server/web-config.js'
import { Secrets } from './secrets.js'

/** Exit statuses: 2 for a bad configuration or command line, 1 for a failure at run time. */
const EXIT_CONFIG = 2
const EXIT_FAILURE = 1
/** Longest a graceful shutdown may take before the process exits anyway, ms. */
const SHUTDOWN_BOUND_MS = 10_000
/** How often the demo checks whether the first poll succeeded, ms. */
const DEMO_READY_CHECK_MS = 500
/** The demo's configuration "file" (never on disk). */
const DEMO_CONFIG_PATH = '<demo configuration>'

/** A usage error: the message, then the command's help, exit status 2. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command: CommandName | undefined,
  ) {
    super(message)
    this.name = new.target.name
  }
}

type Level = Config['log']['level']
type Format = Config['log']['format']

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new ConfigError([`--${flag}: must be one of ${allowed.join(', ')}`])
}

/**
 * Node's process warnings become log lines in the chosen format instead of
 * raw text on stderr. DEP0123 ("Setting the TLS ServerName to an IP address")
 * is expected, not the operator's to fix: with TLS to an IP address
 * (`PX_CLOUD_ADDR=10.0.0.5:443`), @grpc/grpc-js always passes the host as
 * the TLS servername (grpc/grpc-node#1919) and offers no way to leave SNI
 * out. The certificate is still verified against the IP address, so it is
 * logged once at debug with that explanation.
 */
function routeProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning')
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code === 'DEP0123') {
      logger.debug(
        { code: warning.code },
        'TLS to an IP address: @grpc/grpc-js sends the IP as the TLS server name, which Node.js deprecates (RFC 6066); the certificate is still verified against the IP address',
      )
      return
    }
    logger.warn({ code: warning.code, warning: warning.message, type: warning.name }, 'Node.js process warning')
  })
}

function onSignals(logger: Logger, close: () => Promise<void>): void {
  let closing = false
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return
      closing = true
      logger.info({ signal }, 'shutting down')
      // A run in flight is cancelled by close(); if anything still hangs,
      // exit anyway so Kubernetes does not have to SIGKILL us.
      setTimeout(() => {
        logger.error({ boundMs: SHUTDOWN_BOUND_MS }, 'shutdown took too long; exiting')
        process.exit(EXIT_FAILURE)
      }, SHUTDOWN_BOUND_MS).unref()
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown')
          process.exit(EXIT_FAILURE)
        },
      )
    })
  }
}

/** A running command: its logger (for shutdown lines) and how to stop it. */
interface Running {
  readonly logger: Logger
  readonly close: () => Promise<void>
}

/** Whether `argv` asks for help (`--help`, `-h`) or the version, before any `--`. */
function metaFlags(argv: readonly string[]): { help: boolean; version: boolean } {
  const { tokens } = parseArgs({ args: [...argv], strict: false, allowPositionals: true, tokens: true })
  const names = tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : []))
  return { help: names.includes('help') || names.includes('h'), version: names.includes('version') }
}

async function startServing(
  argv: readonly string[],
  secrets: Secrets,
  extra: { simulated?: boolean; config?: Config } = {},
): Promise<Running & { exporter: Exporter }> {
  // Asynchronous: a reload must not stall the server on a blocking file.
  const load = async () => (await loadConfigAsync({ argv: [...argv], env: process.env })).config
  const loaded = extra.config === undefined ? await loadConfigAsync({ argv: [...argv], env: process.env }) : { config: extra.config, checkOnly: false, enableLifecycle: false, configFile: undefined }
  const { config } = loaded
  secrets.add(config.pixie.apiKey)
  // Checked before serving, and by --check-config too.
  const security = config.web.configFile === undefined ? undefined : loadWebConfig(config.web.configFile, (p) => readFileSync(p))
  if (loaded.checkOnly) {
    process.stdout.write(`configuration is valid${loaded.configFile === undefined ? '' : ` (${loaded.configFile})`}\n`)
    process.exit(0)
  }
  // The operator says the data is simulated: the demo command, or pixie.simulated.
  const simulated = extra.simulated === true || config.pixie.simulated
  const logger = createLogger({ level: config.log.level, format: config.log.format, secrets, ...(simulated && { bindings: { simulated: true } }) })
  routeProcessWarnings(logger)
  const build = readBuildInfo()
  logger.info({ config: redactConfig(config), version: build.version, revision: build.revision, node: process.version }, 'starting pixie-exporter')
  if (simulated) logger.warn('connected to the built-in Pixie API SIMULATOR: all data is simulated')
  const exporter = await createExporter({
    config,
    logger,
    simulated,
    enableLifecycle: loaded.enableLifecycle,
    ...(security !== undefined && { security }),
    secrets,
    // A reload reads the same sources again: the file, the environment, the flags.
    ...(extra.config === undefined && { loadConfig: load }),
  })
  const address = await exporter.app.listen({ host: config.web.host, port: config.web.port })
  logger.info({ address }, `serving metrics on ${address}/metrics`)
  exporter.start()
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'reloading the configuration')
    void exporter.reload()
  })
  return { logger, exporter, close: () => exporter.close() }
}

async function serve(argv: readonly string[], secrets: Secrets): Promise<Running> {
  return startServing(argv, secrets)
}

function simulateArgs(argv: readonly string[]) {
  return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: SIMULATE_OPTIONS }).values
}

/**
 * The simulator, loaded only by the commands that run it: `serve` never loads
 * a simulator module.
 */
const loadSimulator = () => import('./simulator/server.js')

async function simulate(argv: readonly string[]): Promise<Running> {
  const { loadScenarioFile, startSimulator } = await loadSimulator()
  const args = simulateArgs(argv)
  if (args.scenario === undefined) throw new UsageError('simulate: --scenario FILE is required', 'simulate')
  if ((args['tls-cert'] === undefined) !== (args['tls-key'] === undefined)) {
    throw new ConfigError(['--tls-cert, --tls-key: give both or neither'])
  }
  const logger = createLogger({
    level: oneOf<Level>('log.level', args['log.level'], LOG_LEVELS),
    format: oneOf<Format>('log.format', args['log.format'], LOG_FORMATS),
    bindings: { simulator: true },
  })
  routeProcessWarnings(logger)
  const scenario = loadScenarioFile(args.scenario)
  const tls =
    args['tls-cert'] !== undefined && args['tls-key'] !== undefined
      ? { cert: readFileSync(args['tls-cert']), key: readFileSync(args['tls-key']) }
      : undefined
  const truthListen = args['truth-listen']
  if (truthListen !== undefined && !/^.+:\d+$/.test(truthListen)) throw new ConfigError(['--truth-listen: must be HOST:PORT'])
  const sim = await startSimulator({
    scenario,
    listen: args.listen,
    logger,
    ...(tls ? { tls } : {}),
    ...(truthListen !== undefined ? { truthListen } : {}),
  })
  process.stdout.write(`Pixie API simulator (simulated data) listening on ${sim.address} (any cluster id, e.g. ${DEMO_CLUSTER_ID})\n`)
  if (sim.truthAddress !== undefined) process.stdout.write(`Simulator ground truth (simulated data): http://${sim.truthAddress}/truth\n`)
  return { logger, close: () => sim.close() }
}

async function demo(argv: readonly string[], secrets: Secrets): Promise<Running> {
  const { loadScenarioFile, startSimulator } = await loadSimulator()
  const args = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: DEMO_OPTIONS }).values
  const scenarioPath = args.scenario ?? new URL('../scenarios/argo-canary.yaml', import.meta.url).pathname
  const level = oneOf<Level>('log.level', args['log.level'], LOG_LEVELS)
  const format = oneOf<Format>('log.format', args['log.format'], LOG_FORMATS)
  const simLogger = createLogger({ level, format, bindings: { simulator: true } })
  const sim = await startSimulator({ scenario: loadScenarioFile(scenarioPath), listen: '127.0.0.1:0', logger: simLogger })
  // The same schedule as `npm run demo` (src/demo.ts), from an in-memory file.
  const readFile = (path: string) => (path === DEMO_CONFIG_PATH ? DEMO_CONFIG_YAML : readFileSync(path, 'utf8'))
  const { config } = loadConfig({
    argv: [
      '--config', DEMO_CONFIG_PATH,
      '--pixie.address', sim.address,
      '--pixie.tls', 'plaintext',
      '--web.listen-address', args['web.listen-address'],
      '--log.level', level,
      '--log.format', format,
    ],
    env: { PX_CLUSTER_ID: DEMO_CLUSTER_ID },
    readFile,
  })
  const running = await startServing([], secrets, { simulated: true, config })
  const bound = running.exporter.app.server.address()
  const port = typeof bound === 'object' && bound !== null ? bound.port : config.web.port
  const banner = demoBanner({ scenario: scenarioPath, simulator: sim.address, base: browseBase(config.web.host, port) })
  process.stdout.write(banner)
  // Log lines push the block out of sight: print it again once the first poll succeeded.
  const again = setInterval(() => {
    if (!running.exporter.jobs.some((j) => j.status().lastOutcome === 'success')) return
    clearInterval(again)
    process.stdout.write(banner)
  }, DEMO_READY_CHECK_MS)
  again.unref()
  return {
    logger: running.logger,
    close: async () => {
      clearInterval(again)
      await running.close()
      await sim.close()
    },
  }
}

async function main(argv: readonly string[], secrets: Secrets): Promise<void> {
  const first = argv[0]
  const named = (COMMANDS as readonly string[]).includes(first ?? '') ? (first as CommandName) : undefined
  if (first === 'help') {
    const topic = argv[1]
    process.stdout.write(`${topic !== undefined && (COMMANDS as readonly string[]).includes(topic) ? commandHelp(topic as CommandName) : overviewHelp()}\n`)
    return
  }
  if (first !== undefined && named === undefined && !first.startsWith('-')) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}`, undefined)
  }
  const command: CommandName = named ?? 'serve'
  const rest = named === undefined ? argv : argv.slice(1)
  const meta = metaFlags(rest)
  if (meta.help) {
    process.stdout.write(`${named === undefined ? overviewHelp() : commandHelp(command)}\n`)
    return
  }
  if (meta.version && command === 'serve') {
    process.stdout.write(versionText(readBuildInfo(), { node: process.version, platform: `${process.platform}/${process.arch}` }))
    return
  }
  if (command === 'analyze') {
    process.exitCode = await runAnalyzeCommand([...rest], {
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s),
    })
    return
  }
  const running = await (command === 'simulate' ? simulate(rest) : command === 'demo' ? demo(rest, secrets) : serve(rest, secrets))
  onSignals(running.logger, running.close)
}

/** The process's one set of secrets: every log line, page and fatal message is scrubbed of them. */
const processSecrets = new Secrets()

main(process.argv.slice(2), processSecrets).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`pixie-exporter: ${err.message}\n\n${err.command === undefined ? overviewHelp() : commandHelp(err.command)}\n`)
    process.exit(EXIT_CONFIG)
  }
  if (err instanceof ConfigError || err instanceof ScenarioError) {
    process.stderr.write(processSecrets.scrub(`pixie-exporter: ${err.message}\n`))
    process.exit(EXIT_CONFIG)
  }
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
    const command = (COMMANDS as readonly string[]).includes(process.argv[2] ?? '') ? (process.argv[2] as CommandName) : undefined
    process.stderr.write(`pixie-exporter: ${err.message}\nRun 'pixie-exporter ${command === undefined ? '' : `${command} `}--help' for the flags.\n`)
    process.exit(EXIT_CONFIG)
  }
  const code = err instanceof ExporterError ? ` [${err.code}]` : ''
  process.stderr.write(processSecrets.scrub(`pixie-exporter: fatal${code}: ${err instanceof Error ? err.message : String(err)}\n`))
  process.exit(EXIT_FAILURE)
})
