import type { FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import type { AuthError } from '../errors.js'
import type { AuthStep } from '../observability/metrics.js'
import { requestIdHeader } from '../observability/request-id.js'
import { LOGIN_ISSUER } from '../registry/rules.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Marks a route whose every answer is the outcome of a login step or an exchange. */
    authStep?: AuthStep
  }
  interface FastifyRequest {
    /** The verified ID token's `sub`, logged with the outcome (also when the policy refuses it). */
    subject: string | null
    /** Why the request was refused; the error handler sets it. */
    refusal: AuthError | null
    /** The policy rules that granted the minted token's permissions, logged and counted with the outcome. */
    grantedBy: readonly string[] | null
    /** The policy's name for the issuer of an exchanged token, when it is not the login provider. */
    issuer: string | null
  }
}

const events: Record<AuthStep, { ok: [event: string, message: string]; refused: string }> = {
  start: { ok: ['login_started', 'login started'], refused: 'login_failed' },
  callback: { ok: ['login_completed', 'login completed'], refused: 'login_failed' },
  exchange: { ok: ['exchange_completed', 'token exchanged'], refused: 'exchange_failed' },
  redeem: { ok: ['code_redeemed', 'loopback code redeemed'], refused: 'redeem_failed' },
  device_request: {
    ok: ['device_login_requested', 'device login requested'],
    refused: 'device_request_failed',
  },
  device_verify: {
    ok: ['device_code_entered', 'device login code entered'],
    refused: 'device_code_refused',
  },
  device_cancel: {
    ok: ['device_login_cancelled', 'device login cancelled'],
    refused: 'device_cancel_failed',
  },
  device_poll: {
    ok: ['device_token_issued', 'device login token handed out'],
    refused: 'device_poll_refused',
  },
}

/** What a polling terminal hears every few seconds while the person signs in: not news. */
const routinePollAnswers: ReadonlySet<string> = new Set(['authorization_pending', 'slow_down'])

function level(reply: FastifyReply, step: AuthStep | undefined): 'error' | 'info' | 'debug' {
  const { refusal } = reply.request
  if (refusal?.code === 'internal_error' && reply.statusCode >= 500) return 'error'
  if (step === 'device_poll' && refusal && routinePollAnswers.has(refusal.code)) return 'debug'
  if (refusal || reply.statusCode >= 400) return 'info'
  // A started login is not an outcome yet (its callback is; abandoned ones are counted in the
  // logins_started metric), nor is a device code entered (its confirmation or cancellation is),
  // and probes and the JWKS answer every few seconds: at info, their successes would be noise,
  // and the line costs /start a fifth of its CPU.
  return step === undefined || step === 'start' || step === 'device_verify' ? 'debug' : 'info'
}

/**
 * One log line per request, written as the answer is sent: for login and
 * exchange routes it is the outcome (event, error code and reason, provider,
 * `sub`, the rules that granted the token), for the others the status; every refusal is `request refused`, once.
 * Every line carries the request id, which is echoed in `X-Request-Id`. The
 * same hook feeds the metrics.
 */
async function observability(app: FastifyInstance) {
  const { metrics } = app
  // As configured: the issuer URL an operator recognises.
  const provider = app.config.issuerIdentifier

  app.decorateRequest('subject', null)
  app.decorateRequest('refusal', null)
  app.decorateRequest('grantedBy', null)
  app.decorateRequest('issuer', null)

  app.addHook('onRequest', async (request, reply) => {
    reply.header(requestIdHeader, request.id)
  })

  // onSend, not onResponse: the line is written before the answer leaves, so whoever reads the
  // answer finds its line already logged.
  app.addHook('onSend', async (request, reply, payload) => {
    const step = request.routeOptions.config.authStep
    const { refusal, subject, grantedBy } = request
    metrics.httpRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    )
    if (step !== undefined) metrics.authOutcome(step, refusal?.code)
    if (grantedBy !== null && !refusal) metrics.ruleGrants(grantedBy)

    const line: Record<string, unknown> = {
      req: request,
      res: reply,
      responseTime: reply.elapsedTime,
    }
    if (step !== undefined) {
      line.event = refusal ? events[step].refused : events[step].ok[0]
      line.provider = provider
    }
    if (subject !== null) line.sub = subject
    if (grantedBy !== null) line.rules = grantedBy
    if (request.issuer !== null && request.issuer !== LOGIN_ISSUER) line.issuer = request.issuer
    let message = step !== undefined ? events[step].ok[1] : 'request completed'
    if (refusal) {
      line.error = refusal.code
      line.reason = refusal.reason
      message = refusal.code === 'internal_error' ? 'request failed' : 'request refused'
    }
    request.log[level(reply, step)](line, message)
    return payload
  })
}

export default fp(observability, { name: 'observability', decorators: { fastify: ['metrics'] } })
