import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config/config.js'
import { AuthError, errorCatalog } from '../../errors.js'
import {
  encodeFlow,
  flowCookieClearOptions,
  flowCookieName,
  flowCookieOptions,
  flowCookiePrefix,
  flowCookiesToClear,
  openFlowCookie,
} from '../../login/flow-cookie.js'
import { createLoginSecretsSource } from '../../login/login-secrets.js'
import { checkRedirectTarget, type RedirectTarget } from '../../login/redirect-target.js'
import { type StartQuery, startSchema } from './schemas.js'

/** RFC 6749 appendix A.5: a state is VSCHARs; 512 keeps the flow cookie under 4 KiB. */
const CALLER_STATE = /^[\x20-\x7e]{0,512}$/

function refuseRedirect(reason: string): AuthError {
  return new AuthError(
    'redirect_uri_not_allowed',
    `${errorCatalog.redirect_uri_not_allowed.description} (${reason})`,
    reason,
  )
}

function redirectTarget(
  redirectUri: string | string[] | undefined,
  config: Config,
): RedirectTarget | undefined {
  if (redirectUri === undefined) return undefined
  if (Array.isArray(redirectUri)) throw refuseRedirect('The redirect_uri must be given once.')
  const check = checkRedirectTarget(redirectUri, config.redirectAllowlist)
  if (!check.ok) throw refuseRedirect(check.reason)
  return check.target
}

function callerState(state: string | string[] | undefined): string | undefined {
  if (Array.isArray(state)) {
    throw new AuthError('invalid_request', 'The state parameter must be given once.', 'state twice')
  }
  if (state !== undefined && !CALLER_STATE.test(state)) {
    throw new AuthError(
      'invalid_request',
      'The state parameter must be at most 512 printable ASCII characters.',
      'state too long or not printable ASCII',
    )
  }
  return state
}

/** Makes room for the new login's cookie: see {@link flowCookiesToClear}. */
function clearOldFlows(request: FastifyRequest, reply: FastifyReply, config: Config): void {
  const prefix = flowCookiePrefix(config.secureCookies)
  const presented = Object.entries(request.cookies)
    .filter(([name]) => name.startsWith(prefix))
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

/** `GET …/auth/oidc/start`: sends the browser to the provider with a fresh state, nonce and PKCE challenge. */
const start: FastifyPluginAsync = async (app) => {
  const { config, provider } = app
  const newLoginSecrets = createLoginSecretsSource()
  // The same for every login; @fastify/cookie copies what it is given.
  const cookieOptions = flowCookieOptions(config.secureCookies)

  const options = { schema: startSchema, config: { authStep: 'start' } } as const
  app.get<{ Querystring: StartQuery }>('/auth/oidc/start', options, async (request, reply) => {
    const target = redirectTarget(request.query.redirect_uri, config)
    const flowCallerState = callerState(request.query.state)
    if (!provider.ready)
      throw new AuthError('provider_unavailable', undefined, 'provider not ready')

    const secrets = newLoginSecrets()
    const { state, nonce, codeVerifier } = secrets
    const authorizationUrl = provider.authorizationUrl(secrets)
    const flow = {
      state,
      nonce,
      codeVerifier,
      target,
      callerState: flowCallerState,
      createdAt: Math.floor(Date.now() / 1000),
    }
    clearOldFlows(request, reply, config)
    reply.setCookie(flowCookieName(state, config.secureCookies), encodeFlow(flow), cookieOptions)
    return reply.redirect(authorizationUrl, 302)
  })
}

export default start
