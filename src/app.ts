import fastifyCookie from '@fastify/cookie'
import proxyAddr from '@fastify/proxy-addr'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import type { DestinationStream } from 'pino'
import { type Config, type Environment, loadConfig } from './config/config.js'
import { createDeviceStore } from './device/create-store.js'
import { createDeviceGrants, type DeviceGrants } from './device/sealed-grant.js'
import type { DeviceStore } from './device/store.js'
import { pageSecurityHeaders } from './http/respond.js'
import { loggerOptions } from './logger.js'
import { createLoopbackCodes, type LoopbackCodes } from './login/loopback-code.js'
import { createMetrics, type Metrics } from './observability/metrics.js'
import { requestIdFor } from './observability/request-id.js'
import errorHandler from './plugins/error-handler.js'
import forwardedFor from './plugins/forwarded-for.js'
import gracefulClose from './plugins/graceful-close.js'
import metricsServer from './plugins/metrics-server.js'
import observability from './plugins/observability.js'
import { loginRateLimit } from './plugins/rate-limit.js'
import { connectIssuers, type IssuerConnections } from './provider/issuers.js'
import {
  connectProvider,
  loginProviderSettings,
  type ProviderConnection,
} from './provider/provider.js'
import { createRegistryTokenIssuer, type RegistryTokenIssuer } from './registry/issuer.js'
import callback from './routes/auth/callback.js'
import deviceApi from './routes/auth/device/api.js'
import devicePages from './routes/auth/device/pages.js'
import disabled from './routes/auth/disabled.js'
import exchange from './routes/auth/exchange.js'
import otherMethods from './routes/auth/other-methods.js'
import start from './routes/auth/start.js'
import token from './routes/auth/token.js'
import health from './routes/health.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    provider: ProviderConnection
    /** Every issuer whose ID tokens the exchange accepts: the login provider and the policy file's. */
    issuers: IssuerConnections
    tokenIssuer: RegistryTokenIssuer
    loopbackCodes: LoopbackCodes
    /** Whether X-Forwarded-For from this peer address is believed (MCP_REGISTRY_OIDC_TRUST_PROXY). */
    isTrustedProxy(address: string): boolean
    metrics: Metrics
    /** The device logins' state (src/device), this service's only state between requests. */
    deviceStore: DeviceStore
    deviceGrants: DeviceGrants
  }
}

export interface AppOptions {
  /** Where logs go; tests pass a stream to read them back. Defaults to stdout. */
  logStream?: DestinationStream
}

const securityHeaders = Object.entries(pageSecurityHeaders)

/** Every version prefix the login routes answer under. */
export const apiPrefixes = ['/v0', '/v0.1'] as const

/**
 * Builds one instance of the service from an environment. Everything is
 * derived from it here, so tests can run as many instances as they like.
 * Rejects with a ConfigError on bad configuration.
 */
export async function buildApp(
  env: Environment,
  options: AppOptions = {},
): Promise<FastifyInstance> {
  // Before Fastify: it takes the log level and the trusted proxies at construction.
  const config = loadConfig(env)
  const trustProxy = proxyAddr.compile([...config.trustedProxies])
  const app = Fastify({
    logger: loggerOptions(config.logLevel, options.logStream),
    genReqId: requestIdFor,
    // The observability plugin writes one line per request, when it is answered.
    logController: new LogController({ disableRequestLogging: true }),
    // While draining, requests on kept-alive connections are still served (see graceful-close).
    return503OnClosing: false,
    bodyLimit: 16 * 1024,
    ajv: {
      customOptions: {
        // Input is either valid as sent or refused; never silently coerced or trimmed.
        coerceTypes: false,
        removeAdditional: false,
        // The route schemas are this code's constants, and Ajv's strict mode already refuses an
        // unknown keyword or a keyword value of the wrong type as it compiles them. Checking
        // them against the JSON Schema meta-schema as well would compile that meta-schema in
        // every instance: about 30 ms of each start-up (buildApp + ready 144 → 175 ms with it).
        validateSchema: false,
      },
    },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // X-Forwarded-For is believed only from proxies the deployer named.
    trustProxy: config.trustedProxies.length > 0 ? trustProxy : false,
    // A client that trickles its headers or body is answered 408 and cut off. Node checks the
    // deadlines every connectionsCheckingInterval (30 s by default), hence a shorter interval.
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs),
    },
  })
  // Only JSON bodies are accepted anywhere; anything else is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain')
  try {
    for (const warning of config.warnings) app.log.warn(warning)

    app.decorate('config', config)
    app.decorate('tokenIssuer', await createRegistryTokenIssuer(config))
    app.decorate('loopbackCodes', createLoopbackCodes(config.cookieSecrets, config.publicUrl))
    app.decorate('deviceGrants', createDeviceGrants(config.cookieSecrets, config.publicUrl))
    app.decorate('isTrustedProxy', (address: string) => trustProxy(address, 0))
    for (const { rule, namespace } of app.tokenIssuer.rulesReachingBlockedNamespaces) {
      app.log.warn(
        { rule, namespace },
        'the publish permissions of this rule cover a blocked namespace: every token it applies to is refused unless another rule grants "*"',
      )
    }
    const metrics = createMetrics({
      isReady: () => app.provider.ready,
      processMetrics: config.metricsPort !== undefined,
      ruleNames: config.policy.rules.map((rule) => rule.name),
      sharedStore: config.redisUrl !== undefined,
    })
    app.decorate('metrics', metrics)
    app.decorate(
      'provider',
      connectProvider(loginProviderSettings(config), app.log, metrics.provider),
    )
    // The provider is reached once the port is open: /healthz answers from the first moment,
    // and /readyz tells when the metadata and keys are loaded.
    app.decorate('issuers', connectIssuers(app.provider, config, app.log))
    app.addHook('onListen', async () => {
      app.provider.start()
      app.issuers.start()
    })
    // Connects in the background once the app is ready: the service starts (and serves
    // everything but the device routes) while the store is unreachable. Closing the device
    // store closes this connection, which the rate limit shares. ioredis (45 modules) is loaded
    // only when a store is configured, as yaml is only for a policy file: start-up is mostly
    // module loading.
    const sharedStore = config.redisUrl
      ? (await import('./shared-store/connection.js')).connectSharedStore(
          config.redisUrl,
          app.log,
          metrics.sharedStore,
        )
      : undefined
    app.decorate('deviceStore', createDeviceStore(config, app.log, sharedStore))
    if (sharedStore) app.addHook('onReady', async () => sharedStore.start())
    app.addHook('onClose', async () => {
      await Promise.all([app.provider.close(), app.issuers.close(), app.deviceStore.close()])
    })

    await app.register(observability)
    await app.register(forwardedFor)
    await app.register(gracefulClose)
    await app.register(metricsServer)
    await app.register(fastifyCookie, { secret: [...config.cookieSecrets] })
    if (config.trustedProxies.length > 0) {
      app.log.info(
        { trustedProxies: config.trustedProxies },
        'client addresses are read from X-Forwarded-For set by these proxies',
      )
    }
    await app.register(errorHandler)
    await app.register(health)
    const rateLimit = await loginRateLimit(app, config, sharedStore)
    for (const prefix of apiPrefixes) {
      await app.register(
        async (auth) => {
          if (rateLimit) auth.addHook('onRequest', rateLimit)
          // Answers that set their own (a page with a form: its form-action) keep them.
          auth.addHook('onSend', async (_request, reply, payload) => {
            for (const [name, value] of securityHeaders) {
              if (!reply.hasHeader(name)) reply.header(name, value)
            }
            return payload
          })
          if (!config.enabled) return auth.register(disabled)
          await auth.register(start)
          await auth.register(callback)
          await auth.register(exchange)
          await auth.register(token)
          await auth.register(deviceApi)
          await auth.register(devicePages)
          await auth.register(otherMethods)
        },
        { prefix },
      )
    }
    return app
  } catch (error) {
    await app.close()
    throw error
  }
}
