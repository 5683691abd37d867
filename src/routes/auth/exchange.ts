import type { FastifyPluginAsync } from 'fastify'
import { AuthError } from '../../errors.js'
import { IdTokenInvalidError } from '../../oidc/id-token.js'
import { ProviderUnavailableError } from '../../oidc/provider.js'

interface ExchangeBody {
  oidc_token: string
}

const maxBodyBytes = 16 * 1024

const schema = {
  body: {
    type: 'object',
    required: ['oidc_token'],
    additionalProperties: false,
    properties: { oidc_token: { type: 'string', minLength: 1, maxLength: maxBodyBytes } },
  },
  response: {
    200: {
      type: 'object',
      required: ['registry_token', 'expires_at'],
      properties: { registry_token: { type: 'string' }, expires_at: { type: 'integer' } },
    },
  },
} as const

/** `POST …/auth/oidc`: the registry's own exchange of an ID token the caller already holds (CI jobs). */
const exchange: FastifyPluginAsync = async (app) => {
  const { provider, tokenIssuer } = app

  app.post<{ Body: ExchangeBody }>(
    '/auth/oidc',
    { schema, bodyLimit: maxBodyBytes, config: { authStep: 'exchange' } },
    async (request) => {
      const claims = await provider
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
      const { registry_token, expires_at } = await tokenIssuer.issue(claims)
      return { registry_token, expires_at }
    },
  )
}

export default exchange
