import type { FastifyBaseLogger } from 'fastify'
import { decodeProtectedHeader } from 'jose'
import * as oidc from 'openid-client'
import type { Config } from '../config/config.js'
import { refreshDelay, retryDelay } from './backoff.js'
import {
  type BufferedResponse,
  createOutboundClient,
  type OutboundInit,
  type OutboundLimits,
  OutboundRequestError,
  toResponse,
} from './http.js'
import { type IdTokenClaims, IdTokenInvalidError, verifyIdToken } from './id-token.js'
import { createKeyStore, type KeyStore } from './key-store.js'

/** The provider's metadata or keys are not loaded (yet): answer 503. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError'
}

/** The provider failed us at the token endpoint: answer 502. `message` says how. */
export class TokenExchangeError extends Error {
  override name = 'TokenExchangeError'
}

export interface LoginChecks {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
}

export type ProviderEndpoint = 'discovery' | 'jwks' | 'token'

/** What the connection tells the outside (metrics) about its traffic with the provider. */
export interface ProviderObserver {
  /** One request: `ok` (2xx), `http_error` (another status) or `failed` (no answer: refused, timeout, too large). */
  request(
    endpoint: ProviderEndpoint,
    outcome: 'ok' | 'http_error' | 'failed',
    seconds: number,
  ): void
  /** One load of the metadata or the keys, whatever triggered it (start-up, refresh, unknown kid). */
  refresh(kind: 'discovery' | 'jwks', outcome: 'ok' | 'error'): void
}

const ignoreObservations: ProviderObserver = { request() {}, refresh() {} }

export interface ProviderConnection {
  /**
   * Starts loading metadata and keys, retrying with backoff until they are
   * loaded, then refreshing them. Nothing reaches the provider before this
   * call; later calls do nothing.
   */
  start(): void
  /** True once metadata and keys were loaded; stays true while they are kept through later outages. */
  readonly ready: boolean
  /** Resolves once metadata and keys are loaded (after {@link start}). */
  whenReady(): Promise<void>
  /** The provider's authorization endpoint with this login's parameters. */
  authorizationUrl(parameters: { state: string; nonce: string; codeChallenge: string }): string
  /**
   * Validates the authorization response, redeems the code (openid-client,
   * which also checks the ID token's claims) and verifies the ID token with
   * the provider's keys (our own checks, the same as the exchange's).
   * Throws {@link TokenExchangeError}, {@link IdTokenInvalidError} or
   * {@link ProviderUnavailableError}.
   */
  completeLogin(callbackQuery: string, checks: LoginChecks): Promise<IdTokenClaims>
  /** Checks an ID token a caller brings along, against the accepted audiences. */
  verifyIdToken(token: string): Promise<IdTokenClaims>
  close(): void
}

interface Connected {
  readonly metadata: oidc.ServerMetadata
  /** The configuration for the next login, shared by all while the key set stays: see {@link flowConfiguration}. */
  loginConfiguration(): oidc.Configuration
  /** The authorization URL with every parameter that is the same for all logins, ready for `&state=…`. */
  readonly authorizationUrlPrefix: string
  readonly keys: KeyStore
}

/** Provider documents are small; a few hundred KiB is already generous. */
const maxResponseBytes = 512 * 1024

function clientAuthentication(config: Config, metadata: oidc.ServerMetadata): oidc.ClientAuth {
  if (!config.clientSecret) return oidc.None()
  const supported = metadata.token_endpoint_auth_methods_supported
  // RFC 8414: when the list is absent, client_secret_basic is the default.
  if (!supported || supported.includes('client_secret_basic')) {
    return oidc.ClientSecretBasic(config.clientSecret)
  }
  return oidc.ClientSecretPost(config.clientSecret)
}

type TokenAnswer =
  | { fault: string; kid?: undefined }
  | { fault?: undefined; kid: string | undefined }

/**
 * Judges a token endpoint answer before openid-client does, so that a
 * provider fault (502) is told apart from a token that fails its checks
 * (401), and names the `kid` its ID token was signed with.
 */
function judgeTokenAnswer(response: BufferedResponse): TokenAnswer {
  let body: unknown
  try {
    body = JSON.parse(response.body.toString('utf8'))
  } catch {
    return { fault: `the token endpoint answered ${response.status} without a JSON body` }
  }
  if (response.status !== 200) {
    const error = (body as { error?: unknown } | null)?.error
    return {
      fault: `the token endpoint answered ${response.status}${typeof error === 'string' ? ` (${error.slice(0, 64)})` : ''}`,
    }
  }
  const answer = (body ?? {}) as Record<string, unknown>
  if (typeof answer.id_token !== 'string')
    return { fault: 'the token endpoint answer has no id_token' }
  // openid-client requires both (RFC 6749 section 5.1); their absence is the provider's fault.
  if (typeof answer.access_token !== 'string' || typeof answer.token_type !== 'string') {
    return { fault: 'the token endpoint answer has no access_token or token_type' }
  }
  try {
    const { kid } = decodeProtectedHeader(answer.id_token)
    return { kid: typeof kid === 'string' ? kid : undefined }
  } catch {
    // Not a JWT at all: openid-client refuses it as an invalid ID token.
    return { kid: undefined }
  }
}

export function connectProvider(
  config: Config,
  log: FastifyBaseLogger,
  observer: ProviderObserver = ignoreObservations,
): ProviderConnection {
  const limits: OutboundLimits = { timeoutMs: config.providerTimeoutMs, maxBytes: maxResponseBytes }
  const clientMetadata: Partial<oidc.ClientMetadata> = {
    [oidc.clockTolerance]: 30,
  }
  const timeoutSeconds = config.providerTimeoutMs / 1000

  const outbound = createOutboundClient(limits)

  /** Every request to the provider goes through here: bounded, timed and counted. */
  function observedFetch(endpoint: ProviderEndpoint) {
    return async (url: string, init?: OutboundInit): Promise<BufferedResponse> => {
      const started = performance.now()
      const elapsed = () => (performance.now() - started) / 1000
      try {
        const response = await outbound.fetchBuffered(url, init)
        const ok = response.status >= 200 && response.status < 300
        observer.request(endpoint, ok ? 'ok' : 'http_error', elapsed())
        return response
      } catch (error) {
        observer.request(endpoint, 'failed', elapsed())
        throw error
      }
    }
  }
  const fetchDiscovery = observedFetch('discovery')
  const fetchJwks = observedFetch('jwks')
  const fetchToken = observedFetch('token')

  let connected: Connected | undefined
  let started = false
  let closed = false
  let timer: NodeJS.Timeout | undefined
  let settleReadiness: { resolve(): void; reject(error: Error): void } | undefined
  const readiness = new Promise<void>((resolve, reject) => {
    settleReadiness = { resolve, reject }
  })
  // Nobody may be waiting for readiness; that must not become an unhandled rejection.
  readiness.catch(() => {})

  /**
   * The openid-client configuration logins use while the key store holds one
   * key set. openid-client checks the authorization response, the ID
   * token's claims and, with `enableNonRepudiationChecks`, its signature;
   * {@link verifyIdToken} then applies this service's own rules on top.
   * openid-client's key lookups are answered from the key store, never from
   * the network, and a token answer naming a `kid` the store does not know
   * makes the store fetch the set again (within its cooldown) before
   * openid-client looks for the key. openid-client keeps its keys per
   * configuration and refetches a missing one only from a copy at least 60 s
   * old, so each configuration starts from a copy dated 60 s back, and a new
   * key set gets a new configuration. Token endpoint answers that are
   * provider faults are refused as {@link OutboundRequestError}s, which
   * `completeLogin` finds among the causes of openid-client's error.
   */
  function flowConfiguration(metadata: oidc.ServerMetadata, keys: KeyStore): oidc.Configuration {
    const configuration = new oidc.Configuration(
      metadata,
      config.clientId,
      clientMetadata,
      clientAuthentication(config, metadata),
    )
    if (config.allowHttpIssuer) oidc.allowInsecureRequests(configuration)
    // No openid-client deadline: the outbound client's covers every request, headers and body.
    configuration.timeout = 0
    const jwksUri = metadata.jwks_uri ? new URL(metadata.jwks_uri).href : undefined
    configuration[oidc.customFetch] = async (url, init) => {
      if (url === jwksUri) return Response.json(keys.keySet())
      const response = await fetchToken(url, init)
      if (url === metadata.token_endpoint) {
        const answer = judgeTokenAnswer(response)
        if (answer.fault !== undefined) throw new OutboundRequestError(answer.fault)
        await keys.ensureKid(answer.kid)
      }
      return toResponse(response)
    }
    oidc.enableNonRepudiationChecks(configuration)
    oidc.setJwksCache(configuration, {
      jwks: keys.keySet(),
      uat: Math.floor(Date.now() / 1000) - 60,
    })
    return configuration
  }

  async function discover(): Promise<{ metadata: oidc.ServerMetadata; jwksUri: string }> {
    try {
      const discovered = await oidc.discovery(
        config.issuer,
        config.clientId,
        undefined,
        undefined,
        {
          execute: config.allowHttpIssuer ? [oidc.allowInsecureRequests] : [],
          timeout: timeoutSeconds,
          [oidc.customFetch]: async (url, init) => toResponse(await fetchDiscovery(url, init)),
        },
      )
      const metadata = discovered.serverMetadata()
      const jwksUri = metadata.jwks_uri
      if (!jwksUri) throw new Error('the provider metadata has no jwks_uri')
      observer.refresh('discovery', 'ok')
      return { metadata, jwksUri }
    } catch (error) {
      observer.refresh('discovery', 'error')
      throw error
    }
  }

  function newKeyStore(jwksUri: string): KeyStore {
    return createKeyStore({
      refetchCooldownMs: config.jwksRefetchCooldownMs,
      onLoad: (outcome) => observer.refresh('jwks', outcome),
      fetchKeySet: async () => {
        const response = await fetchJwks(jwksUri, { headers: { accept: 'application/json' } })
        if (response.status !== 200)
          throw new Error(`the JWKS endpoint answered ${response.status}`)
        return JSON.parse(response.body.toString('utf8'))
      },
    })
  }

  async function connect(): Promise<Connected> {
    const { metadata, jwksUri } = await discover()
    const keys = newKeyStore(jwksUri)
    await keys.load()
    return connection(metadata, keys)
  }

  function connection(metadata: oidc.ServerMetadata, keys: KeyStore): Connected {
    let keySet = keys.keySet()
    let configuration = flowConfiguration(metadata, keys)
    const loginConfiguration = () => {
      if (keys.keySet() !== keySet) {
        keySet = keys.keySet()
        configuration = flowConfiguration(metadata, keys)
      }
      return configuration
    }
    const authorizationUrlPrefix = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: config.callbackUrl,
      scope: config.scopes,
      code_challenge_method: 'S256',
    }).href
    return { metadata, loginConfiguration, authorizationUrlPrefix, keys }
  }

  /**
   * Fetches metadata and keys again. Whatever fails keeps what was loaded
   * before: a provider outage must not take down logins that cached
   * metadata and keys can still serve (the token endpoint decides the rest).
   */
  async function refresh(): Promise<void> {
    const previous = connected
    if (!previous) return
    let metadata = previous.metadata
    let keys = previous.keys
    try {
      const next = await discover()
      if (next.jwksUri !== metadata.jwks_uri) {
        const nextKeys = newKeyStore(next.jwksUri)
        await nextKeys.load()
        keys = nextKeys
      } else {
        await keys.load()
      }
      metadata = next.metadata
    } catch (error) {
      log.warn(
        { issuer: config.issuer.href, reason: describeClientError(error) },
        'provider refresh failed: keeping the metadata and keys already loaded',
      )
    }
    if (closed) return
    if (metadata !== previous.metadata) {
      connected = connection(metadata, keys)
    }
  }

  function schedule(run: () => void, delay: number): void {
    if (closed) return
    timer = setTimeout(run, delay)
    timer.unref()
  }

  function refreshPeriodically(): void {
    refresh().finally(() => schedule(refreshPeriodically, refreshDelay(config.providerRefreshMs)))
  }

  function attempt(attemptNumber: number): void {
    connect().then(
      (result) => {
        if (closed) return
        connected = result
        log.info({ issuer: result.metadata.issuer }, 'provider ready')
        settleReadiness?.resolve()
        schedule(refreshPeriodically, refreshDelay(config.providerRefreshMs))
      },
      (error: unknown) => {
        if (closed) return
        const delay = retryDelay(attemptNumber)
        log.warn(
          { issuer: config.issuer.href, reason: describeClientError(error), retryInMs: delay },
          'provider not reachable',
        )
        schedule(() => attempt(attemptNumber + 1), delay)
      },
    )
  }

  function current(): Connected {
    if (!connected)
      throw new ProviderUnavailableError('the OpenID provider has not been reached yet')
    return connected
  }

  async function completeLogin(callbackQuery: string, checks: LoginChecks): Promise<IdTokenClaims> {
    const { metadata, loginConfiguration, keys } = current()
    let idToken: string | undefined
    try {
      const tokens = await oidc.authorizationCodeGrant(
        loginConfiguration(),
        new URL(`${config.callbackUrl}?${callbackQuery}`),
        {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        },
      )
      idToken = tokens.id_token
    } catch (error) {
      const fault = outboundFault(error)
      if (fault) throw new TokenExchangeError(fault.message, { cause: error })
      throw new IdTokenInvalidError(describeClientError(error), { cause: error })
    }
    if (!idToken) throw new TokenExchangeError('the token endpoint answer has no id_token')
    return verifyIdToken(idToken, keys.getKey, {
      issuer: metadata.issuer,
      audiences: [config.clientId],
      nonce: checks.nonce,
    })
  }

  return {
    start() {
      if (started || closed) return
      started = true
      attempt(0)
    },
    get ready() {
      return connected !== undefined
    },
    whenReady: () => readiness,
    authorizationUrl({ state, nonce, codeChallenge }) {
      // Appended to a prefix built once by openid-client, instead of a new URL per login.
      return `${current().authorizationUrlPrefix}&state=${encodeURIComponent(state)}&nonce=${encodeURIComponent(nonce)}&code_challenge=${encodeURIComponent(codeChallenge)}`
    },
    completeLogin,
    async verifyIdToken(token) {
      const { metadata, keys } = current()
      return verifyIdToken(token, keys.getKey, {
        issuer: metadata.issuer,
        audiences: config.audiences,
      })
    },
    close() {
      closed = true
      clearTimeout(timer)
      outbound.close()
      settleReadiness?.reject(new ProviderUnavailableError('closed'))
    },
  }
}

/** The request to the provider that failed, if that is why openid-client gave up. */
function outboundFault(error: unknown): OutboundRequestError | undefined {
  let cause = error
  // openid-client wraps once; the bound only guards against a cycle of causes.
  for (let depth = 0; depth < 5 && cause instanceof Error; depth++, cause = cause.cause) {
    if (cause instanceof OutboundRequestError) return cause
  }
  return undefined
}

function describeClientError(error: unknown): string {
  if (error instanceof oidc.AuthorizationResponseError) {
    return `the provider returned an error: ${error.error}`
  }
  const message = (error as Error)?.message ?? 'unknown failure'
  const cause = (error as { cause?: { message?: unknown } })?.cause
  const detail =
    cause && typeof cause.message === 'string' && !message.includes(cause.message)
      ? `: ${cause.message}`
      : ''
  return `${message}${detail}`.slice(0, 300)
}
