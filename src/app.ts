import { Readable } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify'
import underPressure from '@fastify/under-pressure'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { BufferReleaser } from './metrics/buffer-release.js'
import { Exposition } from './metrics/exposition.js'
import { PROTOBUF_CONTENT_TYPE, prefersProtobuf } from './metrics/protobuf.js'
import type { Secrets } from './secrets.js'
import { basicAuthHook, type PasswordVerifier } from './server/basic-auth.js'
import { HEALTH_PROBE_PATHS, httpsOptions, type WebSecurity } from './server/web-config.js'
import type { CollectorJob } from './scheduler/job.js'
import { renderLandingPage, type LandingInfo } from './server/landing-page.js'
import { errorRateFromJobs, errorRateRoute } from './server/error-rate-route.js'

/** What a reload did: the answer of `POST /-/reload` (declared here, where it is served; src/exporter.ts produces it). */
export type ReloadOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string }

const gzipAsync = promisify(gzip)

/** Everything the HTTP app needs; it never listens (src/cli.ts does). */
export interface AppDeps {
  readonly registry: Registry
  readonly jobs: readonly CollectorJob[]
  readonly logger: Logger
  readonly landing: LandingInfo
  readonly now: () => number
  /** Reloads the configuration (POST /-/reload); absent: the route answers 404. */
  readonly reload?: () => Promise<ReloadOutcome>
  /**
   * Whether `POST /-/reload` may reload (`--web.enable-lifecycle`, as
   * Prometheus); default false: it answers 403 and says how to enable it.
   */
  readonly lifecycle?: boolean
  /** TLS and basic auth from the web configuration file; default: plain HTTP, no auth. */
  readonly security?: WebSecurity
  /**
   * under-pressure thresholds; defaults suit a single small exporter pod.
   * `sampleIntervalMs` is how often it samples the event loop and the heap
   * (default 1000, at least 10).
   */
  readonly pressure?: { readonly maxEventLoopDelayMs?: number; readonly maxHeapUsedBytes?: number; readonly sampleIntervalMs?: number }
  /** Secrets scrubbed from every page and exposition served (see src/secrets.ts); default none. */
  readonly secrets?: Secrets
  /** Where basic-auth passwords are checked; default a bcrypt worker thread. */
  readonly passwordVerifier?: PasswordVerifier
  /**
   * Called when a protobuf scrape found a metric without a prepared protobuf
   * form (it is answered in text): collectors then prepare it on every run.
   */
  readonly protobufWanted?: () => void
  /** Told when a /metrics response starts and ends, so that replaced exposition buffers are freed only once nothing sends them. */
  readonly bufferReleaser?: BufferReleaser
}

/**
 * Builds the exporter's HTTP app: `/metrics`, `/` (landing page), `/-/healthy`,
 * `/-/ready`, guarded by @fastify/under-pressure. Closing the app stops the
 * collector jobs.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.logger
  // Scrapes arrive every few seconds from each Prometheus: per-request logs
  // would drown everything else.
  const tls = deps.security?.tls
  // With `https`, fastify builds an https.Server; the routes and hooks are the
  // same, so the instance is used through the plain-HTTP type.
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    // A pod name may have 253 characters (an RFC 1123 subdomain); the route
    // checks the names itself, so the router must not refuse them first.
    routerOptions: { maxParamLength: 256 },
    ...(tls !== undefined && { https: httpsOptions(tls) }),
  }) as unknown as FastifyInstance

  // First, so that an overloaded server sheds requests before checking any password.
  await app.register(underPressure, {
    maxEventLoopDelay: deps.pressure?.maxEventLoopDelayMs ?? 1000,
    maxHeapUsedBytes: deps.pressure?.maxHeapUsedBytes ?? 0,
    sampleInterval: deps.pressure?.sampleIntervalMs ?? 1000,
    retryAfter: 10,
    // Answer 503 when overloaded; Prometheus records the failed scrape (up=0)
    // instead of the process falling over.
    message: 'pixie-exporter is under pressure; try again later',
  })

  const users = deps.security?.users
  if (users !== undefined && users.size > 0) {
    const auth = basicAuthHook({
      users,
      ...(deps.passwordVerifier !== undefined && { verifier: deps.passwordVerifier }),
      ...(deps.security?.healthProbesWithoutAuth === true && { exemptPaths: HEALTH_PROBE_PATHS }),
    })
    app.addHook('onRequest', auth.hook)
    app.addHook('onClose', () => auth.close())
  }

  // deps.registry may be a getter (a reload swaps registries): one Exposition per registry.
  const expositions = new WeakMap<Registry, Exposition>()
  app.get('/metrics', async (req, reply) => {
    const release = deps.bufferReleaser?.acquire()
    // 'close' comes once the response is sent, or when the client went away.
    if (release !== undefined) reply.raw.once('close', release)
    const registry = deps.registry
    let exposition = expositions.get(registry)
    if (exposition === undefined) {
      exposition = new Exposition(registry)
      expositions.set(registry, exposition)
    }
    const secrets = deps.secrets
    // Prometheus with native histograms enabled prefers the protobuf format.
    if (prefersProtobuf(req.headers.accept)) {
      // Undefined when the current run has no protobuf form prepared yet
      // (a worker renders it from the run after the first protobuf request):
      // answered in text, which Prometheus also accepts.
      const parts = await exposition.renderProtobufParts()
      if (parts === undefined) deps.protobufWanted?.()
      // A binary body cannot be scrubbed in place (lengths are encoded): one
      // that holds a secret is answered in the text format below instead,
      // which Prometheus also accepts.
      else if (secrets === undefined || secrets.empty || !parts.chunks.some((c) => secrets.foundIn(c))) {
        reply.type(PROTOBUF_CONTENT_TYPE).header('vary', 'accept, accept-encoding')
        if (acceptsGzip(req.headers['accept-encoding'])) return reply.header('content-encoding', 'gzip').send(await parts.gzip())
        return sendChunks(reply, parts.chunks)
      }
    }
    const zipped = acceptsGzip(req.headers['accept-encoding'])
    // A gzip scrape needs no plain text of the families that hold only their
    // gzip form (SnapshotMetric.shed), unless a secret was added since they
    // were searched: then the text is inflated and searched below.
    let rendered = await exposition.render({ text: !zipped })
    const searching = secrets !== undefined && !secrets.empty
    if (searching && rendered.shedUnsearched(secrets.size)) rendered = await exposition.render({ text: true, ask: !zipped })
    reply.type(deps.registry.contentType).header('vary', 'accept-encoding')
    // Label values come from Pixie's answers, which could echo the key. Each
    // chunk holds whole metric families, so a value never spans two chunks.
    if (searching && rendered.chunks.some((c) => secrets.foundIn(c))) {
      // The whole text, shed families included, to scrub.
      if (zipped) rendered = await exposition.render({ text: true, ask: false })
      const body = Buffer.from(secrets.scrub(rendered.text()), 'utf8')
      if (zipped) return reply.header('content-encoding', 'gzip').send(await gzipAsync(body))
      return reply.send(body)
    }
    if (zipped) return reply.header('content-encoding', 'gzip').send(await rendered.gzip())
    return sendChunks(reply, rendered.chunks)
  })

  // Every other answer is text built here (pages, JSON, reasons, errors):
  // scrub it as a whole, whatever route or error handler produced it.
  const secrets = deps.secrets
  if (secrets !== undefined) {
    app.addHook('onSend', async (_req, _reply, payload) => (typeof payload === 'string' ? secrets.scrub(payload) : payload))
  }

  app.get('/', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(
      renderLandingPage(
        deps.landing,
        deps.jobs.map((j) => j.status()),
        deps.now(),
      ),
    ),
  )

  app.get('/-/healthy', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('Healthy\n'))

  app.get('/-/ready', async (_req, reply) => {
    const reasons = deps.jobs.flatMap((j) => {
      const r = j.readiness()
      return r.ready ? [] : [r.reason]
    })
    if (reasons.length === 0) return reply.type('text/plain; charset=utf-8').send('Ready\n')
    return reply.code(503).type('text/plain; charset=utf-8').send(`Not ready:\n${reasons.map((r) => `- ${r}`).join('\n')}\n`)
  })

  await app.register(errorRateRoute, errorRateFromJobs(deps))

  const reload = deps.reload
  if (reload !== undefined) {
    app.post('/-/reload', async (_req, reply) => {
      // Off by default, as in Prometheus: anyone who can reach the port could otherwise make us rebuild in a loop.
      if (deps.lifecycle !== true) {
        return reply
          .code(403)
          .type('text/plain; charset=utf-8')
          .send('Lifecycle APIs are not enabled: start pixie-exporter with --web.enable-lifecycle to allow POST /-/reload (SIGHUP always reloads)\n')
      }
      const outcome = await reload()
      if (outcome.ok) return reply.type('text/plain; charset=utf-8').send('Configuration reloaded\n')
      return reply.code(500).type('text/plain; charset=utf-8').send(`Reload failed; the last good configuration keeps running:\n${outcome.error}\n`)
    })
    // As Prometheus answers: another method on an existing route is 405 with Allow, not 404.
    app.route({
      method: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
      url: '/-/reload',
      handler: async (_req, reply) =>
        reply.code(405).header('allow', 'POST').type('text/plain; charset=utf-8').send('Method Not Allowed: use POST /-/reload\n'),
    })
  }

  app.addHook('onClose', async () => {
    await Promise.all(deps.jobs.map((j) => j.stop()))
  })

  return app
}

/**
 * Sends the cached buffers of an exposition as they are, one after the
 * other: joining them would copy the whole body (tens of MiB with many pods)
 * on the serving thread for every scrape.
 */
function sendChunks(reply: FastifyReply, chunks: readonly Buffer[]): FastifyReply {
  if (chunks.length === 1) return reply.send(chunks[0])
  const length = chunks.reduce((n, c) => n + c.length, 0)
  return reply.header('content-length', length).send(Readable.from(chunks, { objectMode: false }))
}

/**
 * Whether an `Accept-Encoding` header accepts gzip (RFC 9110 §12.5.3): an
 * entry `gzip` (or `x-gzip`, or else `*`) whose q-value is above 0.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false
  let gzip: number | undefined
  let any: number | undefined
  for (const entry of header.split(',')) {
    const [coding = '', ...params] = entry.split(';').map((p) => p.trim())
    let q = 1
    for (const param of params) {
      const m = /^q\s*=\s*([0-9](?:\.[0-9]{0,3})?)$/i.exec(param)
      if (m?.[1] !== undefined) q = Number(m[1])
    }
    const name = coding.toLowerCase()
    if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip ?? 0, q)
    else if (name === '*') any = q
  }
  return (gzip ?? any ?? 0) > 0
}
