import type { Config } from '../config/config.js'
import { AuthError } from '../errors.js'
import type { IdTokenClaims } from '../provider/id-token.js'
import {
  blockedNamespaceFor,
  grantedPermissions,
  matchClaimRequirements,
  type Permission,
} from './policy.js'
import {
  createRegistryTokenSigner,
  type RegistryTokenResponse,
  type RegistryTokenSigner,
} from './token.js'

export interface IssuedToken extends RegistryTokenResponse {
  readonly permissions: readonly Permission[]
}

/** Applies the deployer's policy to verified ID-token claims and mints the registry token. */
export interface RegistryTokenIssuer {
  readonly signer: RegistryTokenSigner
  readonly permissions: readonly Permission[]
  /** The blocked namespace the configured permissions cover, which refuses every token. */
  readonly blockedNamespace: string | undefined
  /** Throws {@link AuthError} `claims_not_allowed` or `namespace_blocked`. */
  issue(claims: IdTokenClaims): Promise<IssuedToken>
}

export async function createRegistryTokenIssuer(config: Config): Promise<RegistryTokenIssuer> {
  const signer = await createRegistryTokenSigner(config.signingSeedHex, config.tokenTtlSeconds)
  // Permissions come from configuration alone, so they are judged once, not per login.
  const permissions = grantedPermissions(config.publishPermissions, config.editPermissions)
  const blockedNamespace = blockedNamespaceFor(permissions, config.blockedNamespaces)
  return {
    signer,
    permissions,
    blockedNamespace,
    async issue(claims) {
      const policy = matchClaimRequirements(config.claimRequirements, claims)
      if (!policy.ok) throw new AuthError('claims_not_allowed', undefined, policy.reason)
      if (blockedNamespace !== undefined) {
        throw new AuthError(
          'namespace_blocked',
          undefined,
          `publish permissions cover the blocked namespace ${blockedNamespace}`,
        )
      }
      return { ...(await signer.mint(claims.sub, permissions)), permissions }
    },
  }
}
