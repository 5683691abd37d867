// The one-time code a loopback target receives instead of the registry token (RFC 8252 §8.1).
//
// Any local process can listen on a loopback port, so whatever arrives there must be useless
// without the PKCE verifier that only the caller who started the login holds. The service keeps
// no state: the code is the minted registry token itself, sealed (jose's compact JWE, `dir` with
// A256GCM) together with the caller's challenge, under a key derived from the cookie secrets.
// Sealing the finished token rather than the claims means the policy is judged once, at the
// callback, and any replica redeems the code with nothing but the secrets.

import { createHash, timingSafeEqual } from 'node:crypto'
import type { RegistryTokenResponse } from '../registry/token.js'
import { createSealer } from './sealing.js'

/** How long a code can be redeemed after it was made. */
export const loopbackCodeLifetimeSeconds = 60
/** HKDF's `info`: a key for codes only, never the same bytes that sign the flow cookie. */
const keyInfo = 'mcp-registry-oidc loopback code A256GCM v1'
const codeType = 'mcp-loopback-code+jwt'

/** RFC 7636 section 4.1: 43 to 128 unreserved characters. */
export const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/
/** The caller's S256 challenge, as /start accepts it: 43 to 128 characters of base64url. */
export const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43,128}$/

/** Why a code was refused, for the log: never a value from the request. */
export type RedeemRefusal = 'expired' | 'not sealed by this service' | 'verifier mismatch'

export type Redemption =
  | { ok: true; issued: RegistryTokenResponse }
  | { ok: false; reason: RedeemRefusal }

export interface LoopbackCodes {
  /** Seals `issued` for the caller whose PKCE challenge is `codeChallenge`. */
  seal(issued: RegistryTokenResponse, codeChallenge: string, nowSeconds?: number): Promise<string>
  /** Opens a code with the caller's verifier; any doubt is a refusal. */
  redeem(code: string, codeVerifier: string, nowSeconds?: number): Promise<Redemption>
}

/** RFC 7636 S256: the challenge a verifier answers. */
export const s256 = (verifier: string): string =>
  createHash('sha256').update(verifier).digest('base64url')

/**
 * `cookieSecrets` rotate as for the flow cookie: the first seals, all open. `audience` is this
 * deployment's token endpoint, so a code of another deployment that shares a secret is foreign.
 */
export function createLoopbackCodes(
  cookieSecrets: readonly string[],
  audience: string,
): LoopbackCodes {
  const sealer = createSealer(cookieSecrets, { keyInfo, type: codeType, audience })

  return {
    seal(issued, codeChallenge, nowSeconds) {
      const claims = {
        registry_token: issued.registry_token,
        expires_at: issued.expires_at,
        code_challenge: codeChallenge,
      }
      return sealer.seal(claims, loopbackCodeLifetimeSeconds, nowSeconds)
    },

    async redeem(code, codeVerifier, nowSeconds = Math.floor(Date.now() / 1000)) {
      const opened = await sealer.open(code, nowSeconds)
      if (!opened.ok) return opened
      const { registry_token, expires_at, code_challenge } = opened.claims
      if (
        typeof registry_token !== 'string' ||
        typeof expires_at !== 'number' ||
        typeof code_challenge !== 'string'
      ) {
        return { ok: false, reason: 'not sealed by this service' }
      }
      const expected = Buffer.from(code_challenge)
      const actual = Buffer.from(s256(codeVerifier))
      if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
        return { ok: false, reason: 'verifier mismatch' }
      }
      // A token minted with a short TTL may run out before its code does.
      if (expires_at <= nowSeconds) return { ok: false, reason: 'expired' }
      return { ok: true, issued: { registry_token, expires_at } }
    },
  }
}
