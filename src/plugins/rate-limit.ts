import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/config.js'
import { AuthError, errorCatalog } from '../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: this route's requests do not count against the login rate limit. */
    loginRateLimit?: false
  }
}

/** Distinct client addresses remembered at once; the oldest are forgotten first. */
const trackedAddresses = 10_000

/**
 * The login routes' rate limit: one budget per client address (an IPv6
 * client's /64), shared by every login route under every version prefix, so
 * switching between `/v0` and `/v0.1` or between routes gains nothing.
 * Returns the hook to add to those routes, or undefined when the limit is off.
 */
export async function loginRateLimit(
  app: FastifyInstance,
  config: Config,
): Promise<ReturnType<FastifyInstance['rateLimit']> | undefined> {
  if (config.rateLimitMax === 0) return undefined
  await app.register(fastifyRateLimit, {
    global: false,
    max: config.rateLimitMax,
    timeWindow: config.rateLimitWindowSeconds * 1000,
    cache: trackedAddresses,
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000))
      return new AuthError(
        'rate_limited',
        `${errorCatalog.rate_limited.description} This address sent more than ${context.max} login requests in ${config.rateLimitWindowSeconds} seconds; try again in ${seconds} seconds.`,
        `more than ${context.max} requests in ${config.rateLimitWindowSeconds} s`,
      )
    },
  })
  // Without options every call shares the plugin's one store: one budget.
  const limit = app.rateLimit()
  return async function loginRateLimitHook(request, reply) {
    if (request.routeOptions.config.loginRateLimit === false) return
    return limit.call(this, request, reply)
  }
}
