// Benchmark: checking configuration files with many keys (issue 13, defect
// 10: the YAML parser's duplicate-key check made it quadratic, 40k keys took
// 11 s). Prints ms per size and the growth from one size to the next (about
// 5 for 5x the keys when linear, 25 when quadratic). Asserts nothing.
//   npm run build && node bench/config-keys.mjs
import { loadConfig } from '../dist/config/load.js'

const SIZES = [8_000, 40_000, 200_000]
const shapes = {
  'top-level keys': (n) => Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n'),
  'keys of collectors.http': (n) => ['collectors:', '  http:', ...Array.from({ length: n }, (_, i) => `    k${i}: ${i}`)].join('\n'),
  'staticLabels of a custom collector': (n) =>
    [
      'collectors:',
      '  custom:',
      '    - {name: x, pxl: y, table: t, metrics: [{column: c, name: m, help: h, type: gauge}]}',
      '      staticLabels:',
      ...Array.from({ length: n }, (_, i) => `        l${i}: v`),
    ].join('\n'),
}

// Warm up the schema compiler and the JIT.
for (let i = 0; i < 3; i++) check(shapes['top-level keys'](1000))

function check(text) {
  const started = performance.now()
  try {
    loadConfig({ argv: ['--config', 'bench.yaml'], env: {}, readFile: () => text })
  } catch {
    // Unknown keys are rejected: that is the work being measured.
  }
  return performance.now() - started
}

for (const [name, make] of Object.entries(shapes)) {
  let previous
  for (const n of SIZES) {
    const ms = check(make(n))
    const growth = previous === undefined ? '' : `  x${(ms / previous).toFixed(1)} for x${n / SIZES[SIZES.indexOf(n) - 1]} keys`
    console.log(`${name.padEnd(36)} ${String(n).padStart(7)} keys  ${ms.toFixed(0).padStart(6)} ms${growth}`)
    previous = ms
  }
}
