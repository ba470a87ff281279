#!/usr/bin/env node
// Runs npm scripts at the same time and fails if any of them fails. Each
// script's output is printed in one piece when it ends, so logs stay readable.
// `npm test` uses it for the type check, the lint and the build, which are
// independent and single-threaded (two cores finish them in about half the time).
//
//   node scripts/parallel.mjs typecheck lint build
import { spawn } from 'node:child_process'

const names = process.argv.slice(2)
if (names.length === 0) {
  console.error('usage: node scripts/parallel.mjs SCRIPT...')
  process.exit(2)
}

const npm = process.env.npm_execpath
const results = await Promise.all(
  names.map(
    (name) =>
      new Promise((resolve) => {
        // Under npm, npm_execpath is npm's own CLI script: run it with this Node.
        const [cmd, args] = npm ? [process.execPath, [npm, 'run', name]] : ['npm', ['run', name]]
        const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
        let out = ''
        child.stdout.on('data', (d) => (out += d))
        child.stderr.on('data', (d) => (out += d))
        child.on('error', (err) => resolve({ name, code: 1, out: `${out}${err.message}\n` }))
        child.on('close', (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0), out }))
      }),
  ),
)
for (const r of results) process.stdout.write(r.out)
const failed = results.filter((r) => r.code !== 0).map((r) => r.name)
if (failed.length > 0) {
  console.error(`failed: ${failed.join(', ')}`)
  process.exit(1)
}
