// The issuers whose ID tokens POST /auth/oidc accepts: the login provider and the trusted issuers
// of the policy file (CI platforms such as GitHub Actions). Each trusted issuer is a provider
// connection of its own, with its own discovery, keys, audiences and retry, so one that is down
// affects only its own tokens.

import type { FastifyBaseLogger } from 'fastify'
import { decodeJwt } from 'jose/jwt/decode'
import type { Config } from '../config/config.js'
import { LOGIN_ISSUER, type TrustedIssuer } from '../registry/rules.js'
import type { IdTokenClaims } from './id-token.js'
import {
  connectProvider,
  loginProviderSettings,
  type ProviderConnection,
  type ProviderSettings,
} from './provider.js'

export interface VerifiedIdToken {
  /** The issuer's name in the policy: {@link LOGIN_ISSUER} or a trusted issuer's. */
  readonly issuer: string
  readonly claims: IdTokenClaims
}

export interface IssuerConnections {
  /**
   * Picks the issuer by the token's `iss`, then verifies the token fully with
   * that issuer's keys and audiences only. Throws `IdTokenInvalidError` (also
   * for an `iss` that is not configured) or `ProviderUnavailableError` when
   * that issuer has not been reached yet.
   */
  verifyIdToken(token: string): Promise<VerifiedIdToken>
  /** Starts loading every trusted issuer (the login connection is started by its owner). */
  start(): void
  close(): Promise<void>
}

/**
 * A trusted issuer's connection settings: the login provider's limits and
 * proxy, its own URL and audiences. No login runs against it, only token
 * verification, so its client is a placeholder that discovery carries along.
 */
export function trustedIssuerSettings(config: Config, trusted: TrustedIssuer): ProviderSettings {
  return {
    ...loginProviderSettings(config),
    issuer: new URL(trusted.issuer),
    audiences: trusted.audiences,
    client: {
      clientId: trusted.name,
      clientSecret: undefined,
      callbackUrl: config.callbackUrl,
      scopes: 'openid',
    },
  }
}

/**
 * The `iss` of a token, read before verification only to pick who verifies
 * it; undefined when there is none to read (the login provider's
 * verification then refuses the token).
 */
function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = decodeJwt(token)
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/** @param login the login provider's connection, which judges every token no trusted issuer claims */
export function connectIssuers(
  login: ProviderConnection,
  config: Config,
  log: FastifyBaseLogger,
): IssuerConnections {
  const trusted = new Map(
    config.policy.issuers.map((issuer) => [
      // Exact: a token's `iss` must be spelt as configured, case and trailing slash included.
      issuer.issuer,
      {
        name: issuer.name,
        connection: connectProvider(trustedIssuerSettings(config, issuer), log),
      },
    ]),
  )
  return {
    async verifyIdToken(token) {
      // Without trusted issuers every token is the login provider's to judge: there is nothing
      // to pick, so the token is decoded once, by its verification.
      const iss = trusted.size === 0 ? undefined : unverifiedIssuer(token)
      const listed = iss === undefined ? undefined : trusted.get(iss)
      if (listed !== undefined) {
        return { issuer: listed.name, claims: await listed.connection.verifyIdToken(token) }
      }
      // The login provider's verification requires its own `iss`, so a token of an issuer that
      // is not configured is refused there (401), as before trusted issuers existed.
      return { issuer: LOGIN_ISSUER, claims: await login.verifyIdToken(token) }
    },
    start() {
      for (const { connection } of trusted.values()) connection.start()
    },
    async close() {
      await Promise.all([...trusted.values()].map(({ connection }) => connection.close()))
    },
  }
}
