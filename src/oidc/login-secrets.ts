import { createHash, randomBytes } from 'node:crypto'

/** The per-login random values of an authorization request (RFC 6749 state, OIDC nonce, RFC 7636 PKCE). */
export interface LoginSecrets {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  /** S256 challenge of `codeVerifier`. */
  readonly codeChallenge: string
}

const secretBytes = 32

/**
 * Fresh state, nonce and PKCE verifier: 32 random bytes each (256 bits, as openid-client
 * makes them), base64url, so each is also a valid 43-character RFC 7636 code verifier.
 * One call to the random source for all three, and the challenge hashed synchronously:
 * WebCrypto's digest costs a thread-pool round trip for 43 bytes.
 */
export function newLoginSecrets(): LoginSecrets {
  const random = randomBytes(3 * secretBytes)
  const part = (index: number) =>
    random.subarray(index * secretBytes, (index + 1) * secretBytes).toString('base64url')
  const codeVerifier = part(2)
  return {
    state: part(0),
    nonce: part(1),
    codeVerifier,
    codeChallenge: createHash('sha256').update(codeVerifier).digest('base64url'),
  }
}
