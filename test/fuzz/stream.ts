/**
 * Fuzzing of the result-stream decoder (src/pixie/decode.ts, ResultAssembler)
 * with random and mutated `ExecuteScript` response streams. Every message
 * goes through the real protobuf encoder and decoder first, so the assembler
 * sees exactly what the client would.
 *
 * Each case must end in one of two ways, within CASE_TIME_LIMIT_MS: a result
 * whose every column holds `numRows` values of its declared type, or an
 * ExporterError with a PXE_ERR_* code (never a TypeError, RangeError or other
 * uncoded exception). A response that is rejected must leave nothing behind.
 *
 * Default: 3,000 cases (500 + 1,500 + 700 + 300), about 5 s of CPU. Longer runs:
 *   FUZZ_ITERATIONS=100000 npx tap test/fuzz/stream.ts   (cases per test)
 *   FUZZ_SEED=<n>                                        (another set of cases)
 *   FUZZ_CASE_SEED=<n>                                   (one case, from a failure message)
 *   FUZZ_SAVE_FAILURES=<dir>                             (write a seed file per failure)
 * Failing inputs are kept in test/fixtures/fuzz-seeds/ and replayed by
 * test/fuzz/seeds.ts.
 */
import t from 'tap'
import { caseSeeds, mulberry32, replayHint, replayingOneCase, type Rng } from '../fixtures/fuzz-random.js'
import { runWire, type StreamOutcome } from '../fixtures/fuzz-oracles.js'
import { saveFailure, type StreamSeed } from '../fixtures/fuzz-seeds.js'
import {
  caseOfType,
  decodeResponse,
  encodeResponse,
  mutateBytes,
  mutateMessages,
  validStream,
  type TableSpec,
  type WireCell,
} from '../fixtures/fuzz-streams.js'

const FILE = 'test/fuzz/stream.ts'

/** One generated case: the serialized responses as they reach the client, and what was done to them. */
interface Case {
  readonly messages: readonly Buffer[]
  readonly detail: string
  /** An extra check of the outcome (for unmutated streams: the exact tables). */
  readonly check?: (outcome: StreamOutcome) => string | undefined
}

/** Tallies outcomes and keeps the first failures with their seeds. */
class Tally {
  readonly outcomes = new Map<string, number>()
  readonly failures: string[] = []
  cases = 0
  unparsed = 0
  parsed = 0

  record(seed: number, c: Case): void {
    const outcome = runWire(c.messages, decodeResponse)
    const problem = outcome.problem ?? c.check?.(outcome)
    this.cases++
    this.unparsed += outcome.unparsed
    this.parsed += c.messages.length - outcome.unparsed
    this.outcomes.set(outcome.outcome, (this.outcomes.get(outcome.outcome) ?? 0) + 1)
    if (problem === undefined) return
    const seedFile: StreamSeed = {
      description: problem,
      found: `${FILE}, ${replayHint(FILE, seed)}`,
      expect: outcome.outcome,
      messages: c.messages.map((m) => m.toString('base64')),
    }
    const saved = saveFailure(`stream-${seed}.json`, `${JSON.stringify(seedFile, null, 2)}\n`)
    if (this.failures.length < 5) {
      this.failures.push(`${replayHint(FILE, seed)}: ${problem} [${c.detail}]${saved === undefined ? '' : ` saved to ${saved}`}`)
    }
  }

  count(outcome: string): number {
    return this.outcomes.get(outcome) ?? 0
  }

  summary(): string {
    const outcomes = [...this.outcomes].sort(([a], [b]) => a.localeCompare(b))
    return `${this.cases} cases: ${outcomes.map(([k, v]) => `${k} ${v}`).join(', ')}; ${this.unparsed} messages did not parse`
  }
}

function fuzz(salt: number, defaultCount: number, generate: (rng: Rng) => Case): Tally {
  const tally = new Tally()
  for (const seed of caseSeeds(defaultCount, salt)) tally.record(seed, generate(mulberry32(seed)))
  return tally
}

function uuidOf(cell: { high: string; low: string }): string {
  const hex = ((BigInt.asUintN(64, BigInt(cell.high)) << 64n) | BigInt.asUintN(64, BigInt(cell.low))).toString(16).padStart(32, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The decoded value of a wire cell, computed independently of decode.ts. */
function expectedValue(type: number, cell: WireCell): unknown {
  switch (caseOfType(type)) {
    case 'boolean_data':
      return cell
    case 'int64_data':
    case 'time64ns_data':
      return BigInt(cell as string)
    case 'uint128_data':
      return uuidOf(cell as { high: string; low: string })
    case 'float64_data':
      return cell
    case 'string_data':
      return (cell as Buffer).toString('utf8')
  }
}

/** Undefined when the result holds exactly the generated tables. */
function differsFromSpec(outcome: StreamOutcome, tables: readonly TableSpec[]): string | undefined {
  if (outcome.result === undefined) return `a valid stream was rejected (${outcome.outcome})`
  if (outcome.result.tables.size !== tables.length) return `want ${tables.length} tables, got ${outcome.result.tables.size}`
  for (const spec of tables) {
    const table = outcome.result.tables.get(spec.name)
    if (table === undefined) return `table ${JSON.stringify(spec.name)} is missing`
    if (table.id !== spec.id || table.numRows !== spec.numRows) return `table ${JSON.stringify(spec.name)}: id or numRows differ`
    for (const [i, column] of spec.columns.entries()) {
      const values = table.data[i]?.values as readonly unknown[] | undefined
      const cells = spec.cells[i] ?? []
      const bad = cells.findIndex((cell, row) => !Object.is(values?.[row], expectedValue(column.type, cell)))
      if (bad >= 0) {
        const want = String(expectedValue(column.type, cells[bad] as WireCell))
        return `table ${JSON.stringify(spec.name)} column ${i} row ${bad}: want ${want}, got ${String(values?.[bad])}`
      }
    }
  }
  return undefined
}

t.test('unmutated random streams decode to exactly the tables that were sent', async (t) => {
  const tally = fuzz(0x01, 500, (rng) => {
    const { responses, tables } = validStream(rng)
    return {
      messages: responses.map(encodeResponse),
      detail: `${tables.length} tables, ${responses.length} messages`,
      check: (outcome) => differsFromSpec(outcome, tables),
    }
  })
  t.same(tally.failures, [], `every valid stream decodes exactly (${tally.summary()})`)
  t.equal(tally.count('ok'), tally.cases, `every valid stream succeeds (${tally.summary()})`)
})

t.test('mutated message streams succeed consistently or fail with a coded error', async (t) => {
  const tally = fuzz(0x02, 1_500, (rng) => {
    const { responses } = validStream(rng)
    const applied = mutateMessages(rng, responses)
    return { messages: responses.map(encodeResponse), detail: applied.join('; ') }
  })
  t.same(tally.failures, [], `no crash, no inconsistent result (${tally.summary()})`)
  t.equal(tally.unparsed, 0, 'every message-level mutation still encodes to valid protobuf')
  if (replayingOneCase()) return
  t.ok(tally.count('ok') > 0, `some mutated streams are still valid (${tally.summary()})`)
  t.ok(tally.count('PXE_ERR_PIXIE_PROTOCOL') > 0, `protocol errors are exercised (${tally.summary()})`)
  t.ok(tally.count('PXE_ERR_PIXIE_QUERY') > 0 && tally.count('PXE_ERR_PIXIE_COMPILE') > 0, 'in-band query and compile errors are exercised')
})

t.test('byte-mutated messages through the real protobuf decoder', async (t) => {
  const tally = fuzz(0x03, 700, (rng) => {
    const encoded = validStream(rng).responses.map(encodeResponse)
    const changes: string[] = []
    const messages = encoded.map((bytes) => {
      if (!rng.chance(0.35)) return bytes
      const mutated = mutateBytes(rng, bytes, encoded)
      changes.push(mutated.name)
      return mutated.bytes
    })
    return { messages, detail: changes.join('; ') }
  })
  t.same(tally.failures, [], `no crash, no inconsistent result (${tally.summary()})`)
  if (replayingOneCase()) return
  t.ok(tally.count('PXE_ERR_PIXIE_PROTOCOL') > 0, `byte changes lead to protocol errors (${tally.summary()})`)
  t.ok(tally.unparsed > 0, 'some mutated messages are rejected by the protobuf decoder itself')
})

t.test('random byte arrays that happen to parse are handled', async (t) => {
  const tally = fuzz(0x04, 300, (rng) => {
    // Short arrays parse more often, and so do those starting with the tag of a known field.
    const messages = Array.from({ length: rng.int(1, 12) }, () => {
      const body = rng.bytes(rng.int(0, 40))
      return rng.chance(0.6) ? Buffer.concat([Buffer.from([rng.pick([0x0a, 0x12, 0x1a, 0x22, 0x2a])]), body]) : body
    })
    return { messages, detail: `${messages.length} random messages` }
  })
  t.same(tally.failures, [], `no crash, no inconsistent result (${tally.summary()})`)
  if (replayingOneCase()) return
  t.ok(tally.parsed > 0, `some random byte arrays parse (${tally.parsed} of ${tally.parsed + tally.unparsed})`)
})
