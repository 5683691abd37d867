import { maxParallelFlows } from './login/flow-cookie.js'

/**
 * The stable error codes (docs/http-api.md, "Errors"), with the status each one answers and a
 * sentence a person can act on. Routes throw {@link AuthError}; the error
 * handler turns it into JSON or an HTML page.
 */
export const errorCatalog = {
  invalid_request: { status: 400, description: 'The request is malformed.' },
  redirect_uri_not_allowed: {
    status: 400,
    description:
      'The redirect_uri is not allowed. Use a loopback address (http://127.0.0.1:PORT/…, http://[::1]:PORT/…, http://localhost:PORT/…) or a URL on the allow-list.',
  },
  flow_cookie_missing: {
    status: 400,
    description:
      'The login cookie did not come back. Your browser may block cookies for this site, the login may have started on a different host than this service, or it took longer than 10 minutes. Start the login again.',
  },
  flow_cookie_invalid: {
    status: 400,
    description:
      'The login cookie was altered or signed with an unknown key. Start the login again.',
  },
  flow_expired: {
    status: 400,
    description: 'The login took longer than 10 minutes. Start the login again.',
  },
  state_mismatch: {
    status: 400,
    description: `The answer from the identity provider does not belong to a login started in this browser, or more than ${maxParallelFlows} logins were started at once and this one was dropped. Start the login again from the same browser.`,
  },
  invalid_grant: {
    status: 400,
    description:
      'The code is expired, altered or not made by this service, or the code_verifier does not match. Start the login again.',
  },
  authorization_pending: {
    status: 400,
    description:
      'The person has not finished signing in yet. Poll again after the interval (RFC 8628).',
  },
  slow_down: {
    status: 400,
    description: 'Polled too soon. Wait 5 seconds longer between polls from now on (RFC 8628).',
  },
  access_denied: {
    status: 400,
    description:
      'The sign-in was cancelled in the browser, or the account is not allowed a registry token here. Start the device login again.',
  },
  expired_token: {
    status: 400,
    description: 'The device code has expired. Start the device login again.',
  },
  user_code_invalid: {
    status: 400,
    description:
      'This code is unknown, has expired or was used already. Check the code your terminal shows; if it has expired, start the login in the terminal again.',
  },
  idp_error: {
    status: 400,
    description: 'The identity provider refused the login. Start the login again.',
  },
  id_token_invalid: {
    status: 401,
    description:
      'The identity token failed verification, so no registry token was issued. Start the login again; if this keeps happening, ask the operator of this service to check its provider settings and clock.',
  },
  cross_site_request: {
    status: 403,
    description:
      "This confirmation did not come from this service's own page, so it was refused. Open the sign-in link from your terminal again.",
  },
  claims_not_allowed: {
    status: 403,
    description:
      "Your account is not allowed to obtain a registry token here. Sign in with an account that meets this registry's requirements, or ask its operator for access.",
  },
  namespace_blocked: {
    status: 403,
    description:
      'The permissions this service grants cover a blocked namespace; no token is issued.',
  },
  oidc_disabled: { status: 404, description: 'OpenID Connect login is disabled on this registry.' },
  not_found: { status: 404, description: 'There is nothing here.' },
  method_not_allowed: {
    status: 405,
    description: 'This address does not answer this HTTP method.',
  },
  payload_too_large: { status: 413, description: 'The request body is larger than 16 KiB.' },
  unsupported_media_type: {
    status: 415,
    description: 'Send the request body as application/json.',
  },
  rate_limited: { status: 429, description: 'Too many requests. Wait a moment and try again.' },
  internal_error: { status: 500, description: 'Something went wrong on our side.' },
  token_exchange_failed: {
    status: 502,
    description: 'The identity provider did not complete the login. Try again in a moment.',
  },
  provider_unavailable: {
    status: 503,
    description: 'The identity provider cannot be reached yet. Try again in a moment.',
  },
  store_unavailable: {
    status: 503,
    description:
      'Device logins are unavailable right now: their store cannot be reached or is full. Try again in a moment, or sign in with a browser on this machine.',
  },
} as const satisfies Record<string, { status: number; description: string }>

export type ErrorCode = keyof typeof errorCatalog

export class AuthError extends Error {
  override name = 'AuthError'
  readonly statusCode: number
  /**
   * @param description shown to the user (HTML-escaped on pages); defaults to the catalogue's sentence
   * @param reason what exactly failed, for the log; never a secret value
   */
  constructor(
    readonly code: ErrorCode,
    readonly description: string = errorCatalog[code].description,
    readonly reason?: string,
  ) {
    super(reason ?? description)
    this.statusCode = errorCatalog[code].status
  }
}
