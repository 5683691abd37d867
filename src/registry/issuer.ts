import type { Config } from '../config/config.js'
import { AuthError } from '../errors.js'
import type { IdTokenClaims } from '../provider/id-token.js'
import type { Permission } from './policy.js'
import { decide, LOGIN_ISSUER, rulesReachingBlockedNamespaces } from './rules.js'
import {
  createRegistryTokenSigner,
  type RegistryTokenResponse,
  type RegistryTokenSigner,
} from './token.js'

export interface IssuedToken extends RegistryTokenResponse {
  readonly permissions: readonly Permission[]
  /** The names of the rules that granted the permissions, in rule order. */
  readonly rules: readonly string[]
}

/** Applies the deployer's policy to verified ID-token claims and mints the registry token. */
export interface RegistryTokenIssuer {
  readonly signer: RegistryTokenSigner
  /**
   * Rules whose fixed publish patterns reach a blocked namespace: every
   * token they apply to is refused unless another rule grants `*`.
   */
  readonly rulesReachingBlockedNamespaces: ReadonlyArray<{ rule: string; namespace: string }>
  /**
   * Judges the claims of a token verified for `issuer` (the login provider
   * unless named). Throws {@link AuthError} `claims_not_allowed` or `namespace_blocked`.
   */
  issue(claims: IdTokenClaims, issuer?: string): Promise<IssuedToken>
}

export async function createRegistryTokenIssuer(config: Config): Promise<RegistryTokenIssuer> {
  const signer = await createRegistryTokenSigner(config.signingSeedHex, config.tokenTtlSeconds)
  const { rules } = config.policy
  return {
    signer,
    rulesReachingBlockedNamespaces: rulesReachingBlockedNamespaces(rules, config.blockedNamespaces),
    async issue(claims, issuer = LOGIN_ISSUER) {
      const decision = decide(rules, issuer, claims, config.blockedNamespaces)
      if (!decision.ok) throw new AuthError(decision.error, undefined, decision.reason)
      const { permissions } = decision
      return { ...(await signer.mint(claims.sub, permissions)), permissions, rules: decision.rules }
    },
  }
}
