// A real OpenID Provider (oidc-provider 9) for tests, listening on 127.0.0.1 with a random port.
//
// Interactions are automatic: GET /interaction/:uid logs the browser in as `loginAs` (or as the
// account named by a `login_hint` the provider knows) and consents to whatever was requested, then
// 303s back to the authorization endpoint, so any client that follows redirects and keeps cookies
// ends at the client's redirect_uri with `code`, `state` and `iss`.

import { createHmac, createPrivateKey, type JsonWebKey, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { Server as NetServer } from 'node:net'
import { CompactSign, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import * as client from 'openid-client'
import {
  type CheckContext,
  EMAIL_CLAIMS,
  forgetSession,
  grantConsent,
  type KoaContext,
  loadOidcProvider,
  PROFILE_CLAIMS,
  sharedConfiguration,
} from '../../dev/oidc-provider.js'
import { TestBrowser } from './browser.js'

export interface TestAccount {
  sub: string
  email: string
  email_verified: boolean
  hd?: string
  groups?: string[]
  name?: string
  [claim: string]: unknown
}

export interface TestProvider {
  /** http://127.0.0.1:<port>, exactly the issuer that discovery returns */
  readonly issuer: string
  /** confidential client; client_secret_basic and client_secret_post both work */
  readonly clientId: string
  readonly clientSecret: string
  /** a second confidential client of the same provider, same redirect URIs */
  readonly otherClientId: string
  readonly otherClientSecret: string
  /** a public client (token_endpoint_auth_method none, PKCE only), same redirect URIs */
  readonly publicClientId: string
  /** the RS256 key the provider signs ID tokens with (kid set) */
  readonly publicJwk: JWK
  readonly privateJwk: JWK
  /** accounts by sub (= oidc-provider accountId); mutable, read live at every token request */
  readonly accounts: Map<string, TestAccount>
  /** the account (sub) the next interaction logs in as; default 'alice' */
  loginAs: string
  /** replaces the NEXT token endpoint JSON body (whatever its status), then resets itself */
  tokenResponseHook: ((body: Record<string, unknown>) => Record<string, unknown>) | undefined
  /** number of requests the token endpoint received */
  tokenRequests: number
  /** awaited before the token endpoint answers each request (a slow provider); undefined: no wait */
  tokenEndpointGate: (() => Promise<void>) | undefined
  /**
   * Signs a JWT. Defaults iss=issuer, aud=clientId, sub=loginAs, iat=now, exp=now+300; a claim set to
   * `undefined` removes the default. alg RS256/RS384/RS512/PS256/PS384/PS512 use the provider's key,
   * HS256/HS384/HS512 use clientSecret (as OIDC allows for HS* ID tokens), 'none' gives an unsecured
   * JWT. kid defaults to the provider key's kid for RS and PS (no kid otherwise); pass kid to override.
   */
  signIdToken(
    claims: Record<string, unknown>,
    header?: { alg?: string; kid?: string },
  ): Promise<string>
  /** runs a real authorization code flow (PKCE S256, state, nonce) as a plain RP; returns the id_token */
  obtainIdToken(options?: { clientId?: string; account?: string }): Promise<string>
  /** an outage: stops listening and drops every connection; `resume` brings it back on the same port */
  stop(): Promise<void>
  resume(): Promise<void>
  close(): Promise<void>
}

export interface StartTestProviderOptions {
  /** redirect URIs registered for every client (at least one) */
  redirectUris: string[]
  /** replaces the default accounts (alice, mallory) */
  accounts?: TestAccount[]
  /**
   * claim names the provider may put in ID tokens besides the standard ones, hd and groups.
   * Keys of the initial accounts are declared automatically; only claims a test adds later to
   * an account need listing here (oidc-provider only emits declared claims).
   */
  extraClaims?: string[]
}

export const DEFAULT_ACCOUNTS: readonly TestAccount[] = Object.freeze([
  {
    sub: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    hd: 'example.com',
    groups: ['registry-publishers', 'engineering'],
    name: 'Alice Example',
  },
  {
    sub: 'mallory',
    email: 'mallory@evil.test',
    email_verified: true,
    hd: 'evil.test',
    groups: ['guests'],
  },
])

const RSA_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'])
const HMAC_ALGS = new Map([
  ['HS256', 'sha256'],
  ['HS384', 'sha384'],
  ['HS512', 'sha512'],
])

/** Listens on 127.0.0.1 on a port the system picks, and returns that port. */
export async function listenOnLoopback(server: NetServer): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

export { freePort } from './free-port.js'

export async function startTestProvider(options: StartTestProviderOptions): Promise<TestProvider> {
  if (options.redirectUris.length === 0) throw new Error('startTestProvider: redirectUris is empty')
  const { Provider, interactionPolicy } = await loadOidcProvider()

  const accounts = new Map<string, TestAccount>()
  for (const account of options.accounts ?? DEFAULT_ACCOUNTS) {
    accounts.set(account.sub, structuredClone(account))
  }

  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  publicJwk.kid = await calculateJwkThumbprint(publicJwk)
  publicJwk.alg = 'RS256'
  publicJwk.use = 'sig'
  const privateJwk = {
    ...(await exportJWK(privateKey)),
    kid: publicJwk.kid,
    alg: 'RS256',
    use: 'sig',
  }
  // a KeyObject, unlike the CryptoKey, signs with every RS* and PS* algorithm
  const signingKey = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' })

  const server = createServer()
  const issuer = `http://127.0.0.1:${await listenOnLoopback(server)}`

  const random = () => randomBytes(24).toString('base64url')
  const clientId = 'test-client'
  const clientSecret = `secret-${random()}`
  const otherClientId = 'other-client'
  const otherClientSecret = `secret-${random()}`
  const publicClientId = 'public-client'
  const secrets = new Map<string, string | undefined>([
    [clientId, clientSecret],
    [otherClientId, otherClientSecret],
    [publicClientId, undefined],
  ])

  const customClaims = new Set(['hd', 'groups', ...(options.extraClaims ?? [])])
  for (const account of accounts.values()) {
    for (const name of Object.keys(account)) customClaims.add(name)
  }
  for (const name of ['sub', ...EMAIL_CLAIMS, ...PROFILE_CLAIMS]) customClaims.delete(name)

  // state shared with the returned object
  const state = {
    loginAs: 'alice',
    tokenResponseHook: undefined as TestProvider['tokenResponseHook'],
    tokenRequests: 0,
    tokenEndpointGate: undefined as TestProvider['tokenEndpointGate'],
  }
  const accountFor = (params: Record<string, unknown>): string => {
    const hint = params.login_hint
    return typeof hint === 'string' && accounts.has(hint) ? hint : state.loginAs
  }

  const policy = interactionPolicy.base()
  policy.get('login')?.checks.add(
    new interactionPolicy.Check(
      'test_login_as',
      'the test wants another account than the one signed in',
      (ctx: CheckContext) => {
        const current = ctx.oidc.session.accountId
        return current !== undefined && current !== accountFor(ctx.oidc.params)
      },
    ),
  )

  const clientBase = {
    redirect_uris: options.redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }
  const provider = new Provider(issuer, {
    ...sharedConfiguration(policy),
    jwks: { keys: [privateJwk] },
    clients: [
      {
        ...clientBase,
        client_id: clientId,
        client_secret: clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        ...clientBase,
        client_id: otherClientId,
        client_secret: otherClientSecret,
        token_endpoint_auth_method: 'client_secret_post',
      },
      { ...clientBase, client_id: publicClientId, token_endpoint_auth_method: 'none' },
    ],
    claims: {
      openid: ['sub', ...customClaims],
      email: EMAIL_CLAIMS,
      profile: PROFILE_CLAIMS,
    },
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    findAccount: async (_ctx: unknown, id: string) => {
      const account = accounts.get(id)
      if (account === undefined) return undefined
      return {
        accountId: id,
        claims: async () => structuredClone(accounts.get(id) ?? account),
      }
    },
    renderError: async (ctx: KoaContext, out: Record<string, unknown>) => {
      ctx.type = 'json'
      ctx.body = out
    },
    clientBasedCORS: () => true,
  })

  const tokenPath = new URL(provider.urlFor('token')).pathname

  // token endpoint bookkeeping and tampering
  provider.use(async (ctx, next) => {
    if (ctx.path !== tokenPath) return next()
    state.tokenRequests++
    await state.tokenEndpointGate?.()
    await next()
    const hook = state.tokenResponseHook
    if (hook !== undefined && ctx.body !== null && typeof ctx.body === 'object') {
      state.tokenResponseHook = undefined
      ctx.body = hook(structuredClone(ctx.body as Record<string, unknown>))
    }
  })

  // automatic interactions: no forms, log in as the wanted account and grant what is asked
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next()
    try {
      const interaction = await provider.interactionDetails(ctx.req, ctx.res)
      const { prompt, params } = interaction
      let returnTo: string
      if (prompt.name === 'login') {
        const accountId = accountFor(params)
        await forgetSession(provider, ctx, interaction)
        returnTo = await provider.interactionResult(
          ctx.req,
          ctx.res,
          { login: { accountId } },
          { mergeWithLastSubmission: false },
        )
      } else if (prompt.name === 'consent') {
        returnTo = await grantConsent(provider, ctx, interaction)
      } else {
        throw new Error(`unsupported prompt ${prompt.name}`)
      }
      ctx.redirect(returnTo)
      ctx.status = 303
      ctx.set('Cache-Control', 'no-store')
    } catch (error) {
      ctx.status = 400
      ctx.type = 'json'
      ctx.body = {
        error: 'interaction_failed',
        error_description: error instanceof Error ? error.message : String(error),
      }
    }
  })

  server.on('request', provider.callback())

  const configs = new Map<string, Promise<client.Configuration>>()
  const rpConfig = (id: string): Promise<client.Configuration> => {
    let config = configs.get(id)
    if (config === undefined) {
      if (!secrets.has(id)) throw new Error(`obtainIdToken: unknown client ${id}`)
      const secret = secrets.get(id)
      config = client.discovery(
        new URL(issuer),
        id,
        secret,
        secret === undefined ? client.None() : client.ClientSecretBasic(secret),
        { execute: [client.allowInsecureRequests] },
      )
      configs.set(id, config)
      config.catch(() => configs.delete(id))
    }
    return config
  }

  const testProvider: TestProvider = {
    issuer,
    clientId,
    clientSecret,
    otherClientId,
    otherClientSecret,
    publicClientId,
    publicJwk,
    privateJwk,
    accounts,
    get loginAs() {
      return state.loginAs
    },
    set loginAs(value: string) {
      state.loginAs = value
    },
    get tokenResponseHook() {
      return state.tokenResponseHook
    },
    set tokenResponseHook(value) {
      state.tokenResponseHook = value
    },
    get tokenRequests() {
      return state.tokenRequests
    },
    set tokenRequests(value: number) {
      state.tokenRequests = value
    },
    get tokenEndpointGate() {
      return state.tokenEndpointGate
    },
    set tokenEndpointGate(value) {
      state.tokenEndpointGate = value
    },

    async signIdToken(claims, header = {}) {
      const alg = header.alg ?? 'RS256'
      const now = Math.floor(Date.now() / 1000)
      const payload: Record<string, unknown> = {
        iss: issuer,
        aud: clientId,
        sub: accounts.get(state.loginAs)?.sub ?? state.loginAs,
        iat: now,
        exp: now + 300,
        ...claims,
      }
      for (const [key, value] of Object.entries(payload)) {
        if (value === undefined) delete payload[key]
      }
      const kid = 'kid' in header ? header.kid : RSA_ALGS.has(alg) ? privateJwk.kid : undefined
      const protectedHeader: Record<string, string> = { alg }
      if (kid !== undefined) protectedHeader.kid = kid
      const bytes = new TextEncoder().encode(JSON.stringify(payload))
      if (RSA_ALGS.has(alg)) {
        return new CompactSign(bytes)
          .setProtectedHeader(protectedHeader as { alg: string })
          .sign(signingKey)
      }
      const signingInput = `${b64u(JSON.stringify(protectedHeader))}.${b64u(JSON.stringify(payload))}`
      const hash = HMAC_ALGS.get(alg)
      if (hash !== undefined) {
        const mac = createHmac(hash, clientSecret).update(signingInput).digest('base64url')
        return `${signingInput}.${mac}`
      }
      if (alg === 'none') return `${signingInput}.`
      throw new Error(`signIdToken: unsupported alg ${alg}`)
    },

    async obtainIdToken(opts = {}) {
      const id = opts.clientId ?? clientId
      const config = await rpConfig(id)
      const redirectUri = options.redirectUris[0] as string
      const codeVerifier = client.randomPKCECodeVerifier()
      const expectedState = client.randomState()
      const expectedNonce = client.randomNonce()
      const parameters: Record<string, string> = {
        redirect_uri: redirectUri,
        scope: 'openid email profile',
        state: expectedState,
        nonce: expectedNonce,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      }
      if (opts.account !== undefined) {
        if (!accounts.has(opts.account))
          throw new Error(`obtainIdToken: no account ${opts.account}`)
        parameters.login_hint = opts.account
      }
      const start = client.buildAuthorizationUrl(config, parameters)
      const target = new URL(redirectUri)
      const atRedirect = (url: URL) =>
        url.origin === target.origin && url.pathname === target.pathname
      const { url, response } = await new TestBrowser().followUntil(start, atRedirect)
      if (response !== undefined) {
        throw new Error(`obtainIdToken: flow ended at ${url.href} with ${response.status}`)
      }
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: codeVerifier,
        expectedState,
        expectedNonce,
        idTokenExpected: true,
      })
      if (tokens.id_token === undefined) throw new Error('obtainIdToken: no id_token')
      return tokens.id_token
    },

    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },

    async resume() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(Number(new URL(issuer).port), '127.0.0.1', () => {
          server.off('error', reject)
          resolve()
        })
      })
    },

    close: () => testProvider.stop(),
  }
  return testProvider
}

function b64u(text: string): string {
  return Buffer.from(text).toString('base64url')
}
