// The login routes' input and output, as JSON schemas Fastify checks before a handler runs.

import { CODE_VERIFIER } from '../../login/loopback-code.js'

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
  code_challenge?: string | string[]
  code_challenge_method?: string | string[]
}

export const startSchema = {
  querystring: {
    type: 'object',
    properties: {
      redirect_uri: singleOrRepeated,
      state: singleOrRepeated,
      code_challenge: singleOrRepeated,
      code_challenge_method: singleOrRepeated,
    },
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

export interface TokenBody {
  code: string
  code_verifier: string
  grant_type?: 'authorization_code'
}

/** A sealed code holds a registry token; 8 KiB leaves room for a long list of permissions. */
const maxCodeLength = 8192

export const tokenSchema = {
  body: {
    type: 'object',
    required: ['code', 'code_verifier'],
    additionalProperties: false,
    properties: {
      code: { type: 'string', minLength: 1, maxLength: maxCodeLength },
      code_verifier: { type: 'string', pattern: CODE_VERIFIER.source },
      grant_type: { const: 'authorization_code' },
    },
  },
  response: exchangeSchema.response,
} as const
