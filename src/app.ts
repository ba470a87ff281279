import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import underPressure from '@fastify/under-pressure'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { Exposition } from './metrics/exposition.js'
import { PROTOBUF_CONTENT_TYPE, prefersProtobuf } from './metrics/protobuf.js'
import { basicAuthHook, httpsOptions, type WebSecurity } from './server/web-config.js'
import type { CollectorJob } from './scheduler/job.js'
import { renderLandingPage, type LandingInfo } from './server/landing-page.js'
import { errorRateFromRegistry, errorRateRoute } from './server/error-rate-route.js'

const gzipAsync = promisify(gzip)

/** Everything the HTTP app needs; it never listens (src/cli.ts does). */
export interface AppDeps {
  readonly registry: Registry
  readonly jobs: readonly CollectorJob[]
  readonly logger: Logger
  readonly landing: LandingInfo
  readonly now: () => number
  /** Reloads the configuration (POST /-/reload); absent: the route answers 404. */
  readonly reload?: () => Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string }>
  /** TLS and basic auth from the web configuration file; default: plain HTTP, no auth. */
  readonly security?: WebSecurity
  /** under-pressure thresholds; defaults suit a single small exporter pod. */
  readonly pressure?: { readonly maxEventLoopDelayMs?: number; readonly maxHeapUsedBytes?: number }
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
    ...(tls !== undefined && { https: httpsOptions(tls) }),
  }) as unknown as FastifyInstance

  const users = deps.security?.users
  if (users !== undefined && users.size > 0) app.addHook('onRequest', basicAuthHook(users))

  await app.register(underPressure, {
    maxEventLoopDelay: deps.pressure?.maxEventLoopDelayMs ?? 1000,
    maxHeapUsedBytes: deps.pressure?.maxHeapUsedBytes ?? 0,
    retryAfter: 10,
    // Answer 503 when overloaded; Prometheus records the failed scrape (up=0)
    // instead of the process falling over.
    message: 'pixie-exporter is under pressure; try again later',
  })

  // deps.registry may be a getter (a reload swaps registries): one Exposition per registry.
  const expositions = new WeakMap<Registry, Exposition>()
  app.get('/metrics', async (req, reply) => {
    const registry = deps.registry
    let exposition = expositions.get(registry)
    if (exposition === undefined) {
      exposition = new Exposition(registry)
      expositions.set(registry, exposition)
    }
    // Prometheus with native histograms enabled prefers the protobuf format.
    if (prefersProtobuf(req.headers.accept)) {
      const body = await exposition.renderProtobuf()
      reply.type(PROTOBUF_CONTENT_TYPE).header('vary', 'accept, accept-encoding')
      if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(await gzipAsync(body))
      return reply.send(body)
    }
    const rendered = await exposition.render()
    reply.type(deps.registry.contentType).header('vary', 'accept-encoding')
    if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      return reply.header('content-encoding', 'gzip').send(await rendered.gzip())
    }
    return reply.send(rendered.chunks.length === 1 ? rendered.chunks[0] : Buffer.concat(rendered.chunks))
  })

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

  await app.register(errorRateRoute, errorRateFromRegistry(deps))

  const reload = deps.reload
  if (reload !== undefined) {
    app.post('/-/reload', async (_req, reply) => {
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
