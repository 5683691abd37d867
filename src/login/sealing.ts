// Sealed values: jose's compact JWE (`dir` with A256GCM) under a key derived from the cookie
// secrets, so that anything the service hands out or parks elsewhere (a loopback code, a device
// grant in the store) opens only here, unaltered, and only until it expires. The secrets rotate
// as for the flow cookie: the first seals, all open.

import { createHash, hkdfSync, webcrypto } from 'node:crypto'
import type { JWTPayload } from 'jose'
import * as errors from 'jose/errors'
import { jwtDecrypt } from 'jose/jwt/decrypt'
import { EncryptJWT } from 'jose/jwt/encrypt'

/** Tolerated clock difference between the replica that seals and the one that opens. */
const replicaClockSkewSeconds = 30

export interface SealingPurpose {
  /** HKDF's `info`: each purpose has its own key, never the bytes that sign the flow cookie. */
  readonly keyInfo: string
  /** The JWE `typ`: a value sealed for one purpose is refused by every other. */
  readonly type: string
  /** This deployment's URL, so a value of another deployment that shares a secret is foreign. */
  readonly audience: string
}

export type Opened =
  | { readonly ok: true; readonly claims: JWTPayload }
  | { readonly ok: false; readonly reason: 'expired' | 'not sealed by this service' }

export interface Sealer {
  seal(claims: JWTPayload, lifetimeSeconds: number, nowSeconds?: number): Promise<string>
  /** Any doubt (another key, another purpose, altered, expired) is a refusal. */
  open(sealed: string, nowSeconds?: number): Promise<Opened>
}

interface SealingKey {
  readonly kid: string
  /**
   * Imported into WebCrypto once: given the raw bytes, jose would import them again for every
   * value, which cost a third of the sealing (a profile of the callback under load).
   */
  readonly key: Promise<webcrypto.CryptoKey>
}

function deriveKey(secret: string, keyInfo: string): SealingKey {
  const raw = new Uint8Array(hkdfSync('sha256', secret, '', keyInfo, 32))
  // Names the key without revealing it, so a value opens with one attempt, not one per secret.
  const kid = createHash('sha256').update(raw).digest('base64url').slice(0, 12)
  const key = webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
  return { kid, key }
}

const nowInSeconds = () => Math.floor(Date.now() / 1000)

export function createSealer(cookieSecrets: readonly string[], purpose: SealingPurpose): Sealer {
  const keys = cookieSecrets.map((secret) => deriveKey(secret, purpose.keyInfo))
  const sealing = keys[0]
  if (sealing === undefined) throw new Error('no cookie secret to derive a sealing key from')
  const byKid = new Map(keys.map((entry) => [entry.kid, entry.key]))
  const { type, audience } = purpose

  return {
    async seal(claims, lifetimeSeconds, nowSeconds = nowInSeconds()) {
      return new EncryptJWT(claims)
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: sealing.kid, typ: type })
        .setAudience(audience)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + lifetimeSeconds)
        .encrypt(await sealing.key)
    },

    async open(sealed, nowSeconds = nowInSeconds()) {
      try {
        const { payload } = await jwtDecrypt(
          sealed,
          (header) => {
            const key = typeof header.kid === 'string' ? byKid.get(header.kid) : undefined
            if (key === undefined) throw new errors.JWEDecryptionFailed()
            return key
          },
          {
            keyManagementAlgorithms: ['dir'],
            contentEncryptionAlgorithms: ['A256GCM'],
            typ: type,
            audience,
            requiredClaims: ['iat', 'exp'],
            clockTolerance: replicaClockSkewSeconds,
            currentDate: new Date(nowSeconds * 1000),
          },
        )
        return { ok: true, claims: payload }
      } catch (error) {
        if (error instanceof errors.JWTExpired) return { ok: false, reason: 'expired' }
        return { ok: false, reason: 'not sealed by this service' }
      }
    },
  }
}
