// A programmable, misbehaving OpenID provider for adversarial tests: plain node:http and jose on
// 127.0.0.1, driven scenario by scenario.
//
// The real provider (test-provider.ts) serves the normal flows. This one produces what a real
// provider never would: crafted ID tokens, a foreign or missing `iss` in the authorization
// response, token endpoint faults (500, HTML, no id_token, silence, a stalled or 10 MB body, a
// reset connection) and hostile key sets. Its discovery document advertises every algorithm,
// `none` and HS256 included, so the relying party's own rules are what refuses them.
//
// It behaves correctly by default: the authorization endpoint checks client and redirect_uri and
// redirects back with `code`, `state` and `iss`; the token endpoint checks HTTP Basic client
// authentication, the PKCE verifier, the redirect_uri and single use of the code, and answers a
// valid ID token carrying the nonce of the authorization request. Tests change `jwks`,
// `signingKey`, `authorizationAnswer` or `tokenEndpoint`, and call `reset()` afterwards.

import { createHash, createHmac, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { CompactSign, type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose'
import { listenOnLoopback } from './test-provider.js'

export type AsymmetricAlg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA'

export interface SigningKey {
  readonly alg: AsymmetricAlg
  readonly kid: string
  /** As the JWKS publishes it: with kid, alg and use. */
  readonly publicJwk: JWK
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
}

export async function createSigningKey(alg: AsymmetricAlg, kid?: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const keyId = kid ?? `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`
  const publicJwk = { ...(await exportJWK(publicKey)), kid: keyId, alg, use: 'sig' }
  return { alg, kid: keyId, publicJwk, privateKey, publicKey }
}

export interface AuthorizationRequest {
  readonly clientId: string
  readonly redirectUri: string
  readonly state: string | undefined
  readonly nonce: string | undefined
  readonly codeChallenge: string | undefined
  readonly codeChallengeMethod: string | undefined
  readonly scope: string | undefined
  /** The code this request was answered with. */
  readonly code: string
}

/** Query parameters of the redirect back to the client; undefined ones are left out, arrays repeat. */
export type AuthorizationAnswer = Record<string, string | readonly string[] | undefined>

export type TokenEndpointFault =
  /** 500 with a JSON error body */
  | 'status_500'
  /** 200 with an HTML page, as a captive portal or a misrouted proxy would */
  | 'html_200'
  /** 200 JSON with an access token but no id_token */
  | 'no_id_token'
  /** the request is accepted and never answered */
  | 'no_answer'
  /** status and headers, then a body that never ends */
  | 'stalled_body'
  /** a 10 MB body without Content-Length (chunked) */
  | 'huge_body'
  /** a 10 MB body announced by its Content-Length */
  | 'huge_declared_body'
  /** the connection is closed without an answer */
  | 'connection_reset'

export interface TokenContext {
  readonly authorization: AuthorizationRequest
  /** Valid ID-token claims for this login (nonce included); an override set to undefined removes the claim. */
  claims(overrides?: Record<string, unknown>): Record<string, unknown>
}

export type TokenBehaviour =
  | { readonly fault: TokenEndpointFault }
  | { readonly idToken: (context: TokenContext) => string | Promise<string> }

export interface TokenCall {
  readonly code: string | undefined
  /** HTTP Basic client authentication with the right secret. */
  readonly authenticated: boolean
  /** The code_verifier matches the S256 challenge of the authorization request. */
  readonly pkceVerified: boolean
}

export interface SignOptions {
  /** Defaults to `signingKey`. */
  key?: SigningKey
  /** Merged over `{alg, typ: 'JWT', kid}`; a member set to undefined is removed (e.g. `kid`). */
  header?: Record<string, unknown>
}

export interface MisbehavingProvider {
  /** http://127.0.0.1:PORT/realms/Test: a path with capitals, so case changes are visible */
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  /** The key valid tokens are signed with. */
  signingKey: SigningKey
  /** What the JWKS endpoint serves: keys (their public JWK) and raw entries of any shape. */
  jwks: Array<SigningKey | Record<string, unknown>>
  /** Turns the well-behaved answer (code, state, iss) into the one sent back. */
  authorizationAnswer: (
    request: AuthorizationRequest,
    standard: AuthorizationAnswer,
  ) => AuthorizationAnswer
  tokenEndpoint: TokenBehaviour
  readonly authorizationRequests: readonly AuthorizationRequest[]
  readonly tokenCalls: readonly TokenCall[]
  readonly jwksFetches: number
  /** A key set served on the attacker's behalf (`jku`/`x5u` targets); nobody may fetch it. */
  readonly attackerJwksUrl: string
  attackerJwks: JWK[]
  readonly attackerFetches: number
  /**
   * Every secret value it issued or received: codes, ID and access tokens, PKCE verifiers, nonces,
   * the client secret. Tests add the tokens they craft themselves.
   */
  readonly secrets: Set<string>
  /** Signs `claims` as they are (undefined members dropped), with an asymmetric key. */
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>
  /** Back to the well-behaved defaults: the initial keys, standard answers. Recorded calls stay. */
  reset(): void
  close(): Promise<void>
}

export interface MisbehavingProviderOptions {
  /** redirect URIs registered for the client */
  redirectUris: readonly string[]
  /** Merged over the discovery document; a member set to undefined is removed. */
  discovery?: Record<string, unknown>
  /** The key set at start (and after reset); the first signs. Default: one new RS256 key. */
  keys?: readonly SigningKey[]
}

const TEN_MB = 10 * 1024 * 1024
const maxRequestBytes = 64 * 1024

/** A JWT with `alg: none` and no signature (RFC 7519 section 6). */
export function unsecuredJwt(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  return `${b64uJson({ alg: 'none', typ: 'JWT', ...header })}.${b64uJson(claims)}.`
}

/** An HS256 JWT keyed with `secret`: a client secret, or a public key's PEM (key confusion). */
export function hmacJwt(
  claims: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = {},
): string {
  const input = `${b64uJson({ alg: 'HS256', typ: 'JWT', ...header })}.${b64uJson(claims)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

export function publicKeyPem(key: SigningKey): Promise<string> {
  return exportSPKI(key.publicKey)
}

function b64uJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

const random = (bytes = 24) => randomBytes(bytes).toString('base64url')

function withoutUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(text)
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > maxRequestBytes) throw new Error('request body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** RFC 6749 section 2.3.1: HTTP Basic over the form-urlencoded id and secret. */
function basicCredentials(header: string | undefined): [string, string] | undefined {
  if (!header?.startsWith('Basic ')) return undefined
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return undefined
  const formDecode = (value: string) => decodeURIComponent(value.replaceAll('+', ' '))
  return [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))]
}

export async function startMisbehavingProvider(
  options: MisbehavingProviderOptions,
): Promise<MisbehavingProvider> {
  const server = createServer()
  const origin = `http://127.0.0.1:${await listenOnLoopback(server)}`
  const issuerPath = '/realms/Test'
  const issuer = `${origin}${issuerPath}`
  const clientId = 'hostile-test-client'
  const clientSecret = `secret-${random()}`

  const discovery = withoutUndefined({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['public'],
    scopes_supported: ['openid', 'email', 'profile'],
    id_token_signing_alg_values_supported: [
      'RS256',
      'PS256',
      'ES256',
      'ES384',
      'EdDSA',
      'HS256',
      'none',
    ],
    token_endpoint_auth_methods_supported: ['client_secret_basic'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    ...options.discovery,
  })

  const initialKeys = options.keys ?? [await createSigningKey('RS256')]
  const firstKey = initialKeys[0]
  if (firstKey === undefined) throw new Error('startMisbehavingProvider: keys is empty')
  const standardTokens: TokenBehaviour = {
    idToken: (context) => provider.sign(context.claims()),
  }
  const codes = new Map<string, AuthorizationRequest>()
  const authorizationRequests: AuthorizationRequest[] = []
  const tokenCalls: TokenCall[] = []
  const secrets = new Set<string>([clientSecret])
  const counters = { jwksFetches: 0, attackerFetches: 0 }

  function claimsFor(request: AuthorizationRequest, overrides: Record<string, unknown> = {}) {
    const now = Math.floor(Date.now() / 1000)
    return withoutUndefined({
      iss: issuer,
      aud: clientId,
      sub: 'alice',
      email: 'alice@example.com',
      email_verified: true,
      iat: now,
      exp: now + 300,
      nonce: request.nonce,
      ...overrides,
    })
  }

  function authorize(url: URL, res: ServerResponse): void {
    const query = url.searchParams
    const redirectUri = query.get('redirect_uri') ?? ''
    if (query.get('client_id') !== clientId || !options.redirectUris.includes(redirectUri)) {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'unknown client' })
      return
    }
    const code = random()
    const request: AuthorizationRequest = {
      clientId,
      redirectUri,
      state: query.get('state') ?? undefined,
      nonce: query.get('nonce') ?? undefined,
      codeChallenge: query.get('code_challenge') ?? undefined,
      codeChallengeMethod: query.get('code_challenge_method') ?? undefined,
      scope: query.get('scope') ?? undefined,
      code,
    }
    for (const value of [code, request.nonce]) if (value) secrets.add(value)
    codes.set(code, request)
    authorizationRequests.push(request)
    const answer = provider.authorizationAnswer(request, {
      code,
      state: request.state,
      iss: issuer,
    })
    const target = new URL(redirectUri)
    for (const [name, value] of Object.entries(answer)) {
      const values: readonly (string | undefined)[] = Array.isArray(value) ? value : [value]
      for (const item of values) if (item !== undefined) target.searchParams.append(name, item)
    }
    res.writeHead(302, { location: target.href, 'cache-control': 'no-store' })
    res.end()
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req))
    const code = form.get('code') ?? undefined
    const verifier = form.get('code_verifier') ?? undefined
    if (verifier) secrets.add(verifier)
    const credentials = basicCredentials(req.headers.authorization)
    const authenticated = credentials?.[0] === clientId && credentials[1] === clientSecret
    const authorization = code === undefined ? undefined : codes.get(code)
    // A code is good once, whatever happens next.
    if (code !== undefined) codes.delete(code)
    const pkceVerified =
      authorization?.codeChallengeMethod === 'S256' &&
      verifier !== undefined &&
      createHash('sha256').update(verifier).digest('base64url') === authorization.codeChallenge
    tokenCalls.push({ code, authenticated, pkceVerified })

    if (!authenticated) return sendJson(res, 401, { error: 'invalid_client' })
    if (
      authorization === undefined ||
      !pkceVerified ||
      form.get('grant_type') !== 'authorization_code' ||
      form.get('redirect_uri') !== authorization.redirectUri
    ) {
      return sendJson(res, 400, { error: 'invalid_grant' })
    }

    const behaviour = provider.tokenEndpoint
    if ('fault' in behaviour) return fault(behaviour.fault, req, res)
    const idToken = await behaviour.idToken({
      authorization,
      claims: (overrides) => claimsFor(authorization, overrides),
    })
    const accessToken = random()
    secrets.add(idToken)
    secrets.add(accessToken)
    sendJson(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 300,
      id_token: idToken,
    })
  }

  function fault(kind: TokenEndpointFault, req: IncomingMessage, res: ServerResponse): void {
    const json = { 'content-type': 'application/json' }
    switch (kind) {
      case 'status_500':
        sendJson(res, 500, { error: 'server_error' })
        return
      case 'html_200':
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('<!doctype html><title>Maintenance</title><p>Back soon.</p>')
        return
      case 'no_id_token':
        sendJson(res, 200, { access_token: random(), token_type: 'Bearer' })
        return
      case 'no_answer':
        return
      case 'stalled_body':
        res.writeHead(200, json)
        res.write('{"access_token":"')
        return
      case 'huge_body': {
        res.writeHead(200, json)
        const megabyte = Buffer.alloc(1024 * 1024, 'a')
        for (let written = 0; written < TEN_MB; written += megabyte.length) res.write(megabyte)
        res.end()
        return
      }
      case 'huge_declared_body':
        res.writeHead(200, { ...json, 'content-length': String(TEN_MB) })
        res.end(Buffer.alloc(TEN_MB, 'a'))
        return
      case 'connection_reset':
        req.socket.destroy()
        return
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin)
    // Clients that gave up leave writes with nowhere to go; that is expected here.
    res.on('error', () => {})
    switch (`${req.method} ${url.pathname}`) {
      case `GET ${issuerPath}/.well-known/openid-configuration`:
        return sendJson(res, 200, discovery)
      case `GET ${issuerPath}/jwks`:
        counters.jwksFetches++
        return sendJson(res, 200, {
          keys: provider.jwks.map((key) => ('publicJwk' in key ? key.publicJwk : key)),
        })
      case `GET ${issuerPath}/authorize`:
        return authorize(url, res)
      case `POST ${issuerPath}/token`:
        return token(req, res)
      case 'GET /attacker/jwks':
        counters.attackerFetches++
        return sendJson(res, 200, { keys: provider.attackerJwks })
      default:
        return sendJson(res, 404, { error: 'not_found' })
    }
  }

  server.on('request', (req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { error: 'test_provider_failure', detail: String(error) })
    })
  })

  const provider: MisbehavingProvider = {
    issuer,
    clientId,
    clientSecret,
    signingKey: firstKey,
    jwks: [...initialKeys],
    authorizationAnswer: (_request, standard) => standard,
    tokenEndpoint: standardTokens,
    authorizationRequests,
    tokenCalls,
    get jwksFetches() {
      return counters.jwksFetches
    },
    attackerJwksUrl: `${origin}/attacker/jwks`,
    attackerJwks: [],
    get attackerFetches() {
      return counters.attackerFetches
    },
    secrets,

    async sign(claims, signOptions = {}) {
      const key = signOptions.key ?? provider.signingKey
      const header = withoutUndefined({
        alg: key.alg,
        typ: 'JWT',
        kid: key.kid,
        ...signOptions.header,
      }) as { alg: string; crit?: string[] }
      // jose refuses to sign unknown critical extensions unless told they are understood.
      const crit = Array.isArray(header.crit)
        ? Object.fromEntries(header.crit.map((name) => [name, true]))
        : undefined
      const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader(header)
        .sign(key.privateKey, crit ? { crit } : undefined)
      secrets.add(jwt)
      return jwt
    },

    reset() {
      provider.signingKey = firstKey
      provider.jwks = [...initialKeys]
      provider.authorizationAnswer = (_request, standard) => standard
      provider.tokenEndpoint = standardTokens
      provider.attackerJwks = []
    },

    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
  return provider
}
