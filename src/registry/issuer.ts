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

/** What the policy grants one person: everything a registry token is minted from. */
export interface Grant {
  /** The ID token's `sub`. */
  readonly subject: string
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
  /**
   * The policy's verdict alone, for a token minted later (the device login mints when the
   * terminal polls). Throws as {@link issue} does.
   */
  grant(claims: IdTokenClaims, issuer?: string): Grant
  /** Mints the registry token of a grant {@link grant} made. */
  mint(grant: Grant): Promise<IssuedToken>
}

export async function createRegistryTokenIssuer(config: Config): Promise<RegistryTokenIssuer> {
  const signer = await createRegistryTokenSigner(config.signingSeedHex, config.tokenTtlSeconds)
  const { rules } = config.policy
  function grant(claims: IdTokenClaims, issuer = LOGIN_ISSUER): Grant {
    const decision = decide(rules, issuer, claims, config.blockedNamespaces)
    if (!decision.ok) throw new AuthError(decision.error, undefined, decision.reason)
    return { subject: claims.sub, permissions: decision.permissions, rules: decision.rules }
  }
  async function mint({ subject, permissions, rules }: Grant): Promise<IssuedToken> {
    return { ...(await signer.mint(subject, permissions)), permissions, rules }
  }
  return {
    signer,
    rulesReachingBlockedNamespaces: rulesReachingBlockedNamespaces(rules, config.blockedNamespaces),
    issue: async (claims, issuer) => mint(grant(claims, issuer)),
    grant,
    mint,
  }
}
