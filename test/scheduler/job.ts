import t from 'tap'
import { Registry } from 'prom-client'
import type { Collector, RunContext, RunSummary } from '../../src/collectors/collector.js'
import { PixieDeadlineError, PixieUnavailableError } from '../../src/errors.js'
import { createSelfMetrics } from '../../src/metrics/self-metrics.js'
import { CollectorJob } from '../../src/scheduler/job.js'
import { defaultStaleAfterMs, nominalIntervalMs } from '../../src/scheduler/schedule.js'
import { sinkLogger } from '../fixtures/logger.js'

/** A collector whose runs are driven by the test. */
class ManualCollector implements Collector {
  readonly name = 'manual'
  readonly schedule = { kind: 'cron', cron: '0 0 1 1 *' } as const // yearly: never fires during a test
  readonly timeoutMs: number
  readonly staleAfterMs = 30_000
  lastSuccessAt: number | undefined
  readonly pending: { resolve: (s: RunSummary) => void; reject: (e: Error) => void; context: RunContext }[] = []

  constructor(private readonly now: () => number, timeoutMs = 60_000) {
    this.timeoutMs = timeoutMs
  }

  run(context: RunContext): Promise<RunSummary> {
    return new Promise((resolve, reject) => {
      this.pending.push({
        context,
        resolve: (s) => {
          this.lastSuccessAt = this.now()
          resolve(s)
        },
        reject,
      })
      context.signal.addEventListener('abort', () => reject(context.signal.reason as Error))
    })
  }
}

function setup(timeoutMs?: number) {
  let now = 1_700_000_000_000
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 'test' })
  const collector = new ManualCollector(clock.now, timeoutMs)
  const log = sinkLogger()
  const job = new CollectorJob({ collector, metrics, logger: log.logger, now: clock.now })
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)
    return m?.values.find((v) => Object.entries({ collector: 'manual', ...labels }).every(([k, l]) => v.labels[k] === l))?.value
  }
  return { clock, registry, collector, job, metric, log }
}

t.test('self-metrics exist at zero before the first run', async (t) => {
  const s = setup()
  t.equal(await s.metric('pixie_exporter_collector_up'), 0, 'up is 0 before any success')
  t.equal(await s.metric('pixie_exporter_collector_runs_total', { result: 'skipped' }), 0, 'runs_total series exist')
  t.match(await s.registry.metrics(), /pixie_exporter_build_info\{version="test",revision="unknown",branch="unknown",nodeversion="v\d+/, 'build info is exported')
  t.match(await s.registry.metrics(), /process_resident_memory_bytes/, 'process metrics are exported')
})

t.test('a successful run records up, rows, duration and last success', async (t) => {
  const s = setup()
  const done = s.job.runNow()
  s.clock.advance(1500)
  s.collector.pending[0]?.resolve({ rows: 42 })
  t.equal(await done, 'success', 'outcome is success')
  t.equal(await s.metric('pixie_exporter_collector_up'), 1, 'up is 1')
  t.equal(await s.metric('pixie_exporter_collector_rows'), 42, 'rows recorded')
  t.equal(await s.metric('pixie_exporter_collector_duration_seconds'), 1.5, 'duration recorded in seconds')
  t.equal(await s.metric('pixie_exporter_collector_last_success_timestamp_seconds'), 1_700_000_001.5, 'last success in unix seconds')
  t.equal(await s.metric('pixie_exporter_collector_runs_total', { result: 'success' }), 1, 'success counted')
  t.same(s.job.readiness(), { ready: true }, 'ready after a success')
})

t.test('an overlapping run is skipped and counted', async (t) => {
  const s = setup()
  const first = s.job.runNow()
  t.equal(await s.job.runNow(), 'skipped', 'second run while the first is in flight is skipped')
  t.equal(await s.metric('pixie_exporter_collector_runs_total', { result: 'skipped' }), 1, 'skipped counted')
  t.equal(s.collector.pending.length, 1, 'the collector ran only once')
  s.collector.pending[0]?.resolve({ rows: 1 })
  await first
  t.match(s.log.text(), /previous run still in progress; run skipped/, 'the skip is logged')
})

t.test('a failed run sets up to 0, keeps the error for the status page, and logs it as err', async (t) => {
  const s = setup()
  const done = s.job.runNow()
  s.collector.pending[0]?.reject(new PixieUnavailableError('simulated outage'))
  t.equal(await done, 'error', 'outcome is error')
  t.equal(await s.metric('pixie_exporter_collector_up'), 0, 'up is 0')
  t.equal(await s.metric('pixie_exporter_collector_runs_total', { result: 'error' }), 1, 'error counted')
  t.equal(s.job.status().lastError, 'simulated outage', 'status keeps the message')
  const line = s.log.lines().find((l) => l.msg?.toString().startsWith('collector run failed'))
  t.equal((line?.err as { type?: string } | undefined)?.type, 'PixieUnavailableError', 'logged under err with its class')
  const r = s.job.readiness()
  t.match(r, { ready: false, reason: /has not succeeded yet \(last error: simulated outage\)/ }, 'not ready, with reason')
})

t.test('a run that exceeds its timeout is aborted and counted as timeout', async (t) => {
  const s = setup(50)
  const outcome = await s.job.runNow()
  t.equal(outcome, 'timeout', 'outcome is timeout')
  t.ok(s.collector.pending[0]?.context.signal.aborted, 'the run was aborted')
  t.type(s.collector.pending[0]?.context.signal.reason, PixieDeadlineError, 'abort reason is a deadline error')
  t.equal(await s.metric('pixie_exporter_collector_runs_total', { result: 'timeout' }), 1, 'timeout counted')
})

t.test('readiness turns false when the data is stale', async (t) => {
  const s = setup()
  const done = s.job.runNow()
  s.collector.pending[0]?.resolve({ rows: 1 })
  await done
  s.clock.advance(31_000)
  t.match(s.job.readiness(), { ready: false, reason: /data is stale: last success 31s ago \(staleAfter 30s\)/ }, 'stale reason')
})

t.test('stop aborts a run in flight and waits for it', async (t) => {
  const s = setup()
  const started = s.job.start()
  await s.job.stop()
  t.equal(await started, 'error', 'the in-flight run ended')
  t.ok(s.collector.pending[0]?.context.signal.aborted, 'it was aborted')
  t.equal(await s.job.runNow(), 'skipped', 'no run starts after stop')
  t.notMatch(s.log.text(), /collector run failed/, 'a shutdown abort is not logged as a failure')
})

t.test('nominal interval and default staleAfter follow the schedule', async (t) => {
  t.equal(nominalIntervalMs({ kind: 'interval', intervalMs: 15_000, cron: '*/15 * * * * *' }), 15_000, 'interval as is')
  t.equal(nominalIntervalMs({ kind: 'cron', cron: '*/20 * * * * *' }), 20_000, 'cron gap between two runs')
  t.equal(defaultStaleAfterMs({ kind: 'cron', cron: '0 */5 * * * *' }), 900_000, 'three 5-minute ticks')
})

t.test('after failures it retries sooner than the schedule, with growing jittered delays, until it succeeds', async (t) => {
  const registry = new Registry()
  const metrics = createSelfMetrics(registry, { version: 'test' })
  const attempts: number[] = []
  let failuresLeft = 3
  const collector: Collector = {
    name: 'flaky',
    schedule: { kind: 'cron', cron: '0 0 1 1 *' },
    timeoutMs: 1000,
    staleAfterMs: 60_000,
    lastSuccessAt: undefined,
    async run() {
      attempts.push(Date.now())
      if (failuresLeft-- > 0) throw new PixieUnavailableError('Pixie unreachable')
      ;(this as { lastSuccessAt: number | undefined }).lastSuccessAt = Date.now()
      return { rows: 1 }
    },
  }
  const job = new CollectorJob({ collector, metrics, logger: sinkLogger().logger, now: Date.now, random: () => 0.5, retryBaseMs: 20 })
  t.teardown(() => job.stop())
  t.equal(await job.start(), 'error', 'the first run at start fails')
  t.ok(job.retryPending, 'a retry is scheduled instead of waiting for the next tick')
  const deadline = Date.now() + 5000
  while (job.readiness().ready !== true && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  t.same(job.readiness(), { ready: true }, 'ready once Pixie answers')
  t.equal(attempts.length, 4, 'three failures, then the success')
  t.same(job.retryDelays, [20, 40, 80], 'delays double from the base (jitter factor 1 with random 0.5)')
  t.notOk(job.retryPending, 'no retry pending after the success')
})

t.test('each failed run logs one error line counting the failures in a row; the next success logs the recovery and the outage length', async (t) => {
  const s = setup()
  t.teardown(() => s.job.stop())
  const settle = async (outcome: 'fail' | 'ok') => {
    const run = s.job.runNow()
    const pending = s.collector.pending.at(-1)
    s.clock.advance(1_000)
    if (outcome === 'fail') pending?.reject(new PixieUnavailableError('cannot reach Pixie at 127.0.0.1:1', 14))
    else pending?.resolve({ rows: 3 })
    await run
  }
  await settle('ok')
  await settle('fail')
  s.clock.advance(4_000)
  await settle('fail')
  s.clock.advance(4_000)
  await settle('ok')
  const lines = s.log.lines()
  const failed = lines.filter((l) => l.msg === 'collector run failed; keeping the last values until they are stale')
  t.strictSame(failed.map((l) => l.failedRuns), [1, 2], 'one line per failed run, counting them')
  const recovered = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('collector runs recovered'))
  t.equal(recovered.length, 1, 'one recovery line')
  // First failed run starts at T; each run takes 1s; 4s pass after each failure: the success ends at T + 11s.
  t.equal(recovered[0]?.msg, 'collector runs recovered after 2 failed run(s) over 11s', 'it says how many runs failed and for how long')
  t.equal(recovered[0]?.outageSeconds, 11, 'outageSeconds: from the start of the first failed run to the end of the successful one')
  t.equal(recovered[0]?.level, 30, 'at info')
  await settle('ok')
  t.equal(s.log.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('collector runs recovered')).length, 1, 'a success without an outage logs no recovery')
})
