import type { FastifyPluginAsync } from 'fastify'
import { AuthError } from '../../errors.js'
import { IdTokenInvalidError } from '../../provider/id-token.js'
import { ProviderUnavailableError } from '../../provider/provider.js'
import { type ExchangeBody, exchangeBodyLimit, exchangeSchema } from './schemas.js'

/**
 * `POST …/auth/oidc`: the registry's own exchange of an ID token the caller
 * already holds (CI jobs), from the login provider or a trusted issuer of the
 * policy file; only that issuer's rules judge it.
 */
const exchange: FastifyPluginAsync = async (app) => {
  const { issuers, tokenIssuer } = app

  app.post<{ Body: ExchangeBody }>(
    '/auth/oidc',
    {
      schema: exchangeSchema,
      bodyLimit: exchangeBodyLimit,
      config: {
        authStep: 'exchange',
        expectedBody: 'send {"oidc_token": "<ID token>"} as application/json.',
      },
    },
    async (request) => {
      const { issuer, claims } = await issuers
        .verifyIdToken(request.body.oidc_token)
        .catch((error: unknown) => {
          if (error instanceof IdTokenInvalidError) {
            throw new AuthError('id_token_invalid', undefined, error.message)
          }
          if (error instanceof ProviderUnavailableError) {
            throw new AuthError('provider_unavailable', undefined, error.message)
          }
          throw error
        })
      request.subject = claims.sub
      request.issuer = issuer
      const { registry_token, expires_at, rules } = await tokenIssuer.issue(claims, issuer)
      request.grantedBy = rules
      return { registry_token, expires_at }
    },
  )
}

export default exchange
