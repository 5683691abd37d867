import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AuthError } from '../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A field a form-encoded body of this route must have (the OAuth spelling's `grant_type`),
     * although the JSON spelling may leave it out.
     */
    formRequires?: string
  }
}

const formType = 'application/x-www-form-urlencoded'

/**
 * Reads an `application/x-www-form-urlencoded` body into one string per field, the same object
 * a JSON body gives, for the route's schema to judge. Hand-written over URLSearchParams instead
 * of @fastify/formbody: that plugin keeps every repeated field as an array and lets a form
 * without its `grant_type` through, both of which are refused here.
 */
export function parseForm(body: string, required: string | undefined): Record<string, string> {
  // No prototype: a field named __proto__ is a field like any other (and then refused).
  const fields: Record<string, string> = Object.create(null)
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(fields, name)) throw new FormError(`${name} is given twice`)
    fields[name] = value
  }
  if (required !== undefined && fields[required] === undefined) {
    throw new FormError(`${required} is missing`)
  }
  return fields
}

class FormError extends Error {}

function refusal(request: FastifyRequest, reason: string): AuthError {
  const expectedBody = request.routeOptions.config?.expectedBody ?? 'send a well-formed form.'
  return new AuthError(
    'invalid_request',
    `The request body is malformed: ${expectedBody}`,
    `form body: ${reason}`,
  )
}

/** Lets the routes of this plugin take form-encoded bodies as well as JSON ones. */
export function acceptForms(app: FastifyInstance): void {
  app.addContentTypeParser(formType, { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, parseForm(body as string, request.routeOptions.config?.formRequires))
    } catch (error) {
      done(
        error instanceof FormError ? refusal(request, error.message) : (error as Error),
        undefined,
      )
    }
  })
}
