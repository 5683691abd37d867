// RFC 8725 section 3.11: a JWT of another type, signed by the same provider key (an access token,
// a logout token, a security event), must not pass for an ID token.

/** The `typ` values an ID token may carry (OpenID Connect Core does not require one). */
const idTokenTypes: ReadonlySet<string> = new Set(['jwt', 'application/jwt'])

/**
 * Why a verified JWT is not an ID token, or undefined when it may be one: its
 * header `typ` names another type (`at+jwt`, `logout+jwt`, `secevent+jwt`…),
 * or it carries the `events` claim of logout tokens and security events.
 * Media types compare case-insensitively (RFC 7515 section 4.1.9).
 */
export function notAnIdToken(
  header: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
): string | undefined {
  const { typ } = header
  if (typ !== undefined && (typeof typ !== 'string' || !idTokenTypes.has(typ.toLowerCase()))) {
    return 'the header typ is not JWT: the token is not an ID token'
  }
  if (Object.hasOwn(claims, 'events')) {
    return 'the token carries an events claim: it is a logout token or security event'
  }
  return undefined
}
