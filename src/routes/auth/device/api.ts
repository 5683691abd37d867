import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { clientNameProblem } from '../../../device/client-name.js'
import {
  DEVICE_CODE,
  deviceKey,
  formatUserCode,
  newDeviceCode,
  newUserCode,
  userKey,
} from '../../../device/codes.js'
import {
  deviceLoginLifetimeSeconds,
  maxPendingPerAddress,
  pollIntervalSeconds,
} from '../../../device/device-login.js'
import type { PollOutcome } from '../../../device/store.js'
import { AuthError } from '../../../errors.js'
import { acceptForms } from '../../../http/form.js'
import type { RegistryTokenResponse } from '../../../registry/token.js'
import {
  type DeviceRequestBody,
  type DeviceTokenBody,
  deviceRequestSchema,
  deviceTokenSchema,
} from '../schemas.js'
import { countAttempt, fromStore } from './store-calls.js'

/** A fresh pair of codes meets a user code still in use about once in 2^34 requests. */
const maxDraws = 4

function unknownDeviceCode(reason: string): AuthError {
  return new AuthError(
    'invalid_grant',
    'The device code is unknown or was already redeemed. Start the device login again.',
    reason,
  )
}

/** The poll's answer for everything but a grant. */
function pollRefusal(outcome: Exclude<PollOutcome, { kind: 'approved' }>): AuthError {
  switch (outcome.kind) {
    case 'unknown':
      return unknownDeviceCode('device code unknown')
    case 'spent':
      return unknownDeviceCode('device code already redeemed')
    case 'expired':
      return new AuthError('expired_token', undefined, 'device request expired')
    case 'denied':
      return new AuthError('access_denied', undefined, 'cancelled or refused by the policy')
    case 'pending':
      return new AuthError('authorization_pending', undefined, 'not decided yet')
    case 'slow_down':
      return new AuthError(
        'slow_down',
        `Polled too soon. Wait ${outcome.intervalSeconds} seconds between polls from now on (RFC 8628).`,
        `polled within the interval, now ${outcome.intervalSeconds} s`,
      )
  }
}

/**
 * Terminals send neither `Origin` nor `Sec-Fetch-Site` (or `none`, for a request a person typed
 * into the address bar); browsers send them on every script or form POST. Refusing those keeps
 * any web page from making its visitors' browsers fill the store with requests.
 */
async function refuseBrowserOrigin(request: FastifyRequest): Promise<void> {
  if (request.headers.origin !== undefined) {
    throw new AuthError('cross_site_request', undefined, 'device request with an Origin header')
  }
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'none') {
    throw new AuthError(
      'cross_site_request',
      undefined,
      `device request with Sec-Fetch-Site ${site}`,
    )
  }
}

/**
 * The terminal's side of a device login (RFC 8628): `POST …/auth/oidc/device` asks for a pair
 * of codes, `POST …/auth/oidc/device/token` polls until the person has decided.
 */
const deviceApi: FastifyPluginAsync = async (app) => {
  const { config, deviceStore: store, deviceGrants, tokenIssuer } = app
  const verificationUri = `${config.publicUrl}/v0/auth/oidc/device`

  acceptForms(app)

  app.post<{ Body: DeviceRequestBody }>(
    '/auth/oidc/device',
    {
      schema: deviceRequestSchema,
      preHandler: refuseBrowserOrigin,
      config: {
        authStep: 'device_request',
        expectedBody: 'send {} or {"client_name": "…"} as application/json, or the same as a form.',
      },
    },
    async (request) => {
      const requestedAt = Date.now()
      const clientName = request.body.client_name
      // The schema only bounds the length and keeps controls out; this is the full rule for a
      // name the confirmation page will show (see client-name.ts).
      const problem = clientName === undefined ? undefined : clientNameProblem(clientName)
      if (problem !== undefined) {
        throw new AuthError(
          'invalid_request',
          `client_name ${problem}. Send at most 64 letters, digits, punctuation or symbols, single spaces between words.`,
          `client_name refused: ${problem}`,
        )
      }
      const address = normalizeIP(request.ip)
      for (let draw = 0; draw < maxDraws; draw++) {
        const deviceCode = newDeviceCode()
        const userCode = newUserCode()
        const created = await fromStore(
          store.create(
            deviceKey(deviceCode),
            userKey(userCode),
            {
              userCode,
              clientName,
              requestedFrom: request.ip,
              requestedAt,
              expiresAt: requestedAt + deviceLoginLifetimeSeconds * 1000,
            },
            pollIntervalSeconds,
            address,
          ),
        )
        if (created === 'taken') continue
        if (created === 'address_limit') {
          throw new AuthError(
            'rate_limited',
            `${maxPendingPerAddress} device logins from this address are already waiting. Finish or cancel one, or wait until it expires (${deviceLoginLifetimeSeconds / 60} minutes).`,
            `${maxPendingPerAddress} pending device requests from this address`,
          )
        }
        const shown = formatUserCode(userCode)
        return {
          device_code: deviceCode,
          user_code: shown,
          verification_uri: verificationUri,
          verification_uri_complete: `${verificationUri}?user_code=${shown}`,
          expires_in: deviceLoginLifetimeSeconds,
          interval: pollIntervalSeconds,
        }
      }
      throw new AuthError('store_unavailable', undefined, 'no free user code after several draws')
    },
  )

  app.post<{ Body: DeviceTokenBody }>(
    '/auth/oidc/device/token',
    {
      schema: deviceTokenSchema,
      config: {
        authStep: 'device_poll',
        expectedBody: `send {"device_code": "…"} as application/json, or the form device_code and grant_type=urn:ietf:params:oauth:grant-type:device_code, each once.`,
        formRequires: 'grant_type',
        // See docs/security.md: slow_down throttles each known code, and polls of unknown ones
        // have their own limit below; the login budget is shared with the browser logins.
        loginRateLimit: false,
      },
    },
    async (request): Promise<RegistryTokenResponse> => {
      const now = Date.now()
      const address = normalizeIP(request.ip)
      // Taken back when the code was known: a client that polls made-up codes costs the shared
      // store one counter per poll, then nothing.
      await countAttempt(store, 'unknown-device-code', address, now)
      const deviceCode = request.body.device_code
      if (!DEVICE_CODE.test(deviceCode)) throw unknownDeviceCode('device code malformed')
      const key = deviceKey(deviceCode)
      const outcome = await fromStore(store.poll(key, now))
      if (outcome.kind === 'unknown' || outcome.kind === 'spent') throw pollRefusal(outcome)
      await fromStore(store.refundAttempt('unknown-device-code', address, now))
      if (outcome.kind !== 'approved') throw pollRefusal(outcome)
      const grant = await deviceGrants.open(outcome.sealedGrant, key)
      if (grant === undefined) {
        // Only someone who can write to the store makes this happen: worth more than a refusal.
        request.log.warn(
          'a device grant in the store did not open: the store was written to by someone else',
        )
        throw unknownDeviceCode('sealed grant did not open')
      }
      request.subject = grant.subject
      request.grantedBy = grant.rules
      const { registry_token, expires_at } = await tokenIssuer.mint(grant)
      return { registry_token, expires_at }
    },
  )
}

export default deviceApi
