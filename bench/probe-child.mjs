// Stall probe, in its own process (forked by the benchmarks with an IPC
// channel): asks the exporter's /-/healthy over and over (one request in
// flight, 2 ms apart) and records how long each answer took. A poll that
// blocks the exporter's event loop shows up as one slow answer. On the
// message 'take' it sends back the longest answer (ms) and the number of
// probes since the previous 'take', then starts over.
import http from 'node:http'

const url = process.argv[2]
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
let max = 0
let count = 0
let stopped = false

function probe() {
  const t0 = performance.now()
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume()
      res.on('end', () => resolve(performance.now() - t0))
    })
    req.on('error', () => resolve(performance.now() - t0))
  })
}

process.on('message', (m) => {
  if (m === 'take') {
    process.send({ maxMs: max, probes: count })
    max = 0
    count = 0
  } else if (m === 'stop') {
    stopped = true
    process.disconnect()
  }
})

while (!stopped) {
  const ms = await probe()
  if (ms > max) max = ms
  count++
  await new Promise((r) => setTimeout(r, 2))
}
