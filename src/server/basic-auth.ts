/**
 * Basic authentication against bcrypt hashes, built so that checking
 * passwords can neither stall the server nor tell an attacker which users
 * exist:
 *
 * - bcrypt runs in a worker thread ({@link workerPasswordVerifier}), one
 *   comparison at a time, never on the thread that serves scrapes;
 * - each outcome (right or wrong) is remembered for a short time per
 *   (user, password, hash), as the Prometheus exporter toolkit does, and
 *   identical requests in flight share one comparison, so an authorised
 *   scraper is answered from the cache whatever else is queued;
 * - an unknown user is compared against a dummy hash of the same cost as the
 *   configured users' (the highest), so it takes as long as a known one;
 * - when too many comparisons are queued the request is shed with 503 and
 *   `Retry-After` instead of queueing without bound.
 */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { onRequestHookHandler } from 'fastify'

/** Compares a password with a bcrypt hash. */
export interface PasswordVerifier {
  /**
   * Resolves true when `password` matches `hash`. With `hash` undefined,
   * compares against a dummy hash of cost `cost` and resolves false.
   */
  compare(password: string, hash: string | undefined, cost: number): Promise<boolean>
  /** Stops the verifier; pending comparisons resolve false. */
  close(): Promise<void>
}

/** The cost of a bcrypt hash (`$2b$12$…` → 12); 10 when unreadable. */
export function bcryptCost(hash: string): number {
  const m = /^\$2[aby]\$(\d\d)\$/.exec(hash)
  return m?.[1] === undefined ? 10 : Number(m[1])
}

// The worker is a small CommonJS script (no build step, no TypeScript loader
// needed): it loads bcryptjs by absolute path and answers one message at a time.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const bcrypt = require(workerData.bcrypt)
const dummies = new Map()
parentPort.on('message', (m) => {
  let ok = false
  try {
    if (m.hash === undefined) {
      let dummy = dummies.get(m.cost)
      if (dummy === undefined) dummies.set(m.cost, (dummy = bcrypt.hashSync('pixie-exporter: no such user', m.cost)))
      bcrypt.compareSync(m.password, dummy)
    } else ok = bcrypt.compareSync(m.password, m.hash)
  } catch {
    ok = false
  }
  parentPort.postMessage({ id: m.id, ok })
})
`

/**
 * A {@link PasswordVerifier} running bcryptjs in one worker thread, started on
 * first use and unref'd (it never keeps the process alive).
 */
export function workerPasswordVerifier(): PasswordVerifier {
  let worker: Worker | undefined
  let nextId = 0
  const pending = new Map<number, (ok: boolean) => void>()
  const failAll = (): void => {
    for (const resolve of pending.values()) resolve(false)
    pending.clear()
  }
  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bcrypt: createRequire(import.meta.url).resolve('bcryptjs') },
      // No loader flags of the parent (e.g. a TypeScript loader under test).
      execArgv: [],
    })
    w.unref()
    w.on('message', (m: { id: number; ok: boolean }) => {
      const resolve = pending.get(m.id)
      pending.delete(m.id)
      resolve?.(m.ok)
    })
    // A crashed worker fails its pending comparisons (401); the next one starts a new worker.
    w.on('error', () => {
      if (worker === w) worker = undefined
      failAll()
    })
    w.on('exit', () => {
      if (worker === w) worker = undefined
      failAll()
    })
    return w
  }
  return {
    compare(password, hash, cost) {
      worker ??= start()
      const id = nextId++
      const w = worker
      return new Promise<boolean>((resolve) => {
        pending.set(id, resolve)
        w.postMessage({ id, password, hash, cost })
      })
    },
    async close() {
      const w = worker
      worker = undefined
      failAll()
      if (w !== undefined) await w.terminate()
    },
  }
}

/** Options of {@link basicAuthHook}. */
export interface BasicAuthOptions {
  /** User names and their bcrypt hashes. */
  readonly users: ReadonlyMap<string, string>
  /** Where bcrypt runs; default {@link workerPasswordVerifier}. */
  readonly verifier?: PasswordVerifier
  /** How long an outcome is remembered, ms. Default 60 s. */
  readonly cacheTtlMs?: number
  /** Most outcomes remembered (the oldest go first). Default 100. */
  readonly cacheSize?: number
  /** Most comparisons queued or running before requests are shed with 503. Default 16. */
  readonly maxPending?: number
  /** Paths served without credentials (e.g. the health probes); default none. */
  readonly exemptPaths?: readonly string[]
  /** Monotonic milliseconds; default performance.now. */
  readonly now?: () => number
}

/** The fastify hook and the verifier it owns (closed with the app). */
export interface BasicAuth {
  readonly hook: onRequestHookHandler
  close(): Promise<void>
}

/** Builds the basic-auth onRequest hook; see the module comment. */
export function basicAuthHook(options: BasicAuthOptions): BasicAuth {
  const { users } = options
  const verifier = options.verifier ?? workerPasswordVerifier()
  const ttl = options.cacheTtlMs ?? 60_000
  const size = options.cacheSize ?? 100
  const maxPending = options.maxPending ?? 16
  const exempt = new Set(options.exemptPaths ?? [])
  const now = options.now ?? (() => performance.now())
  // An unknown user costs as much as the most expensive known one.
  const dummyCost = Math.max(4, ...[...users.values()].map(bcryptCost))
  const outcomes = new Map<string, { ok: boolean; until: number }>()
  const inFlight = new Map<string, Promise<boolean>>()

  const check = (user: string, password: string): Promise<boolean> | boolean | undefined => {
    const hash = users.get(user)
    const key = createHash('sha256')
      .update(`${user}\u0000${password}\u0000${hash ?? ''}`)
      .digest('hex')
    const known = outcomes.get(key)
    if (known !== undefined && known.until > now()) return known.ok
    if (known !== undefined) outcomes.delete(key)
    const running = inFlight.get(key)
    if (running !== undefined) return running
    if (inFlight.size >= maxPending) return undefined
    const compared = verifier
      .compare(password, hash, dummyCost)
      .then((matched) => matched && hash !== undefined)
      .catch(() => false)
      .then((ok) => {
        inFlight.delete(key)
        outcomes.delete(key)
        outcomes.set(key, { ok, until: now() + ttl })
        if (outcomes.size > size) {
          const oldest = outcomes.keys().next().value
          if (oldest !== undefined) outcomes.delete(oldest)
        }
        return ok
      })
    inFlight.set(key, compared)
    return compared
  }

  const hook: onRequestHookHandler = async (req, reply) => {
    if (exempt.size > 0 && (req.method === 'GET' || req.method === 'HEAD') && exempt.has(req.url.split('?')[0] ?? '')) return
    const header = req.headers.authorization ?? ''
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header)
    const decoded = match?.[1] === undefined ? '' : Buffer.from(match[1], 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    // Without credentials there is nothing to compare: answer at once.
    const outcome = colon < 0 ? false : check(decoded.slice(0, colon), decoded.slice(colon + 1))
    if (outcome === undefined) {
      await reply
        .code(503)
        .header('retry-after', '1')
        .type('text/plain; charset=utf-8')
        .send('pixie-exporter is checking too many passwords; try again later\n')
      return
    }
    if (await outcome) return
    await reply
      .code(401)
      .header('www-authenticate', 'Basic realm="pixie-exporter", charset="UTF-8"')
      .type('text/plain; charset=utf-8')
      .send('Unauthorized\n')
  }
  return { hook, close: () => verifier.close() }
}
