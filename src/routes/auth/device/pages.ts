import fastifyCsrfProtection from '@fastify/csrf-protection'
import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { formatUserCode, normaliseUserCode, sameUserCode, userKey } from '../../../device/codes.js'
import type { PendingRequest } from '../../../device/store.js'
import { AuthError } from '../../../errors.js'
import { acceptForms } from '../../../http/form.js'
import { formPageSecurityHeaders, sendHtml } from '../../../http/respond.js'
import {
  renderDeviceConfirmPage,
  renderDeviceContinuePage,
  renderDeviceDonePage,
  renderDeviceEntryPage,
} from '../../../pages/device-pages.js'
import { loginBeginner } from '../begin-login.js'
import {
  type DeviceConfirmQuery,
  type DeviceDecisionBody,
  type DeviceEntryQuery,
  deviceConfirmPageSchema,
  deviceDecisionSchema,
  deviceEntrySchema,
} from '../schemas.js'
import { countAttempt, fromStore } from './store-calls.js'

interface PendingDevice extends PendingRequest {
  readonly userKey: string
}

/**
 * Whether the browser says this GET is the person's own page load. Browsers with Fetch Metadata
 * send `Sec-Fetch-Site` on every request; when it is sent, it must be `none` (typed, a bookmark,
 * a QR code, a link in another application) or `same-origin` (the entry page's Continue), and
 * `Sec-Fetch-Mode` and `Sec-Fetch-Dest`, when sent, must be `navigate` and `document`: a
 * top-level page, not an image, script, fetch or frame. Without `Sec-Fetch-Site` (browsers
 * without Fetch Metadata, plain http outside loopback, curl, Node's fetch, which sends only
 * `Sec-Fetch-Mode: cors`) the page is shown as before. Duplicated headers arrive joined and fail.
 */
function openedHere(request: Pick<FastifyRequest, 'headers'>): boolean {
  const { headers } = request
  const site = headers['sec-fetch-site']
  if (site === undefined) return true
  const mode = headers['sec-fetch-mode']
  const dest = headers['sec-fetch-dest']
  return (
    (site === 'same-origin' || site === 'none') &&
    (mode === undefined || mode === 'navigate') &&
    (dest === undefined || dest === 'document')
  )
}

/**
 * The person's side of a device login: the entry page, the confirmation page, and the two
 * answers to it. Confirming starts the ordinary browser login, whose callback records the
 * verdict for the terminal (see callback.ts).
 */
const devicePages: FastifyPluginAsync = async (app) => {
  const { config, deviceStore: store } = app
  const publicOrigin = new URL(config.publicUrl).origin
  const base = `${config.publicUrl}${app.prefix}/auth/oidc/device`
  const urls = { confirm: `${base}/confirm`, cancel: `${base}/cancel` }
  const beginLogin = loginBeginner(app)

  acceptForms(app)
  // A double-submit anti-forgery value: a random secret in a signed, HttpOnly, SameSite=Strict
  // cookie (__Host- on https), and a salted hash of it in the confirmation page's forms.
  await app.register(fastifyCsrfProtection, {
    cookieKey: `${config.secureCookies ? '__Host-' : ''}mcp_oidc_csrf`,
    cookieOpts: {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: config.secureCookies,
      signed: true,
    },
    // Only the form field: these forms are the only thing that posts here.
    getToken: (request) => (request.body as Partial<DeviceDecisionBody> | undefined)?._csrf,
    // The refusal is logged once, as every refusal is, by the observability plugin.
    logLevel: 'debug',
  })

  /**
   * Browsers say where a POST comes from: another site's page (or an opaque origin) is never
   * allowed to confirm or cancel, whatever else it sends. The anti-forgery value is checked
   * after this, for browsers that send neither header.
   */
  async function refuseCrossSite(request: FastifyRequest): Promise<void> {
    const { origin } = request.headers
    if (origin !== undefined && origin !== publicOrigin) {
      throw new AuthError('cross_site_request', undefined, 'Origin is not this service')
    }
    const site = request.headers['sec-fetch-site']
    if (site !== undefined && site !== 'same-origin') {
      throw new AuthError('cross_site_request', undefined, 'Sec-Fetch-Site is not same-origin')
    }
  }

  /**
   * The pending request behind a code the person typed, or a refusal: 429 once the address has
   * entered too many wrong codes (for any code, until its window ends), else 400 for a wrong
   * one. Every attempt is counted before the lookup, in one atomic step of the store, and taken
   * back when the code was right: parallel guesses cannot slip past the limit, and a store that
   * cannot count answers 503 before it is asked about the code, so that answer reveals nothing.
   * IPv6 clients are counted by their /64, as the rate limit counts them.
   */
  async function pendingDevice(request: FastifyRequest, typed: string): Promise<PendingDevice> {
    const now = Date.now()
    const address = normalizeIP(request.ip)
    await countAttempt(store, 'wrong-user-code', address, now)
    const code = normaliseUserCode(typed)
    const key = code === undefined ? undefined : userKey(code)
    const pending = key === undefined ? undefined : await fromStore(store.pending(key, now))
    if (code === undefined || key === undefined || pending === undefined) {
      throw new AuthError('user_code_invalid', undefined, 'user code unknown, expired or decided')
    }
    // The store found it by its digest; the code itself is compared too, in constant time.
    if (!sameUserCode(pending.request.userCode, code)) {
      throw new AuthError('user_code_invalid', undefined, 'user code differs from the stored one')
    }
    await fromStore(store.refundAttempt('wrong-user-code', address, now))
    return { userKey: key, ...pending }
  }

  /** The entry page, with the code filled in when `typed` is one; nothing is looked up. */
  function entryPage(reply: FastifyReply, typed: string | undefined) {
    const code = typed === undefined ? undefined : normaliseUserCode(typed)
    const userCode = code === undefined ? '' : formatUserCode(code)
    return sendHtml(
      reply,
      200,
      renderDeviceEntryPage({ confirmUrl: urls.confirm, userCode }),
      formPageSecurityHeaders,
    )
  }

  app.get<{ Querystring: DeviceEntryQuery }>(
    '/auth/oidc/device',
    { schema: deviceEntrySchema },
    async (request, reply) => entryPage(reply, request.query.user_code),
  )

  app.get<{ Querystring: DeviceConfirmQuery }>(
    '/auth/oidc/device/confirm',
    { schema: deviceConfirmPageSchema, config: { authStep: 'device_verify' } },
    async (request, reply) => {
      // Another site's image, script, frame or link must not make this browser's address spend
      // its wrong codes (ten lock the address out, office NAT included): such a request gets the
      // entry page with the code filled in, and the person's Continue comes back same-origin.
      if (!openedHere(request)) return entryPage(reply, request.query.user_code)
      const { request: device } = await pendingDevice(request, request.query.user_code)
      return sendHtml(
        reply,
        200,
        renderDeviceConfirmPage({
          userCode: formatUserCode(device.userCode),
          clientName: device.clientName,
          requestedAt: device.requestedAt,
          now: Date.now(),
          requestedFrom: device.requestedFrom,
          confirmUrl: urls.confirm,
          cancelUrl: urls.cancel,
          csrfToken: reply.generateCsrf(),
        }),
        formPageSecurityHeaders,
      )
    },
  )

  const decision = {
    schema: deviceDecisionSchema,
    preHandler: [refuseCrossSite, app.csrfProtection],
  }
  const expectedBody = 'submit the form of the confirmation page.'

  app.post<{ Body: DeviceDecisionBody }>(
    '/auth/oidc/device/confirm',
    { ...decision, config: { authStep: 'start', expectedBody } },
    async (request, reply) => {
      const device = await pendingDevice(request, request.body.user_code)
      const authorizationUrl = beginLogin(request, reply, {
        target: undefined,
        callerState: undefined,
        callerCodeChallenge: undefined,
        device: { userKey: device.userKey, deviceKey: device.deviceKey },
      })
      return sendHtml(reply, 200, renderDeviceContinuePage(authorizationUrl))
    },
  )

  app.post<{ Body: DeviceDecisionBody }>(
    '/auth/oidc/device/cancel',
    { ...decision, config: { authStep: 'device_cancel', expectedBody } },
    async (request, reply) => {
      const device = await pendingDevice(request, request.body.user_code)
      const decided = store.decide(device.deviceKey, device.userKey, 'denied', Date.now())
      if (!(await fromStore(decided))) {
        throw new AuthError('user_code_invalid', undefined, 'decided meanwhile')
      }
      return sendHtml(reply, 200, renderDeviceDonePage('cancelled'))
    },
  )
}

export default devicePages
