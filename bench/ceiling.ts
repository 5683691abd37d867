// The ceilings: what a Fastify process could answer at best if it did only the work required
// of /start and of the exchange, with the service's own functions and route schemas, and nothing a
// production service adds around them (no logging, metrics, rate limit, request ids, hooks or
// plugins). They tell how much of the gap to the bare route and to the crypto floor is the
// service's and how much is the work itself.
//
// Usage: node ceiling.js <port> <issuer> <client id> <public URL>. Serves, like the service,
// GET /v0/auth/oidc/start and POST /v0/auth/oidc; prints "ready" once it listens.

import { createHmac, randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { createLocalJWKSet, type JSONWebKeySet } from 'jose'
import { pageSecurityHeaders } from '../src/http/respond.js'
import { encodeFlow, flowCookieName, flowLifetimeSeconds } from '../src/login/flow-cookie.js'
import { createLoginSecretsSource } from '../src/login/login-secrets.js'
import { checkRedirectTarget } from '../src/login/redirect-target.js'
import { exchangeSchema, type StartQuery, startSchema } from '../src/routes/auth/schemas.js'
import { createExchangeWork } from './exchange-work.js'

const [port, issuer, clientId, publicUrl] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
]

const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
  authorization_endpoint: string
  jwks_uri: string
}
const jwks = (await (await fetch(metadata.jwks_uri)).json()) as JSONWebKeySet
const exchange = await createExchangeWork(createLocalJWKSet(jwks), { issuer, audience: clientId })

const cookieSecret = randomUUID()
const newLoginSecrets = createLoginSecretsSource()
const authorizationUrlPrefix = `${metadata.authorization_endpoint}?${new URLSearchParams({
  client_id: clientId,
  redirect_uri: `${publicUrl}/v0/auth/oidc/callback`,
  response_type: 'code',
  scope: 'openid email profile',
  code_challenge_method: 'S256',
})}`
const noAllowlist = { exact: new Set<string>(), prefixes: [] }

const app = Fastify({ logger: false })

app.get<{ Querystring: StartQuery }>(
  '/v0/auth/oidc/start',
  { schema: startSchema },
  async (request, reply) => {
    const { redirect_uri: redirectUri, state: callerState } = request.query
    if (typeof redirectUri !== 'string' || Array.isArray(callerState)) {
      return reply.code(400).send({ error: 'invalid_request' })
    }
    const check = checkRedirectTarget(redirectUri, noAllowlist)
    if (!check.ok) return reply.code(400).send({ error: 'redirect_uri_not_allowed' })
    const { state, nonce, codeVerifier, codeChallenge } = newLoginSecrets()
    const value = encodeFlow({
      state,
      nonce,
      codeVerifier,
      target: check.target,
      callerState,
      callerCodeChallenge: codeChallenge,
      device: undefined,
      createdAt: Math.floor(Date.now() / 1000),
    })
    const signature = createHmac('sha256', cookieSecret).update(value).digest('base64url')
    return reply
      .headers(pageSecurityHeaders)
      .header(
        'set-cookie',
        `${flowCookieName(state, false)}=${value}.${signature}; Max-Age=${flowLifetimeSeconds}; Path=/; HttpOnly; SameSite=Lax`,
      )
      .redirect(
        `${authorizationUrlPrefix}&state=${state}&nonce=${nonce}&code_challenge=${codeChallenge}`,
        302,
      )
  },
)

app.post<{ Body: { oidc_token: string } }>(
  '/v0/auth/oidc',
  { schema: exchangeSchema },
  async (request, reply) => {
    reply.headers(pageSecurityHeaders)
    return exchange(request.body.oidc_token)
  },
)

await app.listen({ port: Number(port), host: '127.0.0.1' })
process.stdout.write('ready\n')
