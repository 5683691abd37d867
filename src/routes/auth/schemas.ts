// The login routes' input and output, as JSON schemas Fastify checks before a handler runs.

/**
 * A query parameter given twice arrives as an array. Routes accept that shape
 * only where they refuse it themselves with a sentence saying what is wrong,
 * instead of silently picking one of the values.
 */
export const singleOrRepeated = {
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
} as const

export interface StartQuery {
  redirect_uri?: string | string[]
  state?: string | string[]
}

export const startSchema = {
  querystring: {
    type: 'object',
    properties: { redirect_uri: singleOrRepeated, state: singleOrRepeated },
  },
} as const

export interface CallbackQuery {
  code?: string
  state?: string | string[]
  iss?: string
  error?: string
  error_description?: string
}

export const callbackSchema = {
  querystring: {
    type: 'object',
    // Providers add their own parameters (session_state, scope, authuser…); openid-client judges them.
    properties: {
      code: { type: 'string', maxLength: 4096 },
      // Several states match no login: refused as state_mismatch by takeFlow.
      state: singleOrRepeated,
      iss: { type: 'string', maxLength: 2048 },
      error: { type: 'string', maxLength: 256 },
      error_description: { type: 'string', maxLength: 1024 },
    },
  },
} as const

export interface ExchangeBody {
  oidc_token: string
}

export const exchangeBodyLimit = 16 * 1024

export const exchangeSchema = {
  body: {
    type: 'object',
    required: ['oidc_token'],
    additionalProperties: false,
    properties: { oidc_token: { type: 'string', minLength: 1, maxLength: exchangeBodyLimit } },
  },
  response: {
    200: {
      type: 'object',
      required: ['registry_token', 'expires_at'],
      properties: { registry_token: { type: 'string' }, expires_at: { type: 'integer' } },
    },
  },
} as const
