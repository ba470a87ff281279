// Benchmark: an authorised scrape while wrong passwords flood the server
// (issue 13, defect 9; at 3fef3da, 60 concurrent wrong passwords made the
// scrape take 3.5-4.6 s against 2 ms idle, since bcrypt ran on the serving
// thread). Real HTTP on loopback, a cost-12 hash. Prints latencies and the
// answers the flood got; asserts nothing.   npm run build && node bench/auth-flood.mjs
import bcrypt from 'bcryptjs'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { buildApp } from '../dist/app.js'

const FLOOD = Number(process.argv[2] ?? 60)
const COST = Number(process.argv[3] ?? 12)
const auth = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

const app = await buildApp({
  registry: new Registry(),
  jobs: [],
  logger: pino({ level: 'silent' }),
  now: Date.now,
  landing: { version: 'bench', pixieAddress: 'a:1', clusterId: 'c', simulated: false },
  security: { tls: undefined, users: new Map([['prometheus', bcrypt.hashSync('s3cret', COST)]]) },
})
const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/metrics`
const scrape = async (password = 's3cret', user = 'prometheus') => {
  const started = performance.now()
  const res = await fetch(url, { headers: { authorization: auth(user, password) } })
  await res.arrayBuffer()
  return { status: res.status, ms: performance.now() - started }
}

const first = await scrape()
console.log(`first authorised scrape (bcrypt cost ${COST}, in the worker): ${first.status} in ${first.ms.toFixed(1)} ms`)
const idle = []
for (let i = 0; i < 20; i++) idle.push((await scrape()).ms)
console.log(`idle authorised scrape (cached): median ${median(idle).toFixed(1)} ms`)

for (const [name, user] of [['known user, wrong passwords', 'prometheus'], ['unknown users', 'mallory']]) {
  const flood = Array.from({ length: FLOOD }, (_, i) => scrape(`wrong-${name}-${i}`, user))
  const during = []
  for (let i = 0; i < 10; i++) during.push((await scrape()).ms)
  const answers = await Promise.all(flood)
  const codes = {}
  for (const a of answers) codes[a.status] = (codes[a.status] ?? 0) + 1
  const checked = answers.filter((a) => a.status === 401).map((a) => a.ms)
  console.log(
    `${FLOOD} concurrent ${name}: authorised scrape median ${median(during).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms; ` +
      `flood answered ${JSON.stringify(codes)}, 401s took median ${median(checked).toFixed(0)} ms`,
  )
}
await app.close()

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}
