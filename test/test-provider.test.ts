import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
} from 'jose'
import * as client from 'openid-client'
import t from 'tap'
import { TestBrowser } from './helpers/browser.js'
import { freePort, startTestProvider, type TestProvider } from './helpers/test-provider.js'

const port = await freePort()
const redirectUri = `http://127.0.0.1:${port}/v0/auth/oidc/callback`
const op: TestProvider = await startTestProvider({ redirectUris: [redirectUri] })
t.teardown(() => op.close())

const discovered = (await (
  await fetch(`${op.issuer}/.well-known/openid-configuration`)
).json()) as Record<string, unknown>
const jwks = createRemoteJWKSet(new URL(discovered.jwks_uri as string))

async function verify(idToken: string, audience = op.clientId) {
  const { payload, protectedHeader } = await jwtVerify(idToken, jwks, {
    issuer: op.issuer,
    audience,
    algorithms: ['RS256'],
  })
  return { payload, protectedHeader }
}

const atCallback = (url: URL) => url.href.startsWith(`${redirectUri}?`)

async function authorize(browser: TestBrowser, clientId = op.clientId) {
  const config = await client.discovery(
    new URL(op.issuer),
    clientId,
    clientId === op.clientId ? op.clientSecret : op.otherClientSecret,
    undefined,
    { execute: [client.allowInsecureRequests] },
  )
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })
  const end = await browser.followUntil(url, atCallback)
  return { config, verifier, state, nonce, end }
}

t.test('discovery', async (t) => {
  t.equal(discovered.issuer, op.issuer)
  t.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(discovered.authorization_response_iss_parameter_supported, true)
  t.same(discovered.code_challenge_methods_supported, ['S256'])
  t.ok((discovered.id_token_signing_alg_values_supported as string[]).includes('RS256'))
  const keys = (await (await fetch(discovered.jwks_uri as string)).json()) as { keys: unknown[] }
  t.same(keys.keys, [op.publicJwk], 'the JWKS publishes exactly publicJwk')
  t.ok(op.publicJwk.kid)
  t.equal(op.privateJwk.kid, op.publicJwk.kid)
  t.notOk('d' in op.publicJwk)
})

t.test('obtainIdToken returns a real ID token with the account claims', async (t) => {
  const before = op.tokenRequests
  const idToken = await op.obtainIdToken()
  t.equal(op.tokenRequests, before + 1)
  const { payload, protectedHeader } = await verify(idToken)
  t.equal(protectedHeader.alg, 'RS256')
  t.equal(protectedHeader.kid, op.publicJwk.kid)
  t.match(payload, {
    iss: op.issuer,
    aud: op.clientId,
    sub: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    hd: 'example.com',
    groups: ['registry-publishers', 'engineering'],
    name: 'Alice Example',
  })
  t.type(payload.nonce, 'string')
})

t.test('obtainIdToken for the other client has aud=otherClientId', async (t) => {
  const idToken = await op.obtainIdToken({ clientId: op.otherClientId })
  const { payload } = await verify(idToken, op.otherClientId)
  t.equal(payload.aud, op.otherClientId)
  t.equal(payload.sub, 'alice')
})

t.test('obtainIdToken as a given account', async (t) => {
  const { payload } = await verify(await op.obtainIdToken({ account: 'mallory' }))
  t.match(payload, {
    sub: 'mallory',
    email: 'mallory@evil.test',
    hd: 'evil.test',
    groups: ['guests'],
  })
  t.equal(op.loginAs, 'alice', 'loginAs untouched')
})

t.test('manual authorization request ends at the redirect_uri with code, state, iss', async (t) => {
  const browser = new TestBrowser()
  const { config, verifier, state, nonce, end } = await authorize(browser)
  t.equal(end.response, undefined, 'the redirect_uri is not requested')
  t.equal(`${end.url.origin}${end.url.pathname}`, redirectUri)
  t.ok(end.url.searchParams.get('code'))
  t.equal(end.url.searchParams.get('state'), state)
  t.equal(end.url.searchParams.get('iss'), op.issuer)
  const jar = browser.cookies(op.issuer)
  t.ok(jar.has('_session'), 'session cookie kept')
  t.notOk(jar.has('_interaction_resume'), 'resume cookie was deleted by the provider')

  const tokens = await client.authorizationCodeGrant(config, end.url, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  })
  const { payload } = await verify(tokens.id_token as string)
  t.equal(payload.nonce, nonce, 'nonce echoed')
  t.equal(payload.sub, 'alice')

  // a second login in the same browser needs no interaction at all
  const again = await authorize(browser)
  t.ok(again.end.url.searchParams.get('code'))
})

t.test('PKCE is required', async (t) => {
  const url = new URL(`${op.issuer}/auth`)
  url.search = new URLSearchParams({
    client_id: op.clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid',
    state: 'xyz',
  }).toString()
  const { url: end } = await new TestBrowser().followUntil(url, atCallback)
  t.equal(end.searchParams.get('error'), 'invalid_request')
  t.equal(end.searchParams.get('state'), 'xyz')
})

t.test('tokenResponseHook replaces the next token response body, once', async (t) => {
  const browser = new TestBrowser()
  const forged = await op.signIdToken({ sub: 'forged' })
  let seen: Record<string, unknown> | undefined
  op.tokenResponseHook = (body) => {
    seen = body
    return { ...body, id_token: forged }
  }
  const exchange = async () => {
    const { verifier, end } = await authorize(browser)
    const response = await fetch(`${op.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${op.clientId}:${op.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: end.url.searchParams.get('code') as string,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    })
    t.equal(response.status, 200)
    return (await response.json()) as Record<string, unknown>
  }
  const before = op.tokenRequests
  const first = await exchange()
  t.equal(first.id_token, forged, 'id_token replaced')
  t.type(seen?.id_token, 'string', 'the hook saw the original body')
  t.not(seen?.id_token, forged)
  t.equal(op.tokenResponseHook, undefined, 'hook reset after use')
  const second = await exchange()
  t.not(second.id_token, forged, 'only the next response is touched')
  t.equal((await verify(second.id_token as string)).payload.sub, 'alice')
  t.equal(op.tokenRequests, before + 2, 'token requests counted')
})

t.test('loginAs switches the account, even in a browser signed in as someone else', async (t) => {
  t.teardown(() => {
    op.loginAs = 'alice'
  })
  op.loginAs = 'mallory'
  const { payload } = await verify(await op.obtainIdToken())
  t.match(payload, {
    sub: 'mallory',
    email: 'mallory@evil.test',
    email_verified: true,
    hd: 'evil.test',
    groups: ['guests'],
  })
  t.notOk('name' in payload)

  const browser = new TestBrowser()
  op.loginAs = 'alice'
  const asAlice = await authorize(browser)
  op.loginAs = 'mallory'
  const asMallory = await authorize(browser)
  t.ok(asMallory.end.url.searchParams.get('code'), 'flow completed')
  const tokens = await client.authorizationCodeGrant(asMallory.config, asMallory.end.url, {
    pkceCodeVerifier: asMallory.verifier,
    expectedState: asMallory.state,
    expectedNonce: asMallory.nonce,
  })
  t.equal((await verify(tokens.id_token as string)).payload.sub, 'mallory')
  t.ok(asAlice.end.url.searchParams.get('code'))
})

t.test('accounts are read live', async (t) => {
  const alice = op.accounts.get('alice')
  t.ok(alice)
  if (alice === undefined) return
  const groups = alice.groups
  t.teardown(() => {
    alice.groups = groups
  })
  alice.groups = ['changed']
  t.same((await verify(await op.obtainIdToken())).payload.groups, ['changed'])
})

t.test('signIdToken', async (t) => {
  const local = createLocalJWKSet({ keys: [op.publicJwk] })
  const now = Math.floor(Date.now() / 1000)

  const plain = await op.signIdToken({ email: 'x@example.com' })
  const { payload, protectedHeader } = await jwtVerify(plain, local, {
    issuer: op.issuer,
    audience: op.clientId,
  })
  t.same(protectedHeader, { alg: 'RS256', kid: op.publicJwk.kid })
  t.equal(payload.sub, 'alice')
  t.equal(payload.email, 'x@example.com')
  t.ok(Math.abs((payload.iat as number) - now) <= 2)
  t.ok((payload.exp as number) > now)

  const overridden = await op.signIdToken({
    iss: 'https://evil.test',
    aud: ['a', 'b'],
    exp: undefined,
    sub: 'bob',
  })
  const parts = JSON.parse(Buffer.from(overridden.split('.')[1] as string, 'base64url').toString())
  t.equal(parts.iss, 'https://evil.test')
  t.same(parts.aud, ['a', 'b'])
  t.equal(parts.sub, 'bob')
  t.notOk('exp' in parts, 'undefined deletes a default')

  const ps = await op.signIdToken({}, { alg: 'PS256' })
  t.equal(
    (await jwtVerify(ps, await importJWK(op.publicJwk, 'PS256'))).protectedHeader.alg,
    'PS256',
  )

  const otherKid = await op.signIdToken({}, { kid: 'unknown-kid' })
  t.equal(decodeProtectedHeader(otherKid).kid, 'unknown-kid')
  await t.rejects(jwtVerify(otherKid, local))

  const hs = await op.signIdToken({}, { alg: 'HS256' })
  t.same(decodeProtectedHeader(hs), { alg: 'HS256' })
  await jwtVerify(hs, new TextEncoder().encode(op.clientSecret), { issuer: op.issuer })

  const none = await op.signIdToken({}, { alg: 'none' })
  t.ok(none.endsWith('.'))
  t.same(decodeProtectedHeader(none), { alg: 'none' })
})

t.test('TestBrowser cookie jar', async (t) => {
  const browser = new TestBrowser()
  browser.setCookie('http://127.0.0.1:1234/some/path', 'a', '1')
  t.same([...browser.cookies('http://127.0.0.1:1234')], [['a', '1']])
  t.equal(browser.cookies('http://127.0.0.1:1235').size, 0, 'ports matter')
  browser.deleteCookie('http://127.0.0.1:1234', 'a')
  t.equal(browser.cookies('http://127.0.0.1:1234').size, 0)
})
