import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../../config/config.js'
import { AuthError, errorCatalog } from '../../errors.js'
import { CODE_CHALLENGE } from '../../login/loopback-code.js'
import { checkRedirectTarget, type RedirectTarget } from '../../login/redirect-target.js'
import { loginBeginner } from './begin-login.js'
import { type StartQuery, startSchema } from './schemas.js'

/** RFC 6749 appendix A.5: a state is VSCHARs; at most 512 of them. */
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

function callerState(value: string | string[] | undefined): string | undefined {
  const state = once(value, 'state')
  if (state !== undefined && !CALLER_STATE.test(state)) {
    throw new AuthError(
      'invalid_request',
      'The state parameter must be at most 512 printable ASCII characters.',
      'state too long or not printable ASCII',
    )
  }
  return state
}

function once(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) {
    throw new AuthError(
      'invalid_request',
      `The ${name} parameter must be given once.`,
      `${name} twice`,
    )
  }
  return value
}

/**
 * The caller's PKCE challenge (RFC 7636), required with a loopback target: what
 * arrives there is a code only the holder of the verifier can redeem. Other
 * targets receive the token itself, so a challenge is checked but not kept.
 */
function callerCodeChallenge(
  query: StartQuery,
  target: RedirectTarget | undefined,
): string | undefined {
  const challenge = once(query.code_challenge, 'code_challenge')
  const method = once(query.code_challenge_method, 'code_challenge_method')
  const loopback = target?.kind === 'loopback'
  if (challenge === undefined && method === undefined && !loopback) return undefined
  if (challenge === undefined || !CODE_CHALLENGE.test(challenge) || method !== 'S256') {
    throw new AuthError(
      'invalid_request',
      'A loopback redirect_uri needs a PKCE code_challenge (43 to 128 characters of base64url) and code_challenge_method=S256 (RFC 7636); the code sent there is redeemed at POST /v0/auth/oidc/token with the code_verifier.',
      challenge === undefined
        ? 'loopback target without code_challenge'
        : 'code_challenge malformed or code_challenge_method not S256',
    )
  }
  return loopback ? challenge : undefined
}

/** `GET …/auth/oidc/start`: sends the browser to the provider with a fresh state, nonce and PKCE challenge. */
const start: FastifyPluginAsync = async (app) => {
  const { config } = app
  const beginLogin = loginBeginner(app)

  const options = { schema: startSchema, config: { authStep: 'start' } } as const
  app.get<{ Querystring: StartQuery }>('/auth/oidc/start', options, async (request, reply) => {
    const target = redirectTarget(request.query.redirect_uri, config)
    const challenge = callerCodeChallenge(request.query, target)
    const flowCallerState = callerState(request.query.state)
    const authorizationUrl = beginLogin(request, reply, {
      target,
      callerState: flowCallerState,
      callerCodeChallenge: challenge,
      device: undefined,
    })
    return reply.redirect(authorizationUrl, 302)
  })
}

export default start
