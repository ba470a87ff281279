import t from 'tap'
import * as grpc from '@grpc/grpc-js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { scenarioFromObject } from '../../src/simulator/scenario.js'
import { startSimulator } from '../../src/simulator/server.js'
import { connectTestClient, firstHealthAnswer, memoryLogger } from '../fixtures/simulator-client.js'

// A self-signed certificate for 127.0.0.1, made for this test only.
const TLS_DIR = join(import.meta.dirname, '..', 'fixtures', 'simulator-tls')

t.test('the simulator serves TLS when given a certificate', async (t) => {
  const cert = readFileSync(join(TLS_DIR, 'cert.pem'))
  const key = readFileSync(join(TLS_DIR, 'key.pem'))
  const { logger, lines } = memoryLogger()
  const sim = await startSimulator({ scenario: scenarioFromObject({ name: 'tls', pods: [] }), listen: '127.0.0.1:0', logger, tls: { cert, key } })
  const client = connectTestClient(sim.address, grpc.credentials.createSsl(cert))
  t.teardown(async () => {
    client.close()
    await sim.close()
  })
  t.equal((await firstHealthAnswer(client)).status?.code, 0, 'a TLS client trusting the certificate gets an answer')
  t.match(lines[0], { tls: true, simulated: true }, 'the start line says TLS')
})
