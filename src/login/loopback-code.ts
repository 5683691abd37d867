// The one-time code a loopback target receives instead of the registry token (RFC 8252 §8.1).
//
// Any local process can listen on a loopback port, so whatever arrives there must be useless
// without the PKCE verifier that only the caller who started the login holds. The service keeps
// no state: the code is the minted registry token itself, sealed (jose's compact JWE, `dir` with
// A256GCM) together with the caller's challenge, under a key derived from the cookie secrets.
// Sealing the finished token rather than the claims means the policy is judged once, at the
// callback, and any replica redeems the code with nothing but the secrets.

import { createHash, hkdfSync, timingSafeEqual, webcrypto } from 'node:crypto'
import { EncryptJWT, errors, jwtDecrypt } from 'jose'
import type { RegistryTokenResponse } from '../registry/token.js'

/** How long a code can be redeemed after it was made. */
export const loopbackCodeLifetimeSeconds = 60
/** Tolerated clock difference between the replica that seals and the one that redeems. */
const replicaClockSkewSeconds = 30

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

interface SealingKey {
  readonly kid: string
  /**
   * Imported into WebCrypto once: given the raw bytes, jose would import them again for every
   * code, which cost a third of the sealing (a profile of the callback under load).
   */
  readonly key: Promise<webcrypto.CryptoKey>
}

function deriveKey(secret: string): SealingKey {
  const raw = new Uint8Array(hkdfSync('sha256', secret, '', keyInfo, 32))
  // Names the key without revealing it, so a code opens with one attempt, not one per secret.
  const kid = createHash('sha256').update(raw).digest('base64url').slice(0, 12)
  const key = webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
  return { kid, key }
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
  const keys = cookieSecrets.map(deriveKey)
  const sealing = keys[0]
  if (sealing === undefined) throw new Error('no cookie secret to derive the code key from')
  const byKid = new Map(keys.map((entry) => [entry.kid, entry.key]))

  return {
    async seal(issued, codeChallenge, nowSeconds = Math.floor(Date.now() / 1000)) {
      return new EncryptJWT({
        registry_token: issued.registry_token,
        expires_at: issued.expires_at,
        code_challenge: codeChallenge,
      })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: sealing.kid, typ: codeType })
        .setAudience(audience)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + loopbackCodeLifetimeSeconds)
        .encrypt(await sealing.key)
    },

    async redeem(code, codeVerifier, nowSeconds = Math.floor(Date.now() / 1000)) {
      let payload: Record<string, unknown>
      try {
        ;({ payload } = await jwtDecrypt(
          code,
          (header) => {
            const key = typeof header.kid === 'string' ? byKid.get(header.kid) : undefined
            if (key === undefined) throw new errors.JWEDecryptionFailed()
            return key
          },
          {
            keyManagementAlgorithms: ['dir'],
            contentEncryptionAlgorithms: ['A256GCM'],
            typ: codeType,
            audience,
            requiredClaims: ['iat', 'exp'],
            clockTolerance: replicaClockSkewSeconds,
            currentDate: new Date(nowSeconds * 1000),
          },
        ))
      } catch (error) {
        if (error instanceof errors.JWTExpired) return { ok: false, reason: 'expired' }
        return { ok: false, reason: 'not sealed by this service' }
      }
      const { registry_token, expires_at, code_challenge } = payload
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
