import { createHash, randomBytes } from 'node:crypto'
import { generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { decodeFlow, encodeFlow } from '../src/login/flow-cookie.js'
import { flowCookie, loginUntilCallback } from './helpers/login.js'
import { registryPublicKey } from './helpers/registry-key.js'
import { verifyRegistryToken } from './helpers/registry-token.js'
import {
  callbackUrlFor,
  type RunningService,
  startService,
  testSigningSeedHex,
} from './helpers/service.js'
import { freePort, startTestProvider, type TestProvider } from './helpers/test-provider.js'

const registryKey = registryPublicKey(testSigningSeedHex)

const ports = await Promise.all([freePort(), freePort(), freePort()])
const [mainPort, strictPort, disabledPort] = ports as [number, number, number]
const provider: TestProvider = await startTestProvider({ redirectUris: ports.map(callbackUrlFor) })
t.teardown(() => provider.close())

const service: RunningService = await startService(provider, mainPort, {
  MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST:
    'https://app.example.com/after-login,https://tools.example.com/cb/*',
})
t.teardown(() => service.close())
const base = service.baseUrl

function html(): Record<string, string> {
  return { accept: 'text/html,application/xhtml+xml' }
}

async function errorOf(response: Response): Promise<{ status: number; error: string }> {
  const body = (await response.json()) as { error: string }
  return { status: response.status, error: body.error }
}

t.test('a browser login ends on the token page', async (t) => {
  const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
  t.equal(callbackUrl.origin, base)
  t.ok(callbackUrl.searchParams.get('code'))
  t.equal(callbackUrl.searchParams.get('iss'), provider.issuer, 'RFC 9207 iss parameter')
  const response = await browser.request(callbackUrl, { headers: html() })
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /text\/html/)
  t.equal(response.headers.get('cache-control'), 'no-store')
  t.equal(response.headers.get('referrer-policy'), 'no-referrer')
  t.equal(response.headers.get('x-content-type-options'), 'nosniff')
  t.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/)
  const page = await response.text()
  const token = /eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(page)?.[0]
  t.ok(token, 'the page shows the token')
  const claims = await verifyRegistryToken(token as string, registryKey)
  t.equal(claims.auth_method_sub, 'alice')
  t.same(claims.permissions, [
    { action: 'publish', resource: 'com.example/*' },
    { action: 'edit', resource: 'com.example/*' },
  ])
  t.equal(browser.cookies(base).size, 0, 'the flow cookie is cleared')
})

t.test('a JSON client gets the token as JSON', async (t) => {
  const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
  const response = await browser.request(callbackUrl, { headers: { accept: 'application/json' } })
  t.equal(response.status, 200)
  const body = (await response.json()) as { registry_token: string; expires_at: number }
  const claims = await verifyRegistryToken(body.registry_token, registryKey)
  t.equal(body.expires_at, claims.exp)
  t.equal(claims.exp - claims.iat, 300)
})

t.test(
  'a loopback target receives a code and the caller state, redeemed with the verifier',
  async (t) => {
    const target = 'http://127.0.0.1:53682/callback?from=cli'
    const verifier = randomBytes(32).toString('base64url')
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    const start = `${base}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(target)}&state=caller-state-42&code_challenge=${challenge}&code_challenge_method=S256`
    const { browser, callbackUrl } = await loginUntilCallback(start)
    t.not(
      callbackUrl.searchParams.get('state'),
      'caller-state-42',
      'the provider sees our own state',
    )
    const response = await browser.request(callbackUrl)
    t.equal(response.status, 302)
    const location = new URL(response.headers.get('location') as string)
    t.equal(`${location.origin}${location.pathname}`, 'http://127.0.0.1:53682/callback')
    t.same(
      [...location.searchParams.keys()],
      ['from', 'code', 'state'],
      'the caller parameters, a code and the state: no token',
    )
    t.equal(location.searchParams.get('from'), 'cli')
    t.equal(location.searchParams.get('state'), 'caller-state-42')
    const code = location.searchParams.get('code') as string

    const redeemed = await fetch(`${base}/v0/auth/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, code_verifier: verifier }),
    })
    t.equal(redeemed.status, 200)
    t.equal(redeemed.headers.get('cache-control'), 'no-store')
    const body = (await redeemed.json()) as { registry_token: string; expires_at: number }
    t.same(Object.keys(body), ['registry_token', 'expires_at'])
    const claims = await verifyRegistryToken(body.registry_token, registryKey)
    t.equal(claims.exp, body.expires_at)

    const form = await fetch(`${base}/v0.1/auth/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
      }).toString(),
    })
    t.equal(form.status, 200, 'the OAuth form spelling, under /v0.1, within the minute: again')
    t.same(await form.json(), body, 'the same sealed token')
  },
)

t.test('an allow-listed target receives the token in the fragment only', async (t) => {
  const target = 'https://tools.example.com/cb/done'
  const start = `${base}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(target)}&state=s1`
  const { browser, callbackUrl } = await loginUntilCallback(start)
  const response = await browser.request(callbackUrl)
  t.equal(response.status, 302)
  const location = new URL(response.headers.get('location') as string)
  t.equal(location.search, '')
  const fragment = new URLSearchParams(location.hash.slice(1))
  t.ok(fragment.get('registry_token'))
  t.equal(fragment.get('state'), 's1')
})

t.test('the /v0.1 prefix serves the same flow', async (t) => {
  const start = await fetch(`${base}/v0.1/auth/oidc/start`, { redirect: 'manual' })
  t.equal(start.status, 302)
  const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0.1/auth/oidc/start`)
  const v01Callback = new URL(callbackUrl)
  v01Callback.pathname = '/v0.1/auth/oidc/callback'
  const response = await browser.request(v01Callback, { headers: { accept: 'application/json' } })
  t.equal(response.status, 200)
  const token = await provider.obtainIdToken()
  const exchange = await fetch(`${base}/v0.1/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: token }),
  })
  t.equal(exchange.status, 200)
})

t.test('the authorization request carries state, nonce and PKCE', async (t) => {
  const response = await fetch(`${base}/v0/auth/oidc/start`, { redirect: 'manual' })
  t.equal(response.status, 302)
  const location = new URL(response.headers.get('location') as string)
  t.equal(location.origin, provider.issuer)
  const query = location.searchParams
  t.equal(query.get('client_id'), provider.clientId)
  t.equal(query.get('redirect_uri'), `${base}/v0/auth/oidc/callback`)
  t.equal(query.get('response_type'), 'code')
  t.equal(query.get('scope'), 'openid email profile')
  t.equal(query.get('code_challenge_method'), 'S256')
  t.match(query.get('code_challenge'), /^[\w-]{43}$/)
  t.match(query.get('state'), /^[\w-]{43}$/)
  t.match(query.get('nonce'), /^[\w-]{43}$/)
  for (const name of new Set(query.keys())) t.equal(query.getAll(name).length, 1, `one ${name}`)
  const setCookie = response.headers.get('set-cookie') as string
  t.match(setCookie, /HttpOnly/i)
  t.match(setCookie, /SameSite=Lax/i)
  t.match(setCookie, /Max-Age=600/)
  t.notMatch(setCookie, /Secure/, 'http PUBLIC_URL: no Secure attribute')
})

t.test('the exchange endpoint turns a provider ID token into a registry token', async (t) => {
  const token = await provider.obtainIdToken()
  const response = await fetch(`${base}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: token }),
  })
  t.equal(response.status, 200)
  const body = (await response.json()) as { registry_token: string; expires_at: number }
  t.same(Object.keys(body).sort(), ['expires_at', 'registry_token'])
  const claims = await verifyRegistryToken(body.registry_token, registryKey)
  t.equal(claims.auth_method, 'oidc')
  t.equal(claims.auth_method_sub, 'alice')
})

t.test('callback failures', async (t) => {
  t.test('no cookie', async (t) => {
    const { callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
    const before = provider.tokenRequests
    const response = await fetch(callbackUrl)
    t.same(await errorOf(response), { status: 400, error: 'flow_cookie_missing' })
    t.equal(provider.tokenRequests, before, 'the provider was not asked')
  })

  t.test('tampered cookie', async (t) => {
    const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
    const [name, value] = flowCookie(browser, base)
    const flipped = `${value.slice(0, 10)}${value[10] === 'A' ? 'B' : 'A'}${value.slice(11)}`
    browser.setCookie(base, name, flipped)
    t.same(await errorOf(await browser.request(callbackUrl)), {
      status: 400,
      error: 'flow_cookie_invalid',
    })
  })

  t.test('expired cookie, validly signed', async (t) => {
    const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
    const [name, value] = flowCookie(browser, base)
    const unsigned = service.app.unsignCookie(decodeURIComponent(value))
    const flow = decodeFlow(unsigned.value as string)
    t.ok(flow)
    const old = encodeFlow({
      ...(flow as NonNullable<typeof flow>),
      createdAt: Math.floor(Date.now() / 1000) - 601,
    })
    browser.setCookie(base, name, encodeURIComponent(service.app.signCookie(old)))
    t.same(await errorOf(await browser.request(callbackUrl)), {
      status: 400,
      error: 'flow_expired',
    })
  })

  t.test('state mismatch', async (t) => {
    const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
    callbackUrl.searchParams.set('state', 'another-state-entirely')
    t.same(await errorOf(await browser.request(callbackUrl)), {
      status: 400,
      error: 'state_mismatch',
    })
  })

  t.test('provider error=access_denied is shown escaped', async (t) => {
    const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
    const denied = new URL(callbackUrl.pathname, base)
    denied.searchParams.set('error', 'access_denied')
    denied.searchParams.set('error_description', '<script>alert(1)</script>')
    denied.searchParams.set('state', callbackUrl.searchParams.get('state') as string)
    const response = await browser.request(denied, { headers: html() })
    t.equal(response.status, 400)
    const page = await response.text()
    t.match(page, 'idp_error')
    t.notMatch(page, '<script>alert(1)')
    t.match(page, '&lt;script&gt;alert(1)&lt;/script&gt;')
  })

  t.test('wrong nonce', async (t) => {
    const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
    const [name, value] = flowCookie(browser, base)
    const flow = decodeFlow(service.app.unsignCookie(decodeURIComponent(value)).value as string)
    const forged = encodeFlow({
      ...(flow as NonNullable<typeof flow>),
      nonce: 'not-the-nonce-we-sent',
    })
    browser.setCookie(base, name, encodeURIComponent(service.app.signCookie(forged)))
    t.same(await errorOf(await browser.request(callbackUrl)), {
      status: 401,
      error: 'id_token_invalid',
    })
  })

  t.test('bad ID-token signature from the token endpoint', async (t) => {
    const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
    provider.tokenResponseHook = (body) => {
      const idToken = String(body.id_token)
      const [header, payload, signature] = idToken.split('.') as [string, string, string]
      const bad = `${signature.slice(0, -4)}${signature.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`
      return { ...body, id_token: `${header}.${payload}.${bad}` }
    }
    t.same(await errorOf(await browser.request(callbackUrl)), {
      status: 401,
      error: 'id_token_invalid',
    })
  })

  t.test('a replayed callback URL', async (t) => {
    const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
    t.equal(
      (await browser.request(callbackUrl, { headers: { accept: 'application/json' } })).status,
      200,
    )
    t.same(await errorOf(await browser.request(callbackUrl)), {
      status: 400,
      error: 'flow_cookie_missing',
    })
  })
})

t.test('exchange failures', async (t) => {
  async function exchange(oidcToken: string) {
    return errorOf(
      await fetch(`${base}/v0/auth/oidc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ oidc_token: oidcToken }),
      }),
    )
  }
  const invalid = { status: 401, error: 'id_token_invalid' }
  const now = Math.floor(Date.now() / 1000)

  t.same(
    await exchange(await provider.signIdToken({ aud: 'someone-else' })),
    invalid,
    'wrong audience',
  )
  t.same(
    await exchange(await provider.signIdToken({ iat: now - 7200, exp: now - 3600 })),
    invalid,
    'expired',
  )
  t.same(await exchange(await provider.signIdToken({}, { alg: 'none' })), invalid, 'alg none')
  t.same(
    await exchange(await provider.signIdToken({}, { alg: 'HS256' })),
    invalid,
    'HS256 with the client secret',
  )
  const foreignKey = await generateKeyPair('RS256')
  const foreign = await new SignJWT({ sub: 'alice', aud: provider.clientId, iss: provider.issuer })
    .setProtectedHeader({ alg: 'RS256', kid: provider.publicJwk.kid as string })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(foreignKey.privateKey)
  t.same(await exchange(foreign), invalid, 'bad signature')
  t.same(
    await exchange(await provider.obtainIdToken({ clientId: provider.otherClientId })),
    invalid,
    'another client',
  )

  const malformed = await fetch(`${base}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"oidc_token":',
  })
  t.same(await errorOf(malformed), { status: 400, error: 'invalid_request' }, 'bad JSON')
  const wrongShape = await fetch(`${base}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: 42 }),
  })
  t.same(await errorOf(wrongShape), { status: 400, error: 'invalid_request' }, 'bad shape')
  const huge = await fetch(`${base}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: 'x'.repeat(17 * 1024) }),
  })
  t.same(await errorOf(huge), { status: 413, error: 'payload_too_large' }, 'over 16 KiB')
})

t.test('disallowed redirect targets are refused without a redirect', async (t) => {
  const refused = [
    'https://evil.example/cb',
    'javascript:alert(1)',
    '//evil.example/cb',
    'http://127.0.0.2:8080/cb',
    'http://127.0.0.1:8080@evil.example/cb',
    'http://evil.example@127.0.0.1:8080/cb',
  ]
  for (const target of refused) {
    const before = provider.tokenRequests
    const response = await fetch(
      `${base}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(target)}`,
      {
        redirect: 'manual',
      },
    )
    t.equal(response.status, 400, target)
    t.equal(response.headers.get('location'), null, `${target}: no redirect`)
    t.equal(response.headers.get('set-cookie'), null, `${target}: no cookie`)
    t.equal(((await response.json()) as { error: string }).error, 'redirect_uri_not_allowed')
    t.equal(provider.tokenRequests, before)
  }
})

t.test('policy', async (t) => {
  const strict = await startService(provider, strictPort, {
    MCP_REGISTRY_OIDC_EXTRA_CLAIMS: JSON.stringify([
      { hd: 'example.com' },
      { groups: 'registry-publishers' },
    ]),
  })
  t.teardown(() => strict.close())

  const allowed = await loginUntilCallback(`${strict.baseUrl}/v0/auth/oidc/start`)
  const ok = await allowed.browser.request(allowed.callbackUrl, {
    headers: { accept: 'application/json' },
  })
  t.equal(ok.status, 200, 'alice matches hd and groups')

  provider.loginAs = 'mallory'
  t.teardown(() => {
    provider.loginAs = 'alice'
  })
  const denied = await loginUntilCallback(`${strict.baseUrl}/v0/auth/oidc/start`)
  t.same(await errorOf(await denied.browser.request(denied.callbackUrl)), {
    status: 403,
    error: 'claims_not_allowed',
  })
  const malloryToken = await provider.obtainIdToken({ account: 'mallory' })
  const exchange = await fetch(`${strict.baseUrl}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: malloryToken }),
  })
  t.same(await errorOf(exchange), { status: 403, error: 'claims_not_allowed' })
  t.notMatch(strict.logs.text, 'evil.test', 'the refusal log does not repeat claim values')
})

t.test('blocked namespace, and a disabled service', async (t) => {
  const blocked = await startService(provider, disabledPort, {
    MCP_REGISTRY_BLOCKED_NAMESPACES: 'com.example',
  })
  const login = await loginUntilCallback(`${blocked.baseUrl}/v0/auth/oidc/start`)
  t.same(await errorOf(await login.browser.request(login.callbackUrl)), {
    status: 403,
    error: 'namespace_blocked',
  })
  await blocked.close()

  const disabled = await startService(provider, disabledPort, {
    MCP_REGISTRY_OIDC_ENABLED: 'false',
  })
  t.teardown(() => disabled.close())
  for (const path of ['/v0/auth/oidc/start', '/v0.1/auth/oidc/callback', '/v0/auth/oidc']) {
    t.same(
      await errorOf(await fetch(`${disabled.baseUrl}${path}`)),
      { status: 404, error: 'oidc_disabled' },
      path,
    )
  }
  t.equal((await fetch(`${disabled.baseUrl}/healthz`)).status, 200)
})

t.test('operations endpoints', async (t) => {
  t.equal((await fetch(`${base}/healthz`)).status, 200)
  t.equal((await fetch(`${base}/readyz`)).status, 200)
  const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as {
    keys: Array<Record<string, string>>
  }
  t.equal(jwks.keys.length, 1)
  t.match(jwks.keys[0], {
    kty: 'OKP',
    crv: 'Ed25519',
    alg: 'EdDSA',
    use: 'sig',
    x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  })
  t.ok(jwks.keys[0]?.kid)
})

t.test('logs carry no secrets', async (t) => {
  const text = service.logs.text
  t.notMatch(text, /eyJ[\w-]{10,}\.[\w-]{10,}/, 'no JWT')
  t.notMatch(text, provider.clientSecret)
  t.notMatch(text, testSigningSeedHex)
  t.notMatch(text, /code=/)
  t.notMatch(text, /mcp_oidc_flow_\w+=/)
})
