import { createRequire } from 'node:module'
import fastifyRateLimit, {
  type FastifyRateLimitStore,
  type FastifyRateLimitStoreCtor,
} from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/config.js'
import { AuthError, errorCatalog } from '../errors.js'
import type { SharedStoreConnection } from '../shared-store/connection.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: this route's requests do not count against the login rate limit. */
    loginRateLimit?: false
  }
}

/** Distinct client addresses remembered at once; the oldest are forgotten first. */
const trackedAddresses = 10_000

// The plugin's own stores: its Redis store (the counting script every replica runs) and its
// in-memory one. They are not exported from the package's entry point, only shipped in it.
const require = createRequire(import.meta.url)
type RateLimitCallback = Parameters<FastifyRateLimitStore['incr']>[1]
interface PluginStore {
  incr(key: string, callback: RateLimitCallback, timeWindow: number, max: number): void
}
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: SharedStoreConnection['client'],
  nameSpace: string,
) => PluginStore
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache: number,
) => PluginStore

/**
 * Counts in the shared store, so the budget holds across every replica; while the store is
 * unreachable (or a count fails), each process counts on its own in memory. The limit then
 * holds per replica (N replicas: up to N times the budget) rather than not at all, and browser
 * logins and the exchange, which need no store, keep working. `skipOnError` alone would drop
 * the limit entirely during an outage.
 */
function sharedWithLocalFallback(connection: SharedStoreConnection): FastifyRateLimitStoreCtor {
  return class SharedRateLimitStore implements FastifyRateLimitStore {
    private readonly shared = new RedisStore(false, false, connection.client, 'rate-limit:')
    private readonly local = new LocalStore(false, false, trackedAddresses)

    incr(key: string, callback: RateLimitCallback, timeWindow: number, max: number): void {
      if (!connection.up) {
        this.local.incr(key, callback, timeWindow, max)
        return
      }
      this.shared.incr(
        key,
        (error, result) =>
          error ? this.local.incr(key, callback, timeWindow, max) : callback(null, result),
        timeWindow,
        max,
      )
    }

    child(): FastifyRateLimitStore {
      // One budget for every login route: route-level limits are not used.
      return this
    }
  }
}

/**
 * The login routes' rate limit: one budget per client address (an IPv6
 * client's /64), shared by every login route under every version prefix, so
 * switching between `/v0` and `/v0.1` or between routes gains nothing. With a
 * shared store the budget is counted across all replicas.
 * Returns the hook to add to those routes, or undefined when the limit is off.
 */
export async function loginRateLimit(
  app: FastifyInstance,
  config: Config,
  sharedStore: SharedStoreConnection | undefined,
): Promise<ReturnType<FastifyInstance['rateLimit']> | undefined> {
  if (config.rateLimitMax === 0) return undefined
  await app.register(fastifyRateLimit, {
    global: false,
    max: config.rateLimitMax,
    timeWindow: config.rateLimitWindowSeconds * 1000,
    cache: trackedAddresses,
    ...(sharedStore ? { store: sharedWithLocalFallback(sharedStore) } : {}),
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
