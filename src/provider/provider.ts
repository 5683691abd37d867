import type { FastifyBaseLogger } from 'fastify'
import * as oidc from 'openid-client'
import type { Config } from '../config/config.js'
import { refreshDelay, retryDelay } from './backoff.js'
import {
  type BufferedResponse,
  createOutboundClient,
  type OutboundInit,
  type OutboundProxy,
  OutboundRequestError,
  toResponse,
} from './http.js'
import {
  clockToleranceSeconds,
  type IdTokenClaims,
  IdTokenInvalidError,
  verifyIdToken,
} from './id-token.js'
import { createSigningKeys, type SigningKeys } from './signing-keys.js'

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

/** The OAuth client this service is at the provider. */
export interface ProviderClient {
  readonly clientId: string
  /** Absent: a public client (PKCE only). */
  readonly clientSecret: string | undefined
  readonly callbackUrl: string
  /** Space-separated. */
  readonly scopes: string
}

/**
 * Everything one connection to one OpenID provider needs. Nothing in this
 * module is shared between connections, so a connection can be made for
 * each issuer the service trusts.
 */
export interface ProviderSettings {
  /** Its `/.well-known/openid-configuration` is used. */
  readonly issuer: URL
  /** The `aud` values {@link ProviderConnection.verifyIdToken} accepts. */
  readonly audiences: readonly string[]
  readonly client: ProviderClient
  readonly allowHttpIssuer: boolean
  /** Deadline of each request to the provider, connection, headers and body together. */
  readonly timeoutMs: number
  /** How often metadata and keys are fetched again once loaded. */
  readonly refreshMs: number
  /** Minimum time between two JWKS fetches caused by unknown `kid`s. */
  readonly jwksRefetchCooldownMs: number
  readonly proxy: OutboundProxy
}

/** The settings of the provider people log in with, from the service's configuration. */
export function loginProviderSettings(config: Config): ProviderSettings {
  return {
    issuer: config.issuer,
    audiences: config.audiences,
    client: {
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      callbackUrl: config.callbackUrl,
      scopes: config.scopes,
    },
    allowHttpIssuer: config.allowHttpIssuer,
    timeoutMs: config.providerTimeoutMs,
    refreshMs: config.providerRefreshMs,
    jwksRefetchCooldownMs: config.jwksRefetchCooldownMs,
    proxy: config.outboundProxy,
  }
}

export interface ProviderConnection {
  /**
   * Starts loading metadata and keys, retrying with backoff until they are
   * loaded, then refreshing them. Nothing reaches the provider before this
   * call; later calls do nothing.
   */
  start(): void
  /** True once metadata and keys were loaded; stays true while they are kept through later outages. */
  readonly ready: boolean
  /** The provider's authorization endpoint with this login's parameters. */
  authorizationUrl(parameters: { state: string; nonce: string; codeChallenge: string }): string
  /**
   * Validates the authorization response and redeems the code (openid-client,
   * which also checks the ID token's claims but not its signature), then
   * verifies the ID token once, with the provider's keys (the same checks as
   * the exchange's). Throws {@link TokenExchangeError},
   * {@link IdTokenInvalidError} or {@link ProviderUnavailableError}.
   */
  completeLogin(callbackQuery: string, checks: LoginChecks): Promise<IdTokenClaims>
  /** Checks an ID token a caller brings along, against the accepted audiences. */
  verifyIdToken(token: string): Promise<IdTokenClaims>
  /** Stops retrying and refreshing and closes the connections to the provider. */
  close(): Promise<void>
}

interface Connected {
  readonly metadata: oidc.ServerMetadata
  readonly configuration: oidc.Configuration
  /** The authorization URL with every parameter that is the same for all logins, ready for `&state=…`. */
  readonly authorizationUrlPrefix: string
  readonly keys: SigningKeys
}

/** Provider documents are small; a few hundred KiB is already generous. */
const maxResponseBytes = 512 * 1024

function clientAuthentication(
  client: ProviderClient,
  metadata: oidc.ServerMetadata,
): oidc.ClientAuth {
  if (!client.clientSecret) return oidc.None()
  const supported = metadata.token_endpoint_auth_methods_supported
  // RFC 8414: when the list is absent, client_secret_basic is the default.
  if (!supported || supported.includes('client_secret_basic')) {
    return oidc.ClientSecretBasic(client.clientSecret)
  }
  return oidc.ClientSecretPost(client.clientSecret)
}

/**
 * Judges a token endpoint answer before openid-client does, so that a
 * provider fault (502) is told apart from a token that fails its checks
 * (401). Returns the fault, if any.
 */
function tokenAnswerFault(response: BufferedResponse): string | undefined {
  let body: unknown
  try {
    body = JSON.parse(response.body.toString('utf8'))
  } catch {
    return `the token endpoint answered ${response.status} without a JSON body`
  }
  if (response.status !== 200) {
    const error = (body as { error?: unknown } | null)?.error
    return `the token endpoint answered ${response.status}${typeof error === 'string' ? ` (${error.slice(0, 64)})` : ''}`
  }
  const answer = (body ?? {}) as Record<string, unknown>
  if (typeof answer.id_token !== 'string') return 'the token endpoint answer has no id_token'
  // openid-client requires both (RFC 6749 section 5.1); their absence is the provider's fault.
  if (typeof answer.access_token !== 'string' || typeof answer.token_type !== 'string') {
    return 'the token endpoint answer has no access_token or token_type'
  }
  return undefined
}

/**
 * One connection to one OpenID provider: its metadata (openid-client's
 * discovery), its signing keys (jose), the login's authorization URL and
 * code grant (openid-client), and ID-token verification (ours, with jose).
 */
export function connectProvider(
  settings: ProviderSettings,
  log: FastifyBaseLogger,
  observer: ProviderObserver = ignoreObservations,
): ProviderConnection {
  const { issuer, client } = settings
  const outbound = createOutboundClient({
    timeoutMs: settings.timeoutMs,
    maxBytes: maxResponseBytes,
    proxy: settings.proxy,
  })
  const clientMetadata: Partial<oidc.ClientMetadata> = {
    [oidc.clockTolerance]: clockToleranceSeconds,
  }

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

  /**
   * The openid-client configuration logins use with this metadata. It checks
   * the authorization response and the ID token's claims; the signature is
   * left to {@link verifyIdToken} (no `enableNonRepudiationChecks`), so each
   * token is verified once. Token endpoint answers that are provider faults
   * are refused as {@link OutboundRequestError}s, which `completeLogin`
   * finds among the causes of openid-client's error.
   */
  function loginConfiguration(metadata: oidc.ServerMetadata): oidc.Configuration {
    const configuration = new oidc.Configuration(
      metadata,
      client.clientId,
      clientMetadata,
      clientAuthentication(client, metadata),
    )
    if (settings.allowHttpIssuer) oidc.allowInsecureRequests(configuration)
    // No openid-client deadline: the outbound client's covers every request, headers and body.
    configuration.timeout = 0
    configuration[oidc.customFetch] = async (url, init) => {
      const response = await fetchToken(url, init)
      if (url === metadata.token_endpoint) {
        const fault = tokenAnswerFault(response)
        if (fault !== undefined) throw new OutboundRequestError(fault)
      }
      return toResponse(response)
    }
    return configuration
  }

  async function discover(): Promise<oidc.ServerMetadata> {
    try {
      const discovered = await oidc.discovery(issuer, client.clientId, undefined, undefined, {
        execute: settings.allowHttpIssuer ? [oidc.allowInsecureRequests] : [],
        timeout: settings.timeoutMs / 1000,
        [oidc.customFetch]: async (url, init) => toResponse(await fetchDiscovery(url, init)),
      })
      const metadata = discovered.serverMetadata()
      if (!metadata.jwks_uri) throw new Error('the provider metadata has no jwks_uri')
      observer.refresh('discovery', 'ok')
      return metadata
    } catch (error) {
      observer.refresh('discovery', 'error')
      throw error
    }
  }

  async function loadedKeys(jwksUri: string): Promise<SigningKeys> {
    const keys = createSigningKeys(jwksUri, {
      fetch: async (url, init) => toResponse(await fetchJwks(url, init)),
      timeoutMs: settings.timeoutMs,
      refetchCooldownMs: settings.jwksRefetchCooldownMs,
      onLoad: (outcome) => observer.refresh('jwks', outcome),
    })
    await keys.load()
    return keys
  }

  function connection(metadata: oidc.ServerMetadata, keys: SigningKeys): Connected {
    const configuration = loginConfiguration(metadata)
    const authorizationUrlPrefix = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: client.callbackUrl,
      scope: client.scopes,
      code_challenge_method: 'S256',
    }).href
    return { metadata, configuration, authorizationUrlPrefix, keys }
  }

  async function connect(): Promise<Connected> {
    const metadata = await discover()
    return connection(metadata, await loadedKeys(metadata.jwks_uri as string))
  }

  /**
   * Fetches metadata and keys again. Whatever fails keeps what was loaded
   * before: a provider outage must not take down logins that cached
   * metadata and keys can still serve (the token endpoint decides the rest).
   */
  async function refresh(previous: Connected): Promise<void> {
    try {
      const metadata = await discover()
      let keys = previous.keys
      if (metadata.jwks_uri !== previous.metadata.jwks_uri) {
        keys = await loadedKeys(metadata.jwks_uri as string)
      } else {
        await keys.load()
      }
      if (!closed) connected = connection(metadata, keys)
    } catch (error) {
      log.warn(
        { issuer: issuer.href, reason: describeClientError(error) },
        'provider refresh failed: keeping the metadata and keys already loaded',
      )
    }
  }

  function schedule(run: () => void, delay: number): void {
    if (closed) return
    timer = setTimeout(run, delay)
    timer.unref()
  }

  function refreshPeriodically(): void {
    const previous = connected as Connected
    refresh(previous).finally(() => schedule(refreshPeriodically, refreshDelay(settings.refreshMs)))
  }

  function attempt(attemptNumber: number): void {
    connect().then(
      (result) => {
        if (closed) return
        connected = result
        log.info({ issuer: result.metadata.issuer }, 'provider ready')
        schedule(refreshPeriodically, refreshDelay(settings.refreshMs))
      },
      (error: unknown) => {
        if (closed) return
        const delay = retryDelay(attemptNumber)
        log.warn(
          { issuer: issuer.href, reason: describeClientError(error), retryInMs: delay },
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
    const { metadata, configuration, keys } = current()
    let idToken: string | undefined
    try {
      const tokens = await oidc.authorizationCodeGrant(
        configuration,
        new URL(`${client.callbackUrl}?${callbackQuery}`),
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
      audiences: [client.clientId],
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
    authorizationUrl({ state, nonce, codeChallenge }) {
      // Appended to a prefix built once by openid-client, instead of a new URL per login.
      return `${current().authorizationUrlPrefix}&state=${encodeURIComponent(state)}&nonce=${encodeURIComponent(nonce)}&code_challenge=${encodeURIComponent(codeChallenge)}`
    },
    completeLogin,
    async verifyIdToken(token) {
      const { metadata, keys } = current()
      return verifyIdToken(token, keys.getKey, {
        issuer: metadata.issuer,
        audiences: settings.audiences,
      })
    },
    async close() {
      closed = true
      clearTimeout(timer)
      await outbound.close()
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
