// A fast OpenID provider for the benchmark, in its own process on 127.0.0.1.
//
// It does what a provider does for a login — discovery, JWKS, an authorization endpoint that
// binds a code to the client, redirect URI, PKCE challenge and nonce, and a token endpoint that
// checks client authentication, redirect URI and PKCE verifier — but it signs each login's RS256
// ID token at the authorization endpoint, before any measurement starts. Its token endpoint then
// answers from memory, so a measured callback costs the provider a hash and a lookup, and the
// figures show the cost of the service (or of the peer), not of the provider.
//
// Unlike a real provider it accepts a code more than once: the benchmark cycles through a pool
// of pre-issued logins. The services under test keep no server-side state, so a repeated
// callback costs them exactly what a fresh one does.
//
// Usage: node provider-stub.js <port> <clients JSON: [{ id, secret, redirectUris }]>
// Prints "ready" on stdout once it listens.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'

export interface StubClient {
  readonly id: string
  readonly secret: string
  readonly redirectUris: readonly string[]
}

interface IssuedCode {
  readonly clientId: string
  readonly redirectUri: string
  readonly codeChallenge: string
  readonly tokenResponse: string
}

const [portArgument, clientsArgument] = process.argv.slice(2)
const port = Number(portArgument)
const clients = new Map(
  (JSON.parse(clientsArgument ?? '[]') as StubClient[]).map((client) => [client.id, client]),
)
const issuer = `http://127.0.0.1:${port}`
const idTokenLifetimeSeconds = 600

const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 })
const publicJwk = await exportJWK(publicKey)
const kid = await calculateJwkThumbprint(publicJwk)
const jwks = JSON.stringify({ keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] })

const discovery = JSON.stringify({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  jwks_uri: `${issuer}/jwks`,
  response_types_supported: ['code'],
  response_modes_supported: ['query'],
  grant_types_supported: ['authorization_code'],
  subject_types_supported: ['public'],
  id_token_signing_alg_values_supported: ['RS256'],
  token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  code_challenge_methods_supported: ['S256'],
  scopes_supported: ['openid', 'email', 'profile'],
  claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'email', 'email_verified'],
  authorization_response_iss_parameter_supported: true,
})

const codes = new Map<string, IssuedCode>()
let subjects = 0

function signIdToken(audience: string, nonce: string | undefined): Promise<string> {
  subjects += 1
  const claims: Record<string, unknown> = {
    email: `user${subjects}@example.com`,
    email_verified: true,
  }
  if (nonce !== undefined) claims.nonce = nonce
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(`user${subjects}`)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${idTokenLifetimeSeconds}s`)
    .sign(privateKey)
}

function send(
  response: ServerResponse,
  status: number,
  body: string,
  type = 'application/json',
): void {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
  response.end(body)
}

function refuse(response: ServerResponse, status: number, error: string): void {
  send(response, status, JSON.stringify({ error }))
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** client_secret_basic or client_secret_post, as the metadata advertises. */
function authenticatedClient(request: IncomingMessage, form: URLSearchParams): StubClient | null {
  let id = form.get('client_id')
  let secret = form.get('client_secret')
  const authorization = request.headers.authorization
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString()
    const colon = decoded.indexOf(':')
    id = decodeURIComponent(decoded.slice(0, colon))
    secret = decodeURIComponent(decoded.slice(colon + 1))
  }
  const client = id === null ? undefined : clients.get(id)
  return client && secret !== null && sameSecret(client.secret, secret) ? client : null
}

async function authorize(url: URL, response: ServerResponse): Promise<void> {
  const parameters = url.searchParams
  const client = clients.get(parameters.get('client_id') ?? '')
  const redirectUri = parameters.get('redirect_uri') ?? ''
  if (!client?.redirectUris.includes(redirectUri)) {
    return refuse(response, 400, 'invalid_client')
  }
  const codeChallenge = parameters.get('code_challenge')
  const nonce = parameters.get('nonce')
  if (
    parameters.get('response_type') !== 'code' ||
    parameters.get('code_challenge_method') !== 'S256' ||
    !codeChallenge ||
    !nonce ||
    !parameters.get('scope')?.split(' ').includes('openid')
  ) {
    return refuse(response, 400, 'invalid_request')
  }
  const idToken = await signIdToken(client.id, nonce)
  const code = randomBytes(24).toString('base64url')
  codes.set(code, {
    clientId: client.id,
    redirectUri,
    codeChallenge,
    tokenResponse: JSON.stringify({
      access_token: randomBytes(24).toString('base64url'),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: parameters.get('scope'),
      id_token: idToken,
    }),
  })
  const back = new URL(redirectUri)
  back.searchParams.set('code', code)
  const state = parameters.get('state')
  if (state !== null) back.searchParams.set('state', state)
  back.searchParams.set('iss', issuer)
  response.writeHead(302, { location: back.href, 'content-length': 0 })
  response.end()
}

function token(request: IncomingMessage, body: string, response: ServerResponse): void {
  const form = new URLSearchParams(body)
  const client = authenticatedClient(request, form)
  if (!client) {
    refuse(response, 401, 'invalid_client')
    return
  }
  const issued = codes.get(form.get('code') ?? '')
  const verifier = form.get('code_verifier') ?? ''
  if (
    form.get('grant_type') !== 'authorization_code' ||
    !issued ||
    issued.clientId !== client.id ||
    issued.redirectUri !== form.get('redirect_uri') ||
    createHash('sha256').update(verifier).digest('base64url') !== issued.codeChallenge
  ) {
    refuse(response, 400, 'invalid_grant')
    return
  }
  response.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(issued.tokenResponse),
  })
  response.end(issued.tokenResponse)
}

/** An ID token for the exchange scenario: what a CI job would bring along (no nonce). */
async function benchIdToken(url: URL, response: ServerResponse): Promise<void> {
  const audience = url.searchParams.get('aud')
  if (!audience) return refuse(response, 400, 'invalid_request')
  send(response, 200, await signIdToken(audience, undefined), 'application/jwt')
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', issuer)
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    const route = `${request.method} ${url.pathname}`
    const handle = async () => {
      if (route === 'GET /.well-known/openid-configuration') return send(response, 200, discovery)
      if (route === 'GET /jwks') return send(response, 200, jwks, 'application/jwk-set+json')
      if (route === 'GET /authorize') return authorize(url, response)
      if (route === 'POST /token') return token(request, Buffer.concat(chunks).toString(), response)
      if (route === 'GET /bench/id-token') return benchIdToken(url, response)
      return refuse(response, 404, 'not_found')
    }
    handle().catch((error: unknown) => {
      process.stderr.write(`provider stub: ${(error as Error).stack}\n`)
      refuse(response, 500, 'server_error')
    })
  })
})
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'))
