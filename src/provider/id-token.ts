import type { JWTHeaderParameters, JWTPayload, JWTVerifyGetKey } from 'jose'
import * as errors from 'jose/errors'
import { jwtVerify } from 'jose/jwt/verify'
import { notAnIdToken } from './token-type.js'

/** Asymmetric JWS algorithms only: never `none`, never an HMAC keyed with something public. */
export const idTokenAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const

/**
 * Clock tolerance for `exp`, `nbf` and `iat`, in seconds; no more (docs/http-api.md,
 * "ID-token checks").
 */
export const clockToleranceSeconds = 30

export interface IdTokenClaims extends JWTPayload {
  sub: string
  iss: string
  iat: number
  exp: number
  [claim: string]: unknown
}

export interface IdTokenExpectations {
  issuer: string
  /** The token's `aud` must contain one of these. */
  audiences: readonly string[]
  /** Required in the login flow; absent for tokens the caller brings along. */
  nonce?: string
  nowSeconds?: number
}

/** An ID token that must not be trusted; `message` says which check failed. */
export class IdTokenInvalidError extends Error {
  override name = 'IdTokenInvalidError'
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the ID token has expired'
  if (error instanceof errors.JWTClaimValidationFailed) {
    return `claim "${error.claim}" failed: ${error.reason}`
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return 'the signature does not verify with the provider key'
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the signing algorithm is not allowed'
  if (error instanceof errors.JWKSNoMatchingKey) return 'no provider key matches the token'
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    // openid-client refuses this too; trying every key would make the check depend on key order.
    return 'several provider keys match and the token names no "kid"'
  }
  if (error instanceof errors.JOSEError) return `${error.code}: ${error.message}`
  return 'the token could not be verified'
}

function includesAudience(aud: unknown, audiences: readonly string[]): boolean {
  const values = Array.isArray(aud) ? aud : [aud]
  return values.some((value) => typeof value === 'string' && audiences.includes(value))
}

/**
 * Verifies an ID token the way OpenID Connect Core §3.1.3.7 asks, with the
 * provider's keys: signature (asymmetric only), `iss` exactly, `aud`, `azp`
 * when there are several audiences, `exp`/`nbf`/`iat` within the clock
 * tolerance, `sub` present and, in the login flow, `nonce`; and that it is an
 * ID token at all, not another JWT of the provider ({@link notAnIdToken}).
 */
export async function verifyIdToken(
  token: string,
  getKey: JWTVerifyGetKey,
  expected: IdTokenExpectations,
): Promise<IdTokenClaims> {
  const now = expected.nowSeconds ?? Math.floor(Date.now() / 1000)
  let payload: JWTPayload
  let protectedHeader: JWTHeaderParameters
  try {
    ;({ payload, protectedHeader } = await jwtVerify(token, getKey, {
      algorithms: [...idTokenAlgorithms],
      issuer: expected.issuer,
      clockTolerance: clockToleranceSeconds,
      currentDate: new Date(now * 1000),
      requiredClaims: ['sub', 'iat', 'exp', 'aud'],
    }))
  } catch (error) {
    throw new IdTokenInvalidError(describeJoseError(error), { cause: error })
  }
  const otherType = notAnIdToken(protectedHeader, payload)
  if (otherType !== undefined) throw new IdTokenInvalidError(otherType)
  const { aud, azp, iat, sub, nonce } = payload
  if (typeof sub !== 'string' || sub.length === 0) {
    throw new IdTokenInvalidError('claim "sub" is missing or empty')
  }
  if (typeof iat !== 'number' || iat > now + clockToleranceSeconds) {
    throw new IdTokenInvalidError('claim "iat" is in the future')
  }
  if (!includesAudience(aud, expected.audiences)) {
    throw new IdTokenInvalidError('claim "aud" does not contain an accepted audience')
  }
  const severalAudiences = Array.isArray(aud) && aud.length > 1
  if ((severalAudiences || azp !== undefined) && !includesAudience(azp, expected.audiences)) {
    throw new IdTokenInvalidError('claim "azp" is not an accepted audience')
  }
  if (expected.nonce !== undefined && nonce !== expected.nonce) {
    throw new IdTokenInvalidError('claim "nonce" does not match this login')
  }
  return payload as IdTokenClaims
}
