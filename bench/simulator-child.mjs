// Runs the Pixie API simulator with a large generated scenario in its own
// process, so the benchmark measures only the exporter's side.
import { pino } from 'pino'
import { makeLargeScenario } from '../dist/simulator/scenario.js'
import { startSimulator } from '../dist/simulator/server.js'

const pods = Number(process.argv[2] ?? 10000)
// `ignore-row-limit`: send every row whatever max_output_rows_per_table says (a hostile Pixie or proxy).
const ignoreRowLimit = process.argv[3] === 'ignore-row-limit'
// `SHARE:LIFETIME_SECONDS:UNTIL_SECONDS`: pod churn (see LargeScenarioOptions.churn), e.g. 0.25:300:10800.
const [share, lifetimeSeconds, untilSeconds] = (process.argv[4] ?? '').split(':').map(Number)
const churn = process.argv[4] === undefined || process.argv[4] === '' ? undefined : { share, lifetimeSeconds, untilSeconds }
const sim = await startSimulator({
  ignoreRowLimit,
  scenario: makeLargeScenario(pods, churn === undefined ? {} : { churn }),
  listen: '127.0.0.1:0',
  logger: pino({ level: 'warn' }),
  startedAt: Date.now() - 3_600_000,
})
process.stdout.write(`${sim.address}\n`)
process.on('SIGTERM', () => sim.close().then(() => process.exit(0)))
