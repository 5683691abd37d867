import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config/config.js'
import { AuthError } from '../../errors.js'
import {
  encodeFlow,
  type Flow,
  flowCookieClearOptions,
  flowCookieName,
  flowCookieOptions,
  flowCookiesToClear,
  isFlowCookieName,
  maxFlowCookieBytes,
  openFlowCookie,
} from '../../login/flow-cookie.js'
import { createLoginSecretsSource } from '../../login/login-secrets.js'

/** What the caller of a login wants back at the callback; the rest of the flow is made here. */
export type LoginRequest = Pick<Flow, 'target' | 'callerState' | 'callerCodeChallenge' | 'device'>

/**
 * Starts a browser login: fresh state, nonce and PKCE verifier in a new signed flow cookie.
 * Resolves the provider's authorization URL to send the browser to.
 */
export type BeginLogin = (
  request: FastifyRequest,
  reply: FastifyReply,
  login: LoginRequest,
) => string

/** Makes room for the new login's cookie: see {@link flowCookiesToClear}. */
function clearOldFlows(request: FastifyRequest, reply: FastifyReply, config: Config): void {
  const presented = Object.entries(request.cookies)
    .filter(([name]) => isFlowCookieName(name, config.secureCookies))
    .map(([name, raw]) => ({
      name,
      flow:
        raw === undefined ? undefined : openFlowCookie(raw, (value) => request.unsignCookie(value)),
    }))
  const nowSeconds = Math.floor(Date.now() / 1000)
  for (const name of flowCookiesToClear(presented, nowSeconds)) {
    reply.clearCookie(name, flowCookieClearOptions(config.secureCookies))
  }
}

/** The one way a login starts, for `/start` and for a confirmed device login. */
export function loginBeginner(app: FastifyInstance): BeginLogin {
  const { config, provider } = app
  const newLoginSecrets = createLoginSecretsSource()
  // The same for every login; @fastify/cookie copies what it is given.
  const cookieOptions = flowCookieOptions(config.secureCookies)

  return (request, reply, login) => {
    if (!provider.ready)
      throw new AuthError('provider_unavailable', undefined, 'provider not ready')
    const secrets = newLoginSecrets()
    const { state, nonce, codeVerifier } = secrets
    const authorizationUrl = provider.authorizationUrl(secrets)
    const flow: Flow = {
      state,
      nonce,
      codeVerifier,
      ...login,
      createdAt: Math.floor(Date.now() / 1000),
    }
    const name = flowCookieName(state, config.secureCookies)
    const value = app.signCookie(encodeFlow(flow))
    // Measured as sent (percent-encoding and attributes included): browsers drop a larger one.
    const bytes = Buffer.byteLength(app.serializeCookie(name, value, cookieOptions))
    if (bytes > maxFlowCookieBytes) {
      throw new AuthError(
        'invalid_request',
        'The redirect_uri and state are too long together: the login cookie would exceed 4096 bytes. Shorten them.',
        `flow cookie of ${bytes} bytes`,
      )
    }
    clearOldFlows(request, reply, config)
    reply.setCookie(name, value, cookieOptions)
    return authorizationUrl
  }
}
