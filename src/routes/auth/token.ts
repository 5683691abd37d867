import type { FastifyPluginAsync } from 'fastify'
import { AuthError } from '../../errors.js'
import { type TokenBody, tokenSchema } from './schemas.js'

const formType = 'application/x-www-form-urlencoded'
const expectedBody =
  'send {"code": "…", "code_verifier": "…"} as application/json, or the form code, code_verifier and grant_type=authorization_code, each once.'

/**
 * The OAuth spelling of the request (RFC 6749 section 4.1.3), read into the
 * same object as the JSON one. Hand-written over URLSearchParams instead of
 * @fastify/formbody: that plugin keeps every repeated parameter as an array
 * and lets a form without `grant_type` through, both of which are refused here.
 */
function parseTokenForm(body: string): Record<string, string> {
  // No prototype: a parameter named __proto__ is a field like any other (and then refused).
  const fields: Record<string, string> = Object.create(null)
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(fields, name)) throw formError(`${name} is given twice`)
    fields[name] = value
  }
  if (fields.grant_type === undefined) throw formError('grant_type is missing')
  return fields
}

function formError(reason: string): AuthError {
  return new AuthError(
    'invalid_request',
    `The request body is malformed: ${expectedBody}`,
    `form body: ${reason}`,
  )
}

/**
 * `POST …/auth/oidc/token`: a loopback caller redeems the code it received
 * with the PKCE verifier of the challenge it gave `/start`.
 */
const token: FastifyPluginAsync = async (app) => {
  const { loopbackCodes } = app

  app.addContentTypeParser(formType, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseTokenForm(body as string))
    } catch (error) {
      done(error as AuthError, undefined)
    }
  })

  app.post<{ Body: TokenBody }>(
    '/auth/oidc/token',
    {
      schema: tokenSchema,
      config: {
        authStep: 'redeem',
        expectedBody,
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
