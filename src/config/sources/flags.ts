/**
 * The command-line source: `--name VALUE` flags (FLAGS in schema.ts), every
 * problem reported, none echoing a value that could be a secret.
 */
import { parseArgs } from 'node:util'
import { FLAGS } from '../schema.js'
import type { Source } from '../values.js'

export const FLAG_OPTIONS = {
  [FLAGS.config]: { type: 'string' },
  [FLAGS.checkConfig]: { type: 'boolean' },
  [FLAGS.enableLifecycle]: { type: 'boolean' },
  [FLAGS.listenAddress]: { type: 'string' },
  [FLAGS.logLevel]: { type: 'string' },
  [FLAGS.logFormat]: { type: 'string' },
  [FLAGS.address]: { type: 'string' },
  [FLAGS.clusterId]: { type: 'string' },
  [FLAGS.tls]: { type: 'string' },
  [FLAGS.caFile]: { type: 'string' },
  [FLAGS.webConfigFile]: { type: 'string' },
} as const

export type FlagName = (typeof FLAGS)[keyof typeof FLAGS]

export interface Flags {
  get(name: FlagName): Source | undefined
  readonly checkOnly: boolean
  readonly enableLifecycle: boolean
}

export function parseFlags(argv: readonly string[], errors: string[]): Flags {
  // parseArgs' own strict mode stops at the first problem; we want them all,
  // so it runs non-strict and the strict rules are applied to its tokens.
  const { tokens } = parseArgs({
    args: [...argv],
    options: FLAG_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  const values = new Map<string, Source>()
  let checkOnly = false
  let enableLifecycle = false
  // Index of an argument taken to be the value of an unknown flag: it is part
  // of that flag's error and is never echoed (it could be a secret).
  let swallowed = -1
  const shortReported = new Set<number>()
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue
    if (token.kind === 'positional') {
      if (token.index !== swallowed) errors.push(`unexpected argument in position ${token.index + 1} (flags take the form --name VALUE)`)
      continue
    }
    if (!token.rawName.startsWith('--')) {
      // There are no short flags. parseArgs splits `-config.check` (Go
      // style) into one token per letter; report the argument once, without
      // any `=value` part.
      if (!shortReported.has(token.index)) {
        const arg = argv[token.index] ?? token.rawName
        errors.push(`unknown flag ${arg.split('=')[0] ?? arg}`)
        if (!arg.includes('=')) swallowed = token.index + 1
        shortReported.add(token.index)
      }
      continue
    }
    const label = `--${token.name}`
    if (!Object.hasOwn(FLAG_OPTIONS, token.name)) {
      errors.push(`unknown flag ${token.rawName}`)
      if (token.value === undefined) swallowed = token.index + 1
      continue
    }
    if (token.name === FLAGS.checkConfig) {
      if (token.value !== undefined) errors.push(`${label}: takes no value`)
      else checkOnly = true
      continue
    }
    if (token.name === FLAGS.enableLifecycle) {
      if (token.value !== undefined) errors.push(`${label}: takes no value`)
      else enableLifecycle = true
      continue
    }
    // Non-strict parseArgs takes the next argument as the value even when it
    // is another flag; strict mode would call that ambiguous, so do we.
    if (token.value === undefined || token.value === '' || (!token.inlineValue && token.value.startsWith('-'))) {
      errors.push(`${label}: requires a value`)
      continue
    }
    values.set(token.name, { label, value: token.value })
  }
  return { get: (name) => values.get(name), checkOnly, enableLifecycle }
}
