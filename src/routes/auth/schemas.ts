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

export interface DeviceRequestBody {
  client_name?: string
}

/**
 * At most 64 printable characters, counted as code points: no control, format (bidirectional
 * overrides, zero-width), private-use, unassigned or line-separator characters, which could
 * disguise a name on the confirmation page. Ajv compiles patterns with the `u` flag.
 */
const CLIENT_NAME = '^[^\\p{C}\\p{Zl}\\p{Zp}]{1,64}$'

export const deviceRequestSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    properties: { client_name: { type: 'string', maxLength: 64, pattern: CLIENT_NAME } },
  },
  response: {
    200: {
      type: 'object',
      required: [
        'device_code',
        'user_code',
        'verification_uri',
        'verification_uri_complete',
        'expires_in',
        'interval',
      ],
      properties: {
        device_code: { type: 'string' },
        user_code: { type: 'string' },
        verification_uri: { type: 'string' },
        verification_uri_complete: { type: 'string' },
        expires_in: { type: 'integer' },
        interval: { type: 'integer' },
      },
    },
  },
} as const

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export interface DeviceTokenBody {
  device_code: string
  grant_type?: typeof DEVICE_CODE_GRANT
}

export const deviceTokenSchema = {
  body: {
    type: 'object',
    required: ['device_code'],
    additionalProperties: false,
    properties: {
      // Malformed codes are unknown ones (invalid_grant), judged by the route.
      device_code: { type: 'string', minLength: 1, maxLength: 256 },
      grant_type: { const: DEVICE_CODE_GRANT },
    },
  },
  response: exchangeSchema.response,
} as const

/** Whatever a person typed; the route normalises it or finds it wrong. */
const typedUserCode = { type: 'string', maxLength: 256 } as const

export interface DeviceEntryQuery {
  user_code?: string
}

export const deviceEntrySchema = {
  querystring: {
    type: 'object',
    properties: { user_code: typedUserCode },
  },
} as const

export interface DeviceConfirmQuery {
  user_code: string
}

export const deviceConfirmPageSchema = {
  querystring: {
    type: 'object',
    required: ['user_code'],
    properties: { user_code: typedUserCode },
  },
} as const

export interface DeviceDecisionBody {
  user_code: string
  /** Checked by the anti-forgery hook, which refuses its absence as a cross-site request. */
  _csrf?: string
}

export const deviceDecisionSchema = {
  body: {
    type: 'object',
    required: ['user_code'],
    additionalProperties: false,
    properties: { user_code: typedUserCode, _csrf: { type: 'string', maxLength: 256 } },
  },
} as const
