import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AuthError, type ErrorCode } from '../errors.js'
import { sendError } from '../http/respond.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a route's body must be, for the sentence that refuses an empty or non-JSON body. */
    expectedBody?: string
  }
}

/** Fastify's own refusals, in the documented error format, with a sentence saying what to change. */
const fastifyRefusals = (expectedBody: string): Record<string, [ErrorCode, string?]> => ({
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    'invalid_request',
    'The Content-Length header does not match the request body.',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_request', `The request body is empty: ${expectedBody}`],
  FST_ERR_CTP_INVALID_JSON_BODY: [
    'invalid_request',
    `The request body is not valid JSON: ${expectedBody}`,
  ],
  // @fastify/csrf-protection: the anti-forgery cookie or the form's value is missing or wrong.
  FST_CSRF_MISSING_SECRET: ['cross_site_request'],
  FST_CSRF_INVALID_TOKEN: ['cross_site_request'],
})

function toAuthError(error: FastifyError, request: FastifyRequest): AuthError {
  if (error instanceof AuthError) return error
  if (error.validation) {
    return new AuthError(
      'invalid_request',
      `The request is malformed: ${error.message}.`,
      error.message,
    )
  }
  const expectedBody = request.routeOptions.config?.expectedBody ?? 'send a JSON body.'
  const refusal = fastifyRefusals(expectedBody)[error.code]
  if (refusal) return new AuthError(refusal[0], refusal[1], error.code)
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new AuthError('invalid_request', undefined, error.code ?? error.message)
  }
  return new AuthError('internal_error', undefined, error.message)
}

/** Where a person whose login failed can start over. */
const restartableCodes = new Set<ErrorCode>([
  'flow_cookie_missing',
  'flow_cookie_invalid',
  'flow_expired',
  'state_mismatch',
  'idp_error',
  'id_token_invalid',
  'token_exchange_failed',
  'provider_unavailable',
])

/** Where a person whose device login failed on its pages can enter the code again. */
const deviceRestartCodes = new Set<ErrorCode>(['user_code_invalid', 'cross_site_request'])

async function errorHandler(app: FastifyInstance) {
  const startUrl = `${app.config.publicUrl}/v0/auth/oidc/start`
  const deviceEntryUrl = `${app.config.publicUrl}/v0/auth/oidc/device`
  const restartUrl = (code: ErrorCode) => {
    if (restartableCodes.has(code)) return startUrl
    return deviceRestartCodes.has(code) ? deviceEntryUrl : undefined
  }

  /**
   * Answers with the error in the documented format. The observability plugin logs
   * it once, with the request's one line: the code and why, never the values.
   */
  function refuse(request: FastifyRequest, reply: FastifyReply, refusal: AuthError) {
    request.refusal = refusal
    return sendError(request, reply, refusal, restartUrl(refusal.code))
  }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const authError = toAuthError(error, request)
    if (authError.code === 'internal_error') request.log.error({ err: error }, 'request failed')
    return refuse(request, reply, authError)
  })

  app.setNotFoundHandler((request, reply) =>
    refuse(request, reply, new AuthError('not_found', undefined, 'no route')),
  )
}

export default fp(errorHandler, { name: 'error-handler' })
