#!/usr/bin/env node
/**
 * The process: parses the command line, builds the exporter (or the simulator),
 * listens, and owns signals and exit codes. Nothing else calls process.exit.
 *
 *   pixie-exporter [serve] [flags]          run the exporter (see docs/configuration.md)
 *   pixie-exporter simulate --scenario F    run the Pixie API simulator
 *   pixie-exporter demo [--scenario F]      simulator + exporter in one process
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { pino, type Logger } from 'pino'
import { loadConfig, loadConfigAsync, redactConfig } from './config/load.js'
import type { Config } from './config/types.js'
import { ConfigError, ExporterError, ScenarioError } from './errors.js'
import { createExporter, packageVersion } from './exporter.js'
import { loadWebConfig } from './server/web-config.js'
import { loadScenarioFile, startSimulator } from './simulator/server.js'
import { runAnalyzeCommand } from './analyze/command.js'
import { Secrets } from './secrets.js'

const USAGE = `Usage:
  pixie-exporter [serve] [--config FILE] [--check-config] [--web.listen-address HOST:PORT] [--web.enable-lifecycle]
                 [--log.level LEVEL] [--pixie.address HOST:PORT] [--pixie.cluster-id UUID]
                 [--pixie.tls verify|skip-verify|plaintext] [--pixie.ca-file FILE]
  pixie-exporter simulate --scenario FILE [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE] [--truth-listen HOST:PORT]
  pixie-exporter demo [--scenario FILE] [--web.listen-address HOST:PORT]
  pixie-exporter analyze --template FILE [--arg NAME=VALUE]... [--prometheus URL] [--metric NAME]... [--run | --backtest --from T --to T [--step D]]
  pixie-exporter --version | --help
Configuration reference: docs/configuration.md`

/** Exit statuses: 2 for a bad configuration or command line, 1 for a failure at run time. */
const EXIT_CONFIG = 2
const EXIT_FAILURE = 1
/** Longest a graceful shutdown may take before the process exits anyway, ms. */
const SHUTDOWN_BOUND_MS = 10_000
/** The simulator accepts any cluster id; the demo uses this one. */
const SIMULATOR_CLUSTER_ID = '00000000-0000-0000-0000-000000000001'

function makeLogger(level: string, bindings: Record<string, unknown> = {}, secrets = new Secrets()): Logger {
  return pino({
    level,
    base: { ...bindings },
    // Every line is scrubbed of the secrets as written (messages, errors and
    // their details, bindings), and key fields are censored by path.
    ...secrets.pinoOptions(),
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

async function serve(argv: string[], secrets: Secrets, extra: { simulated?: boolean; config?: Config } = {}): Promise<() => Promise<void>> {
  const loaded = extra.config === undefined ? await loadConfigAsync({ argv, env: process.env }) : { config: extra.config, checkOnly: false, enableLifecycle: false, configFile: undefined }
  const { config } = loaded
  secrets.add(config.pixie.apiKey)
  // Checked before serving, and by --check-config too.
  const security = config.web.configFile === undefined ? undefined : loadWebConfig(config.web.configFile, (p) => readFileSync(p))
  if (loaded.checkOnly) {
    process.stdout.write(`configuration is valid${loaded.configFile === undefined ? '' : ` (${loaded.configFile})`}\n`)
    process.exit(0)
  }
  const logger = makeLogger(config.log.level, extra.simulated ? { simulated: true } : {}, secrets)
  logger.info({ config: redactConfig(config), version: packageVersion() }, 'starting pixie-exporter')
  if (extra.simulated) logger.warn('connected to the built-in Pixie API SIMULATOR: all data is simulated')
  const exporter = await createExporter({
    config,
    logger,
    simulated: extra.simulated ?? false,
    enableLifecycle: loaded.enableLifecycle,
    ...(security !== undefined && { security }),
    secrets,
    // A reload reads the same sources again (asynchronously: a blocking file
    // must not stall the server): the file, the environment, the flags.
    ...(extra.config === undefined && { loadConfig: async () => (await loadConfigAsync({ argv, env: process.env })).config }),
  })
  const address = await exporter.app.listen({ host: config.web.host, port: config.web.port })
  logger.info({ address }, `serving metrics on ${address}/metrics`)
  exporter.start()
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'reloading the configuration')
    void exporter.reload()
  })
  return () => exporter.close()
}

function simulateArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      scenario: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:50051' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'truth-listen': { type: 'string' },
      'log.level': { type: 'string', default: 'info' },
      'web.listen-address': { type: 'string' },
    },
  }).values
}

async function simulate(argv: string[]): Promise<() => Promise<void>> {
  const args = simulateArgs(argv)
  if (args.scenario === undefined) throw new ConfigError(['--scenario: required'])
  if ((args['tls-cert'] === undefined) !== (args['tls-key'] === undefined)) {
    throw new ConfigError(['--tls-cert, --tls-key: give both or neither'])
  }
  const logger = makeLogger(args['log.level'], { simulator: true })
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
  process.stdout.write(`Pixie API simulator (simulated data) listening on ${sim.address}\n`)
  if (sim.truthAddress !== undefined) process.stdout.write(`Simulator ground truth (simulated data): http://${sim.truthAddress}/truth\n`)
  return () => sim.close()
}

async function demo(argv: string[], secrets: Secrets): Promise<() => Promise<void>> {
  const args = simulateArgs(argv)
  const scenarioPath = args.scenario ?? new URL('../scenarios/argo-canary.yaml', import.meta.url).pathname
  const simLogger = makeLogger(args['log.level'], { simulator: true })
  const sim = await startSimulator({ scenario: loadScenarioFile(scenarioPath), listen: '127.0.0.1:0', logger: simLogger })
  const listen = args['web.listen-address'] ?? '127.0.0.1:10049'
  const { config } = loadConfig({
    argv: ['--pixie.address', sim.address, '--pixie.tls', 'plaintext', '--web.listen-address', listen, '--log.level', args['log.level']],
    env: { PX_CLUSTER_ID: SIMULATOR_CLUSTER_ID },
  })
  const closeExporter = await serve([], secrets, { simulated: true, config })
  const base = `http://${config.web.host === '0.0.0.0' ? '127.0.0.1' : config.web.host}:${config.web.port}`
  process.stdout.write(
    [
      '',
      'pixie-exporter demo — SIMULATED DATA (no Pixie cluster involved)',
      `  scenario:          ${scenarioPath}`,
      `  Pixie simulator:   ${sim.address} (gRPC)`,
      `  landing page:      ${base}/`,
      `  metrics:           ${base}/metrics`,
      `  readiness:         ${base}/-/ready`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  )
  return async () => {
    await closeExporter()
    await sim.close()
  }
}

async function main(argv: string[], secrets: Secrets): Promise<void> {
  const [first, ...rest] = argv
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (first === '--version') {
    process.stdout.write(`${packageVersion()}\n`)
    return
  }
  if (first === 'analyze') {
    process.exitCode = await runAnalyzeCommand(rest, {
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s),
    })
    return
  }
  let close: () => Promise<void>
  if (first === 'simulate') close = await simulate(rest)
  else if (first === 'demo') close = await demo(rest, secrets)
  else if (first === 'serve') close = await serve(rest, secrets)
  else close = await serve(argv, secrets)
  onSignals(makeLogger('info', {}, secrets), close)
}

/** The process's one set of secrets: every log line, page and fatal message is scrubbed of them. */
const processSecrets = new Secrets()

main(process.argv.slice(2), processSecrets).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof ScenarioError) {
    process.stderr.write(processSecrets.scrub(`pixie-exporter: ${err.message}\n`))
    process.exit(EXIT_CONFIG)
  }
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`pixie-exporter: ${err.message}\n${USAGE}\n`)
    process.exit(EXIT_CONFIG)
  }
  const code = err instanceof ExporterError ? ` [${err.code}]` : ''
  process.stderr.write(processSecrets.scrub(`pixie-exporter: fatal${code}: ${err instanceof Error ? err.message : String(err)}\n`))
  process.exit(EXIT_FAILURE)
})
