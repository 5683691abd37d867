import type { FastifyPluginAsync } from 'fastify'
import { AuthError } from '../../errors.js'
import { acceptForms } from '../../http/form.js'
import { type TokenBody, tokenSchema } from './schemas.js'

const expectedBody =
  'send {"code": "…", "code_verifier": "…"} as application/json, or the form code, code_verifier and grant_type=authorization_code, each once.'

/**
 * `POST …/auth/oidc/token`: a loopback caller redeems the code it received
 * with the PKCE verifier of the challenge it gave `/start`.
 */
const token: FastifyPluginAsync = async (app) => {
  const { loopbackCodes } = app

  // The OAuth spelling of the request (RFC 6749 section 4.1.3), read into the same object.
  acceptForms(app)

  app.post<{ Body: TokenBody }>(
    '/auth/oidc/token',
    {
      schema: tokenSchema,
      config: {
        authStep: 'redeem',
        expectedBody,
        formRequires: 'grant_type',
      },
    },
    async (request) => {
      const redemption = await loopbackCodes.redeem(request.body.code, request.body.code_verifier)
      if (!redemption.ok) {
        throw new AuthError(
          'invalid_grant',
          'The code is expired, altered, not made by this service, or the code_verifier does not match its challenge. Start the login again.',
          `code ${redemption.reason}`,
        )
      }
      return redemption.issued
    },
  )
}

export default token
