// Requests from `login` to the service, and the checks on what comes back: both login flows end
// with a registry token that must verify against the service's published key before anything is
// written or printed.

import type { JWTPayload } from 'jose'
import { createRemoteJWKSet } from 'jose/jwks/remote'
import { jwtVerify } from 'jose/jwt/verify'
import { REGISTRY_ISSUER } from '../registry/token.js'
import { LoginFailure } from './loopback.js'

/** Each request to the service (a device request, a poll, redeeming a code, fetching its keys). */
export const REQUEST_TIMEOUT_MS = 30_000
/** The clock difference tolerated between this machine and the service when checking `exp`. */
const CLOCK_TOLERANCE_SECONDS = 30
/** The service's answers are a few hundred bytes; anything past this is not one of them. */
const MAX_ANSWER_BYTES = 64 * 1024

export interface VerifiedLogin {
  readonly token: string
  readonly expiresAt: number
  readonly claims: JWTPayload
}

/** POSTs `body` as JSON; never follows a redirect (the body may carry codes). Rejects on network errors. */
export function postJson(url: string, body: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    redirect: 'error',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  })
}

/**
 * The answer's JSON object, or undefined when it is not one. At most {@link MAX_ANSWER_BYTES} are
 * read: whatever answers at --url could otherwise stream an endless body into memory.
 */
export async function jsonOf(response: Response): Promise<Record<string, unknown> | undefined> {
  if (response.body === null) return undefined
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for await (const chunk of response.body) {
      size += chunk.byteLength
      // Leaving the loop cancels the rest of the body.
      if (size > MAX_ANSWER_BYTES) return undefined
      chunks.push(chunk)
    }
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    return typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Verifies a token the service handed out against its published key (signature, `iss`, `exp`):
 * a forged answer, or anything but the service's own token, ends the login here.
 */
export async function verifyServiceToken(baseUrl: string, token: unknown): Promise<VerifiedLogin> {
  if (typeof token !== 'string') {
    throw new LoginFailure('the service answered without a registry token')
  }
  const keys = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`), {
    timeoutDuration: REQUEST_TIMEOUT_MS,
  })
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ['EdDSA'],
      issuer: REGISTRY_ISSUER,
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    })
    // The expiry shown is the verified one, not the answer's expires_at.
    return { token, expiresAt: payload.exp as number, claims: payload }
  } catch {
    throw new LoginFailure(
      `the token does not verify against ${baseUrl}/.well-known/jwks.json (signature, issuer or expiry)`,
    )
  }
}
