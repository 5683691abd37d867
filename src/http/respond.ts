import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthError } from '../errors.js'
import { renderErrorPage } from '../pages/error-page.js'
import { formPageContentSecurityPolicy, pageContentSecurityPolicy } from '../pages/html.js'

/** Headers for every answer that may carry a token or an error about a login. */
export const pageSecurityHeaders = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'referrer-policy': 'no-referrer',
  'content-security-policy': pageContentSecurityPolicy,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const

/**
 * The same for a page with a form that submits to this service (the device login's): the form
 * may submit here, and the browser names this origin in the POST's `Origin` (see renderDocument's
 * `referrer`). Other sites still learn nothing of these pages' addresses.
 */
export const formPageSecurityHeaders = {
  ...pageSecurityHeaders,
  'referrer-policy': 'same-origin',
  'content-security-policy': formPageContentSecurityPolicy,
} as const

type SecurityHeaders = typeof pageSecurityHeaders | typeof formPageSecurityHeaders

/** Browsers navigating ask for text/html; API clients do not. */
export function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html')
}

/** The token page falls back to HTML unless the client asks for JSON and nothing else. */
export function acceptsOnlyJson(request: FastifyRequest): boolean {
  const types = (request.headers.accept ?? '')
    .split(',')
    .map((part) => part.split(';')[0]?.trim().toLowerCase())
    .filter(Boolean)
  return types.length > 0 && types.every((type) => type === 'application/json')
}

export function sendHtml(
  reply: FastifyReply,
  statusCode: number,
  html: string,
  headers: SecurityHeaders = pageSecurityHeaders,
): FastifyReply {
  return reply.code(statusCode).headers(headers).type('text/html; charset=utf-8').send(html)
}

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AuthError,
  startUrl: string | undefined,
): FastifyReply {
  if (wantsHtml(request)) {
    return sendHtml(
      reply,
      error.statusCode,
      renderErrorPage({
        status: error.statusCode,
        error: error.code,
        description: error.description,
        startUrl,
      }),
    )
  }
  return reply
    .code(error.statusCode)
    .headers(pageSecurityHeaders)
    .send({ error: error.code, error_description: error.description })
}
