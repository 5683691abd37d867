// The registry JWT: what the MCP registry itself mints after a login and
// verifies on every publish. It must stay byte-compatible with the registry's
// Go implementation (golang-jwt, Ed25519), so the header and claims are
// serialised by hand in the registry's order instead of by a JWT builder.

import { createPrivateKey, createPublicKey } from 'node:crypto'
import type { JWK } from 'jose'
import { calculateJwkThumbprint } from 'jose/jwk/thumbprint'
import { CompactSign } from 'jose/jws/compact/sign'
import type { Permission } from './policy.js'

export interface RegistryTokenResponse {
  registry_token: string
  expires_at: number
}

/** Declared in the order the registry's Go struct serialises them. */
export interface RegistryTokenClaims {
  iss: 'mcp-registry'
  exp: number
  nbf: number
  iat: number
  auth_method: 'oidc'
  auth_method_sub: string
  permissions: Permission[]
}

export interface RegistryTokenSigner {
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string
  /** `{ kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' }`, for /.well-known/jwks.json. */
  readonly publicJwk: Readonly<JWK>
  mint(
    subject: string,
    permissions: readonly Permission[],
    nowSeconds?: number,
  ): Promise<RegistryTokenResponse>
}

export const REGISTRY_ISSUER = 'mcp-registry'

/**
 * How far `nbf` lies before `iat`. The registry checks `nbf` with no leeway,
 * so a registry replica whose clock runs a little behind ours would otherwise
 * refuse a token in its first second(s).
 */
export const NOT_BEFORE_SKEW_SECONDS = 5

// RFC 8410 PKCS#8 wrapping of a bare 32-byte Ed25519 seed: the registry keeps
// only the seed (ed25519.NewKeyFromSeed), node:crypto wants a DER key.
const PKCS8_ED25519_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

const SEED_HEX = /^[0-9a-fA-F]{64}$/

const utf8 = new TextEncoder()

const unixNow = (): number => Math.floor(Date.now() / 1000)

function requireUnixSeconds(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer number of seconds`)
  }
}

// Copy to exactly {action, resource}: extra properties or another key order in
// the caller's objects must not change the token bytes.
const serialisablePermissions = (permissions: readonly Permission[]): Permission[] =>
  permissions.map(({ action, resource }) => ({ action, resource }))

/**
 * Loads the registry's signing key (MCP_REGISTRY_JWT_PRIVATE_KEY: 64 hex
 * characters, a 32-byte Ed25519 seed). The key is imported here once; minting
 * only signs. The error never contains the key.
 */
export async function createRegistryTokenSigner(
  seedHex: string,
  ttlSeconds: number,
): Promise<RegistryTokenSigner> {
  if (!SEED_HEX.test(seedHex)) {
    throw new Error(
      'the registry signing key must be 64 hex characters (a 32-byte Ed25519 seed); generate one with `openssl rand -hex 32`',
    )
  }
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new TypeError('the registry token lifetime must be a positive integer number of seconds')
  }

  const pkcs8 = Buffer.concat([PKCS8_ED25519_SEED_PREFIX, Buffer.from(seedHex, 'hex')])
  const privateKeyObject = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  // A non-extractable WebCrypto key is what jose signs with; handing it a
  // KeyObject would convert it again inside jose.
  const signingKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, [
    'sign',
  ])

  const { kty, crv, x } = createPublicKey(privateKeyObject).export({ format: 'jwk' })
  const kid = await calculateJwkThumbprint({ kty, crv, x }, 'sha256')
  const publicJwk: Readonly<JWK> = Object.freeze({ kty, crv, x, kid, alg: 'EdDSA', use: 'sig' })
  // Key order is part of the contract: {"alg":"EdDSA","typ":"JWT","kid":…}.
  const protectedHeader = { alg: 'EdDSA', typ: 'JWT', kid }

  const mint = async (
    subject: string,
    permissions: readonly Permission[],
    nowSeconds: number = unixNow(),
  ): Promise<RegistryTokenResponse> => {
    if (subject === '') throw new TypeError('a registry token needs the subject of the ID token')
    requireUnixSeconds('nowSeconds', nowSeconds)
    const claims: RegistryTokenClaims = {
      iss: REGISTRY_ISSUER,
      exp: nowSeconds + ttlSeconds,
      nbf: nowSeconds - NOT_BEFORE_SKEW_SECONDS,
      iat: nowSeconds,
      auth_method: 'oidc',
      auth_method_sub: subject,
      permissions: serialisablePermissions(permissions),
    }
    const token = await new CompactSign(utf8.encode(JSON.stringify(claims)))
      .setProtectedHeader(protectedHeader)
      .sign(signingKey)
    return { registry_token: token, expires_at: claims.exp }
  }

  return Object.freeze({ kid, publicJwk, mint })
}
