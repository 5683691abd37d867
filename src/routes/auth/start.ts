import type { FastifyPluginAsync } from 'fastify'
import * as oidc from 'openid-client'
import { AuthError, errorCatalog } from '../../errors.js'
import { encodeFlow, flowCookieName, flowCookieOptions } from '../../oidc/flow-cookie.js'
import { checkRedirectTarget, type RedirectTarget } from '../../oidc/redirect-target.js'

interface StartQuery {
  redirect_uri?: string
  state?: string
}

const schema = {
  querystring: {
    type: 'object',
    properties: {
      // Its length is judged with the other redirect rules, so the answer names the right problem.
      redirect_uri: { type: 'string' },
      state: { type: 'string', maxLength: 512 },
    },
  },
} as const

/** `GET …/auth/oidc/start`: sends the browser to the provider with a fresh state, nonce and PKCE challenge. */
const start: FastifyPluginAsync = async (app) => {
  const { config, provider } = app

  app.get<{ Querystring: StartQuery }>('/auth/oidc/start', { schema }, async (request, reply) => {
    const { redirect_uri: redirectUri, state: callerState } = request.query
    let target: RedirectTarget | undefined
    if (redirectUri !== undefined) {
      const check = checkRedirectTarget(redirectUri, config.redirectAllowlist)
      if (!check.ok) {
        throw new AuthError(
          'redirect_uri_not_allowed',
          `${errorCatalog.redirect_uri_not_allowed.description} (${check.reason})`,
          check.reason,
        )
      }
      target = check.target
    }
    if (!provider.ready)
      throw new AuthError('provider_unavailable', undefined, 'provider not ready')

    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const codeVerifier = oidc.randomPKCECodeVerifier()
    const authorizationUrl = provider.authorizationUrl({
      state,
      nonce,
      codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    })
    const flow = {
      state,
      nonce,
      codeVerifier,
      target,
      callerState,
      createdAt: Math.floor(Date.now() / 1000),
    }
    reply.setCookie(
      flowCookieName(state, config.secureCookies),
      encodeFlow(flow),
      flowCookieOptions(config.secureCookies),
    )
    return reply.redirect(authorizationUrl.href, 302)
  })
}

export default start
