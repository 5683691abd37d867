import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AuthError, type ErrorCode } from '../errors.js'
import { sendError } from '../pages/respond.js'

/** Fastify's own refusals, in the SPEC's error format. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
}

function toAuthError(error: FastifyError): AuthError {
  if (error instanceof AuthError) return error
  if (error.validation) {
    return new AuthError(
      'invalid_request',
      `The request is malformed: ${error.message}.`,
      error.message,
    )
  }
  const mapped = fastifyCodes[error.code]
  if (mapped) return new AuthError(mapped, undefined, error.code)
  if (error.statusCode === 429)
    return new AuthError('rate_limited', undefined, 'rate limit reached')
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

async function errorHandler(app: FastifyInstance) {
  const startUrl = `${app.config.publicUrl}/v0/auth/oidc/start`

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const authError = toAuthError(error)
    if (authError.statusCode >= 500 && authError.code === 'internal_error') {
      request.log.error({ err: error }, 'request failed')
    } else {
      // One line per refusal: the code and why, never the values involved.
      request.log.info({ error: authError.code, reason: authError.reason }, 'request refused')
    }
    if (authError.statusCode === 429) {
      const retryAfter = reply.getHeader('retry-after')
      if (retryAfter !== undefined) reply.header('retry-after', retryAfter)
    }
    return sendError(
      request,
      reply,
      authError,
      restartableCodes.has(authError.code) ? startUrl : undefined,
    )
  })

  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new AuthError('not_found', undefined, 'no route'), undefined),
  )
}

export default fp(errorHandler, { name: 'error-handler' })
