// Benchmark table of issue 15: the real exporter (dist/cli.js) polling the
// simulator over real gRPC, measured from outside. Prints figures; asserts
// nothing (test/bench/smoke.ts only checks that it runs and prints a row).
//
//   npm run bench [-- --pods 1k,10k,50k] [--polls 6] [--interval 5s] [--legacy] [--native] [--metrics a,b] [--buckets 0.025,0.1] [--runtime deploy|defaults]
//
// --runtime deploy (default): the exporter runs with deploy/base's
// NODE_OPTIONS and malloc settings (read from the Deployment); defaults:
// with Node.js' own.
//
// For each pod count: series per pod, the exposition's size (plain, gzip,
// protobuf), poll duration (the exporter's own
// pixie_exporter_collector_duration_seconds), the longest stall per poll
// (a separate probe process asks /-/healthy every 2 ms; the longest answer
// between two polls is that poll's stall; the exporter's own
// nodejs_eventloop_lag_max_seconds beside it), RSS (median and peak, from
// /proc), heap used and external memory (the exporter's nodejs_* gauges), and
// GET /metrics p50 plain and gzip while polls continue (one scrape a second,
// rotating plain and gzip with Node.js' http client, then with curl, a
// native client like Prometheus'; Node's client is the slower reader of a
// 13 MiB body, so both are printed). The protobuf body is fetched once,
// after the polls.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import {
  LEGACY,
  curlGet, describeEnv, exporterConfig, get, httpRuns, runtimeEnv, httpSeries, machine, median, mib, parseArgs, podCounts, processMemory, sampleValue, sleep, startExporter, startSimulator,
} from './lib.mjs'

const args = parseArgs(process.argv.slice(2), { pods: '1k,10k,50k', interval: '5s', runtime: 'deploy' })
const env = runtimeEnv(args.runtime)
const extra = []
if (typeof args.metrics === 'string') extra.push(`metrics: [${args.metrics}]`)
if (typeof args.buckets === 'string') extra.push(`buckets: [${args.buckets}]`)
// --legacy: the series set before issue 15 (every family, 11 buckets, _sum and _count), for comparison.
if (args.legacy === true) extra.push(...LEGACY)
if (args.native === true) extra.push('nativeHistogram:', '  enabled: true')

console.log(`bench: the exporter (dist/cli.js) against the simulator over gRPC, polling every ${args.interval} over a 10s window${extra.length > 0 ? `, ${extra.join(' ')}` : ' (default series set)'}`)
console.log(`machine: ${machine()}`)
console.log(`runtime: ${describeEnv(env)}`)
console.log('')
console.log('| pods | series (per pod) | exposition plain / gzip / protobuf | poll | longest stall per poll, probe min / median / max (self-reported max) | RSS median (peak) | heap used / external | GET /metrics p50 plain / gzip, Node.js client | same, curl |')
console.log('|---|---|---|---|---|---|---|---|---|')

for (const pods of podCounts(args.pods)) {
  const polls = Number(args.polls ?? (pods >= 50_000 ? 4 : 6))
  console.log(await measure(pods, polls))
}
process.exit(0)

async function measure(pods, polls) {
  const sim = await startSimulator(pods)
  const exporter = await startExporter(sim.address, exporterConfig({ interval: args.interval, extra }), env)
  const probe = fork(join(import.meta.dirname, 'probe-child.mjs'), [`${exporter.url}/-/healthy`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const take = async () => {
    probe.send('take')
    const [m] = await once(probe, 'message')
    return m
  }
  try {
    // Wait for the first successful poll; the start is not measured.
    const until = Date.now() + 300_000
    let runs = 0
    let text = ''
    for (;;) {
      const r = await get(`${exporter.url}/metrics`, 'gzip')
      text = r.text()
      runs = httpRuns(text)
      if (sampleValue(text, 'pixie_exporter_collector_up', '{collector="http"}') === 1) break
      if (Date.now() > until) throw new Error(`no successful poll in 5 minutes:\n${exporter.stderr()}`)
      await sleep(500)
    }
    await take()
    const scrapes = { plain: [], gzip: [] }
    const curled = { plain: [], gzip: [] }
    const bytes = { plain: 0, gzip: 0, protobuf: 0 }
    const stalls = []
    const selfLag = []
    const pollSeconds = []
    const rss = []
    const heap = []
    const external = []
    let series = httpSeries(text)
    let lagMax = 0
    let n = 0
    while (stalls.length < polls) {
      const turn = n++ % 4
      const encoding = turn % 2 === 0 ? 'plain' : 'gzip'
      const t0 = Date.now()
      if (turn >= 2) {
        const c = await curlGet(`${exporter.url}/metrics`, encoding)
        if (c?.status === 200) curled[encoding].push(c.ms)
        rss.push(processMemory(exporter.pid).rss)
        await sleep(Math.max(0, 1000 - (Date.now() - t0)))
        continue
      }
      const r = await get(`${exporter.url}/metrics`, encoding)
      if (r.status === 200) {
        scrapes[encoding].push(r.ms)
        bytes[encoding] = r.bytes
        text = r.text()
        series = httpSeries(text)
        lagMax = Math.max(lagMax, sampleValue(text, 'nodejs_eventloop_lag_max_seconds') * 1000 || 0)
        heap.push(sampleValue(text, 'nodejs_heap_size_used_bytes'))
        external.push(sampleValue(text, 'nodejs_external_memory_bytes'))
        const seen = httpRuns(text)
        if (seen > runs) {
          runs = seen
          pollSeconds.push(sampleValue(text, 'pixie_exporter_collector_duration_seconds', '{collector="http"}'))
          stalls.push((await take()).maxMs)
          selfLag.push(lagMax)
          lagMax = 0
        }
      }
      rss.push(processMemory(exporter.pid).rss)
      await sleep(Math.max(0, 1000 - (Date.now() - t0)))
    }
    // Without native histograms the protobuf forms are rendered from the poll
    // after the first protobuf request (until then it is answered in text).
    let proto = await get(`${exporter.url}/metrics`, 'protobuf')
    for (let waited = 0; !proto.contentType.includes('protobuf') && waited < 60_000; waited += 500) {
      await sleep(500)
      proto = await get(`${exporter.url}/metrics`, 'protobuf')
    }
    bytes.protobuf = proto.contentType.includes('protobuf') ? proto.bytes : NaN
    const peak = processMemory(exporter.pid).peak
    const sorted = [...stalls].sort((a, b) => a - b)
    const ms = (x) => `${x.toFixed(0)} ms`
    return [
      '',
      pods.toLocaleString('en-US'),
      `${series.toLocaleString('en-US')} (${(series / pods).toFixed(1)})`,
      `${mib(bytes.plain)} / ${mib(bytes.gzip)} / ${mib(bytes.protobuf)} MiB`,
      `${median(pollSeconds).toFixed(2)} s`,
      `${ms(sorted[0])} / ${ms(median(sorted))} / ${ms(sorted.at(-1))} over ${stalls.length} polls (${ms(Math.max(...selfLag))})`,
      `${mib(median(rss))} (${mib(peak)}) MiB`,
      `${mib(median(heap))} / ${mib(median(external))} MiB`,
      `${median(scrapes.plain).toFixed(1)} / ${median(scrapes.gzip).toFixed(1)} ms`,
      curled.plain.length === 0 ? 'no curl' : `${median(curled.plain).toFixed(1)} / ${median(curled.gzip).toFixed(1)} ms`,
      '',
    ].join(' | ').trim()
  } finally {
    if (probe.connected) probe.send('stop')
    await exporter.stop()
    await sim.stop()
  }
}
