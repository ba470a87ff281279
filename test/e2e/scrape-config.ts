/**
 * examples/prometheus/prometheus.yml, the plain `scrape_configs` example for
 * a Prometheus without the operator, run by the real Prometheus against the
 * exporter: `promtool check config` accepts it, and with honor_labels the
 * exporter's namespace/pod labels survive target labels of the same name
 * (as Kubernetes service discovery adds them).
 */
import t from 'tap'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { REPO_ROOT } from '../fixtures/deploy.js'
import { CLI, findTool, freePort, promQuery, promtool, startChild, startExporter, waitFor } from '../fixtures/tools.js'

const EXAMPLE = join(REPO_ROOT, 'examples', 'prometheus', 'prometheus.yml')
const CLUSTER = '00000000-0000-0000-0000-000000000001'

interface PromConfig {
  global: Record<string, string>
  rule_files: string[]
  scrape_configs: { job_name: string; honor_labels?: boolean; scrape_interval?: string; scrape_timeout?: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[]
}

/** The example, with `targets` and intervals fit for a test, in a directory with the rule file it names. */
function exampleIn(dir: string, target: string): string {
  const config = parse(readFileSync(EXAMPLE, 'utf8')) as PromConfig
  config.global.scrape_interval = '1s'
  config.global.evaluation_interval = '1s'
  for (const job of config.scrape_configs) {
    job.scrape_interval = '1s'
    job.scrape_timeout = '1s'
    // What Kubernetes service discovery would add: the exporter pod's own namespace and name.
    job.static_configs = [{ targets: [target], labels: { namespace: 'pixie-exporter', pod: 'pixie-exporter-5c9d7-abcde' } }]
  }
  copyFileSync(join(REPO_ROOT, 'deploy', 'rules', 'pixie-exporter.rules.yaml'), join(dir, 'pixie-exporter.rules.yaml'))
  const file = join(dir, 'prometheus.yml')
  writeFileSync(file, stringify(config))
  return file
}

t.test('the example is valid and keeps honor_labels on the pixie-exporter job', async (t) => {
  const config = parse(readFileSync(EXAMPLE, 'utf8')) as PromConfig
  const job = config.scrape_configs.find((j) => j.job_name === 'pixie-exporter')
  t.equal(job?.honor_labels, true, 'honor_labels: true')
  const dir = mkdtempSync(join(tmpdir(), 'pxe-scrape-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const checked = promtool(['check', 'config', exampleIn(dir, '127.0.0.1:10049')])
  t.equal(checked.status, 0, `promtool check config accepts it (with its rule file)\n${checked.output}`)
})

t.test('the real Prometheus, configured by the example, keeps the observed pods\' namespace and pod labels', async (t) => {
  const bin = findTool('prometheus')
  if (bin instanceof Error) throw bin
  const simPort = await freePort()
  const sim = startChild(process.execPath, [CLI, 'simulate', '--scenario', join(REPO_ROOT, 'scenarios', 'steady-canary.yaml'), '--listen', `127.0.0.1:${simPort}`])
  t.teardown(() => sim.stop())
  await waitFor('the simulator', async () => (/listening on/.test(sim.output()) ? true : undefined), 20_000, 50)
  const exporter = await startExporter(['--pixie.address', `127.0.0.1:${simPort}`, '--pixie.tls', 'plaintext'], { PX_CLUSTER_ID: CLUSTER })
  t.teardown(() => exporter.stop())

  const dir = mkdtempSync(join(tmpdir(), 'pxe-scrape-'))
  const port = await freePort()
  const prom = startChild(bin, [
    `--config.file=${exampleIn(dir, exporter.url.slice('http://'.length))}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ])
  t.teardown(async () => {
    await prom.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const url = `http://127.0.0.1:${port}`
  await waitFor(`prometheus on ${url}\n${prom.output()}`, async () => ((await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 30_000)
  const samples = await waitFor(
    'per-pod series scraped by the example job',
    async () => {
      const found = await promQuery(url, 'pixie_http_requests_total{job="pixie-exporter"}')
      return found.length > 0 ? found : undefined
    },
    60_000,
  )
  t.ok(samples.every((s) => s.metric.namespace !== 'pixie-exporter'), 'namespace is the observed pod\'s, not the target label\'s')
  t.ok(samples.every((s) => s.metric.pod !== 'pixie-exporter-5c9d7-abcde'), 'pod is the observed pod, not the exporter')
  t.ok(samples.every((s) => s.metric.exported_namespace === undefined && s.metric.exported_pod === undefined), 'no exported_* labels')
  const up = await promQuery(url, 'up{job="pixie-exporter"}')
  t.equal(up[0]?.value, 1, 'the target is up')
})
