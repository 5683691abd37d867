// The registry's side of a registry token: how the MCP registry verifies what this service mints.
// Only the tests need it; the service itself never verifies its own tokens.

import type { KeyObject } from 'node:crypto'
import { type CryptoKey, errors, type JWK, type JWTPayload, jwtVerify } from 'jose'
import type { Action, Permission } from '../../src/registry/policy.js'
import { REGISTRY_ISSUER, type RegistryTokenClaims } from '../../src/registry/token.js'

const isAction = (value: unknown): value is Action => value === 'publish' || value === 'edit'

function isPermission(value: unknown): value is Permission {
  if (typeof value !== 'object' || value === null) return false
  const { action, resource } = value as Record<string, unknown>
  return isAction(action) && typeof resource === 'string'
}

function claimFailure(payload: JWTPayload, claim: string, message: string): never {
  throw new errors.JWTClaimValidationFailed(message, payload, claim, 'check_failed')
}

// jose has already checked iss and the time claims; what is left is the shape
// the registry relies on when it reads the claims back.
function registryClaims(payload: JWTPayload): RegistryTokenClaims {
  const { iss, exp, nbf, iat, auth_method, auth_method_sub, permissions } = payload
  if (typeof nbf !== 'number') claimFailure(payload, 'nbf', 'missing "nbf" claim')
  if (typeof iat !== 'number') claimFailure(payload, 'iat', 'missing "iat" claim')
  if (auth_method !== 'oidc') claimFailure(payload, 'auth_method', '"auth_method" is not "oidc"')
  if (typeof auth_method_sub !== 'string' || auth_method_sub === '') {
    claimFailure(payload, 'auth_method_sub', 'missing "auth_method_sub" claim')
  }
  if (!Array.isArray(permissions) || !permissions.every(isPermission)) {
    claimFailure(payload, 'permissions', '"permissions" is not a list of {action, resource}')
  }
  return {
    iss: iss as 'mcp-registry',
    exp: exp as number,
    nbf,
    iat,
    auth_method,
    auth_method_sub,
    permissions: permissions.map(({ action, resource }) => ({ action, resource })),
  }
}

/**
 * Verifies a registry token the way the registry does (golang-jwt with
 * EdDSA only, `exp` required and in the future, `nbf` with zero leeway,
 * issuer "mcp-registry"), then checks it carries the claims this service
 * mints. Throws a jose error on any failure.
 */
export async function verifyRegistryToken(
  token: string,
  publicKey: KeyObject | CryptoKey | JWK,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<RegistryTokenClaims> {
  const { payload } = await jwtVerify(token, publicKey, {
    algorithms: ['EdDSA'],
    issuer: REGISTRY_ISSUER,
    requiredClaims: ['exp'],
    clockTolerance: 0,
    currentDate: new Date(nowSeconds * 1000),
  })
  return registryClaims(payload)
}
