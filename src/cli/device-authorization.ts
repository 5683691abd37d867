// The service's answer to a device login request (RFC 8628 §3.2), judged before anything of it
// reaches the terminal or a timer. Whatever answers at --url may be hostile: it could send escape
// sequences to print, a link to somewhere else to open, or an interval that parks the command for
// a day. An answer outside what the service sends is refused whole rather than repaired.

/** What the terminal shows and polls with, once the answer passed every check. */
export interface DeviceAuthorization {
  readonly deviceCode: string
  /** `XXXX-XXXX`, letters of the service's alphabet. */
  readonly userCode: string
  readonly verificationUri: string
  /** The same page with the code filled in, when the service sent one. */
  readonly verificationUriComplete: string | undefined
  readonly expiresInSeconds: number
  readonly intervalSeconds: number
}

/** The answer is not what the device endpoint sends; the message names the field. */
export class DeviceAnswerError extends Error {
  override name = 'DeviceAnswerError'
}

/** Eight letters without vowels (no words by accident), shown with a dash in the middle. */
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/
/** Opaque to the terminal, sent back as it came: visible ASCII, nothing to smuggle. */
const DEVICE_CODE = /^[\x21-\x7e]{16,512}$/
const MAX_URL_LENGTH = 2048

// The service asks for 5 s and 600 s. The bounds are what a sane service could want: polling
// faster than once a second is abuse of the service, and a code that lives longer than half an
// hour, or an interval beyond a minute, would leave the command waiting on an answer no person is
// still at the terminal for.
export const INTERVAL_BOUNDS = { min: 1, max: 60 } as const
export const EXPIRES_IN_BOUNDS = { min: 30, max: 1800 } as const

function boundedInteger(
  body: Record<string, unknown>,
  field: string,
  bounds: { min: number; max: number },
): number {
  const value = body[field]
  if (
    !Number.isSafeInteger(value) ||
    (value as number) < bounds.min ||
    (value as number) > bounds.max
  ) {
    throw new DeviceAnswerError(
      `${field} is not a whole number of seconds from ${bounds.min} to ${bounds.max}`,
    )
  }
  return value as number
}

/**
 * A page to send the person to: on the origin of the service URL the command was given, never
 * with credentials, and short enough to print. Any other origin is refused, https or not: the
 * service's verification page is its own (`<PUBLIC_URL>/v0/auth/oidc/device`), and a service that
 * names another site (malicious, or misconfigured) would send the person to a page that asks for
 * their sign-in elsewhere. The parsed form is returned, so what the terminal shows is what a
 * browser would open.
 */
function pageUrl(value: unknown, field: string, serviceOrigin: string): URL {
  if (typeof value !== 'string' || value.length > MAX_URL_LENGTH) {
    throw new DeviceAnswerError(`${field} is not a URL`)
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new DeviceAnswerError(`${field} is not a URL`)
  }
  if (url.origin !== serviceOrigin) {
    throw new DeviceAnswerError(
      `${field} is not on ${serviceOrigin}, the origin of --url (use the service's public URL as --url)`,
    )
  }
  if (url.username !== '' || url.password !== '') {
    throw new DeviceAnswerError(`${field} carries credentials`)
  }
  return url
}

/**
 * Judges the JSON body of a 200 answer from `POST <service>/v0/auth/oidc/device`. Throws a
 * DeviceAnswerError naming the first field that is missing or out of bounds.
 */
export function readDeviceAuthorization(body: unknown, serviceUrl: string): DeviceAuthorization {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DeviceAnswerError('the answer is not a JSON object')
  }
  const answer = body as Record<string, unknown>
  const { device_code: deviceCode, user_code: userCode } = answer
  if (typeof deviceCode !== 'string' || !DEVICE_CODE.test(deviceCode)) {
    throw new DeviceAnswerError('device_code is missing or malformed')
  }
  if (typeof userCode !== 'string' || !USER_CODE.test(userCode)) {
    throw new DeviceAnswerError('user_code is not of the form XXXX-XXXX')
  }
  const serviceOrigin = new URL(serviceUrl).origin
  const verificationUri = pageUrl(answer.verification_uri, 'verification_uri', serviceOrigin)
  let verificationUriComplete: string | undefined
  // Optional in RFC 8628. When present it must be the same page (the QR code and the link lead
  // where the printed URL does) and carry this very code.
  if (answer.verification_uri_complete !== undefined) {
    const complete = pageUrl(
      answer.verification_uri_complete,
      'verification_uri_complete',
      serviceOrigin,
    )
    const samePage =
      complete.origin === verificationUri.origin && complete.pathname === verificationUri.pathname
    const code = complete.searchParams.get('user_code')?.toUpperCase().replace('-', '')
    if (!samePage || code !== userCode.replace('-', '')) {
      throw new DeviceAnswerError(
        'verification_uri_complete is not the verification page with this user_code',
      )
    }
    verificationUriComplete = complete.href
  }
  return {
    deviceCode,
    userCode,
    verificationUri: verificationUri.href,
    verificationUriComplete,
    expiresInSeconds: boundedInteger(answer, 'expires_in', EXPIRES_IN_BOUNDS),
    intervalSeconds: boundedInteger(answer, 'interval', INTERVAL_BOUNDS),
  }
}
