import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config/config.js'
import { AuthError } from '../../errors.js'
import { acceptsOnlyJson, sendHtml } from '../../http/respond.js'
import {
  cookieOccurrences,
  type DeviceFlow,
  type Flow,
  flowCookieClearOptions,
  flowCookieName,
  isFlowCookieName,
  isFlowExpired,
  openFlowCookie,
} from '../../login/flow-cookie.js'
import { withTokenParameters } from '../../login/redirect-target.js'
import { renderDeviceDonePage } from '../../pages/device-pages.js'
import { renderTokenPage } from '../../pages/token-page.js'
import { type IdTokenClaims, IdTokenInvalidError } from '../../provider/id-token.js'
import { ProviderUnavailableError, TokenExchangeError } from '../../provider/provider.js'
import type { Grant } from '../../registry/issuer.js'
import { fromStore } from './device/store-calls.js'
import { type CallbackQuery, callbackSchema } from './schemas.js'

/**
 * Finds this login's flow cookie and checks it, before anything is sent to
 * the provider. The cookie is single-use: it is cleared whatever happens next.
 */
function takeFlow(
  request: FastifyRequest,
  reply: FastifyReply,
  config: Config,
  state: string | string[] | undefined,
): Flow {
  const anyFlowCookie = Object.keys(request.cookies).some((name) =>
    isFlowCookieName(name, config.secureCookies),
  )
  if (!anyFlowCookie)
    throw new AuthError('flow_cookie_missing', undefined, 'no flow cookie in the request')
  if (!state) throw new AuthError('state_mismatch', undefined, 'the callback has no state')
  if (Array.isArray(state)) {
    throw new AuthError('state_mismatch', undefined, 'the callback has several states')
  }

  const name = flowCookieName(state, config.secureCookies)
  const raw = request.cookies[name]
  if (raw === undefined) {
    throw new AuthError('state_mismatch', undefined, 'no flow cookie belongs to this state')
  }
  reply.clearCookie(name, flowCookieClearOptions(config.secureCookies))
  // Parsers keep one of two same-named cookies; which one is not ours to guess.
  if (cookieOccurrences(request.headers.cookie, name) > 1) {
    throw new AuthError('flow_cookie_invalid', undefined, 'the flow cookie was sent twice')
  }
  const flow = openFlowCookie(raw, (value) => request.unsignCookie(value))
  if (!flow) throw new AuthError('flow_cookie_invalid', undefined, 'bad signature or content')
  if (flow.state !== state) {
    throw new AuthError(
      'state_mismatch',
      undefined,
      'the signed state differs from the callback state',
    )
  }
  if (isFlowExpired(flow, Math.floor(Date.now() / 1000))) {
    throw new AuthError('flow_expired', undefined, 'the flow cookie is older than its lifetime')
  }
  return flow
}

/**
 * The `error` values an authorization response may carry by RFC 6749 section
 * 4.1.2.1 and OpenID Connect Core section 3.1.2.6. Only these are logged as
 * they are: the parameter is whatever the URL says, so anything else is
 * logged as `other` and never puts caller-chosen text in the log.
 */
const registeredAuthorizationErrors: ReadonlySet<string> = new Set([
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
])

function asAuthError(error: unknown): unknown {
  if (error instanceof TokenExchangeError) {
    return new AuthError('token_exchange_failed', undefined, error.message)
  }
  if (error instanceof IdTokenInvalidError) {
    return new AuthError('id_token_invalid', undefined, error.message)
  }
  if (error instanceof ProviderUnavailableError) {
    return new AuthError('provider_unavailable', undefined, error.message)
  }
  return error
}

/** `GET …/auth/oidc/callback`: finishes the login and hands over the registry token. */
const callback: FastifyPluginAsync = async (app) => {
  const { config, provider, tokenIssuer, loopbackCodes, deviceStore, deviceGrants } = app

  /**
   * A device login's end in the browser: the policy's verdict goes to the store, where the
   * terminal's next poll finds it and mints the token. A refusal reaches both: the terminal
   * hears access_denied, the browser gets the usual error page.
   */
  async function recordDeviceVerdict(device: DeviceFlow, claims: IdTokenClaims) {
    const { deviceKey, userKey } = device
    let grant: Grant
    try {
      grant = tokenIssuer.grant(claims)
    } catch (refusal) {
      await fromStore(deviceStore.decide(deviceKey, userKey, 'denied', Date.now()))
      throw refusal
    }
    const approved = await deviceGrants.seal(grant, deviceKey)
    if (!(await fromStore(deviceStore.decide(deviceKey, userKey, { approved }, Date.now())))) {
      throw new AuthError(
        'user_code_invalid',
        'This sign-in request expired, or was finished or cancelled meanwhile. Start the login in your terminal again.',
        'device request no longer pending at the callback',
      )
    }
  }

  app.get<{ Querystring: CallbackQuery }>(
    '/auth/oidc/callback',
    { schema: callbackSchema, config: { authStep: 'callback' } },
    async (request, reply) => {
      const query = request.query
      // Error answers need a flow of this browser too: otherwise anyone could
      // show a text of their choice on this service's origin.
      const flow = takeFlow(request, reply, config, query.state)
      if (query.error !== undefined) {
        const detail = query.error_description ? `: ${query.error_description}` : ''
        throw new AuthError(
          'idp_error',
          `The identity provider refused the login (${query.error}${detail}).`,
          `provider error ${registeredAuthorizationErrors.has(query.error) ? query.error : 'other'}`,
        )
      }
      const rawQuery = request.url.slice(request.url.indexOf('?') + 1)
      const claims = await provider.completeLogin(rawQuery, flow).catch((error: unknown) => {
        throw asAuthError(error)
      })
      request.subject = claims.sub
      if (flow.device !== undefined) {
        await recordDeviceVerdict(flow.device, claims)
        return sendHtml(reply, 200, renderDeviceDonePage('approved'))
      }
      const issued = await tokenIssuer.issue(claims)
      request.grantedBy = issued.rules

      if (flow.target) {
        // Whoever listens on a loopback port gets a code that only the verifier redeems
        // (decodeFlow refuses a loopback flow without the caller's challenge).
        const parameters: Record<string, string> =
          flow.target.kind === 'loopback'
            ? { code: await loopbackCodes.seal(issued, flow.callerCodeChallenge as string) }
            : { registry_token: issued.registry_token, expires_at: String(issued.expires_at) }
        if (flow.callerState !== undefined) parameters.state = flow.callerState
        return reply.redirect(withTokenParameters(flow.target, parameters), 302)
      }
      if (acceptsOnlyJson(request)) {
        return { registry_token: issued.registry_token, expires_at: issued.expires_at }
      }
      return sendHtml(
        reply,
        200,
        renderTokenPage({
          token: issued.registry_token,
          expiresAt: issued.expires_at,
          permissions: issued.permissions,
          rules: issued.rules,
          subject: claims.sub,
          registryUrl: config.publicUrl,
        }),
      )
    },
  )
}

export default callback
