/**
 * The configuration is read asynchronously (issue 13, defect 10): at
 * SIGHUP, a configuration file that blocks on open (here a FIFO nobody
 * writes to yet) must not stop the server from answering. At 3fef3da the
 * read was synchronous and `/-/healthy` hung until the FIFO was written.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, unlinkSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findTool, startExporter, waitFor } from '../fixtures/tools.js'

const CLUSTER = '10000000-0000-0000-0000-000000000001'

t.test('a FIFO as the configuration at SIGHUP does not block /-/healthy; the reload completes once it is written', async (t) => {
  const mkfifo = findTool('mkfifo')
  if (mkfifo instanceof Error) {
    t.fail('mkfifo (coreutils) is needed')
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'pxe-fifo-'))
  const file = join(dir, 'config.yaml')
  const body = 'collectors:\n  http:\n    interval: 30s\n'
  writeFileSync(file, body)
  const exporter = await startExporter(['--config', file, '--pixie.address', '127.0.0.1:9', '--pixie.tls', 'plaintext'], { PX_CLUSTER_ID: CLUSTER })
  t.teardown(() => exporter.stop())

  // The same path, now a FIFO: opening it for reading waits for a writer.
  unlinkSync(file)
  execFileSync(mkfifo, [file])
  exporter.proc.kill('SIGHUP')
  await waitFor('the reload to start', async () => (/reloading the configuration/.test(exporter.output()) ? true : undefined), 10_000)
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${exporter.url}/-/healthy`, { signal: AbortSignal.timeout(20_000) })
    t.equal(res.status, 200, `/-/healthy answers while the reload waits for the FIFO (${i + 1})`)
  }
  t.notMatch(exporter.output(), /configuration reloaded/, 'the reload is still waiting')

  await writeFile(file, body.replace('30s', '15s'))
  await waitFor('the reload to finish', async () => (/configuration reloaded/.test(exporter.output()) ? true : undefined), 20_000)
  const metrics = await (await fetch(`${exporter.url}/metrics`)).text()
  t.match(metrics, /pixie_exporter_config_last_reload_successful 1/, 'the configuration read from the FIFO was applied')
})
