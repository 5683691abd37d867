// The service's logs at LOG_LEVEL=trace, after full logins, an exchange and failures: one line
// per outcome with what an operator needs, request ids that follow a request, and not one of
// the secrets that went through the service.

import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { decodeFlow } from '../src/login/flow-cookie.js'
import { flowCookie, loginUntilCallback } from './helpers/login.js'
import {
  callbackUrlFor,
  startService,
  testCookieSecret,
  testSigningSeedHex,
} from './helpers/service.js'
import { freePort, startTestProvider } from './helpers/test-provider.js'

const port = await freePort()
const provider = await startTestProvider({ redirectUris: [callbackUrlFor(port)] })
t.teardown(() => provider.close())
const service = await startService(provider, port, { LOG_LEVEL: 'trace' })
t.teardown(() => service.close())
const base = service.baseUrl
const startUrl = `${base}/v0/auth/oidc/start`

/** Every secret value the service handled; none may appear in its logs. */
const secrets = new Map<string, string>([
  ['client secret', provider.clientSecret],
  ['signing key', testSigningSeedHex],
  ['cookie secret', testCookieSecret],
])

/** Runs a login up to the callback and records its code, cookie, nonce and PKCE verifier. */
async function recordedLogin(label: string, start = startUrl) {
  const login = await loginUntilCallback(start)
  const [, cookieValue] = flowCookie(login.browser, base)
  const flow = decodeFlow(cookieValue.slice(0, cookieValue.lastIndexOf('.')))
  secrets.set(`${label}: code`, login.callbackUrl.searchParams.get('code') as string)
  secrets.set(`${label}: flow cookie`, cookieValue)
  secrets.set(`${label}: PKCE verifier`, flow?.codeVerifier as string)
  secrets.set(`${label}: nonce`, flow?.nonce as string)
  return login
}

function outcomeLines(): Array<Record<string, unknown>> {
  return service.logs.entries().filter((line) => typeof line.event === 'string')
}

t.test('a login and an exchange, each logged once with its outcome', async (t) => {
  const login = await recordedLogin('login')
  const callback = await login.browser.request(login.callbackUrl, {
    headers: { accept: 'application/json', 'x-request-id': 'edge-7f3a9c' },
  })
  t.equal(callback.status, 200)
  t.equal(callback.headers.get('x-request-id'), 'edge-7f3a9c', 'the request id is echoed')
  const { registry_token: loginToken } = (await callback.json()) as { registry_token: string }
  secrets.set('login: registry token', loginToken)

  const target = 'http://127.0.0.1:53682/done'
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  secrets.set('redirected login: caller PKCE verifier', verifier)
  const redirected = await recordedLogin(
    'redirected login',
    `${startUrl}?redirect_uri=${encodeURIComponent(target)}&state=caller-state&code_challenge=${challenge}&code_challenge_method=S256`,
  )
  const toTarget = await redirected.browser.request(redirected.callbackUrl)
  t.equal(toTarget.status, 302)
  const location = new URL(toTarget.headers.get('location') as string)
  const code = location.searchParams.get('code') as string
  secrets.set('redirected login: loopback code', code)
  const redeemed = await fetch(`${base}/v0/auth/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, code_verifier: verifier }),
  })
  t.equal(redeemed.status, 200)
  const { registry_token: redirectedToken } = (await redeemed.json()) as { registry_token: string }
  secrets.set('redirected login: registry token', redirectedToken)

  const idToken = await provider.obtainIdToken()
  secrets.set('exchange: ID token', idToken)
  const exchange = await fetch(`${base}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'ci-job-42' },
    body: JSON.stringify({ oidc_token: idToken }),
  })
  t.equal(exchange.status, 200)
  const { registry_token: exchanged } = (await exchange.json()) as { registry_token: string }
  secrets.set('exchange: registry token', exchanged)

  const completed = outcomeLines().find((line) => line.reqId === 'edge-7f3a9c')
  t.match(completed, {
    level: 30,
    event: 'login_completed',
    provider: provider.issuer,
    sub: 'alice',
    req: { method: 'GET', path: '/v0/auth/oidc/callback' },
    res: { statusCode: 200 },
    msg: 'login completed',
  })
  t.equal(
    service.logs.entries().filter((line) => line.reqId === 'edge-7f3a9c').length,
    1,
    'one line for the callback',
  )
  t.match(
    outcomeLines().find((line) => line.reqId === 'ci-job-42'),
    { event: 'exchange_completed', sub: 'alice', provider: provider.issuer },
  )
  const started = outcomeLines().filter((line) => line.event === 'login_started')
  t.equal(started.length, 2)
  t.ok(
    started.every((line) => line.level === 20),
    'a started login is logged at debug: its outcome is the callback',
  )
})

t.test('failures carry their error code and reason', async (t) => {
  const tampered = await recordedLogin('tampered')
  const [name, value] = flowCookie(tampered.browser, base)
  tampered.browser.setCookie(base, name, `${value.slice(0, -2)}xx`)
  const refused = await tampered.browser.request(tampered.callbackUrl, {
    headers: { accept: 'application/json' },
  })
  t.equal(refused.status, 400)
  const requestId = refused.headers.get('x-request-id')
  t.match(requestId, /^[0-9a-f-]{36}$/, 'a generated request id')
  t.match(
    outcomeLines().find((line) => line.reqId === requestId),
    {
      event: 'login_failed',
      error: 'flow_cookie_invalid',
      reason: String,
      provider: provider.issuer,
    },
  )

  const replayed = await recordedLogin('replayed')
  await (await replayed.browser.request(replayed.callbackUrl)).body?.cancel()
  await (await replayed.browser.request(replayed.callbackUrl)).body?.cancel()

  const denied = await recordedLogin('provider error')
  const errorUrl = new URL(denied.callbackUrl)
  errorUrl.searchParams.set('error', 'access_denied')
  await (await denied.browser.request(errorUrl)).body?.cancel()
  t.ok(outcomeLines().some((line) => line.error === 'idp_error'))

  const badToken = await provider.signIdToken({ aud: 'someone-else' })
  secrets.set('refused ID token', badToken)
  const exchange = await fetch(`${base}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: badToken }),
  })
  t.equal(exchange.status, 401)
  t.match(outcomeLines().at(-1), { event: 'exchange_failed', error: 'id_token_invalid' })
})

t.test('an unsafe incoming request id is replaced', async (t) => {
  for (const unsafe of ['a'.repeat(65), 'two words', 'semi;colon', '{"json":1}']) {
    const response = await fetch(`${base}/healthz`, { headers: { 'x-request-id': unsafe } })
    t.not(response.headers.get('x-request-id'), unsafe)
    t.match(response.headers.get('x-request-id'), /^[0-9a-f-]{36}$/)
  }
})

t.test('at trace level, no secret reaches the logs', async (t) => {
  const text = service.logs.text
  t.ok(service.logs.lines.length > 10, `${service.logs.lines.length} lines written`)
  for (const [label, secret] of secrets) {
    t.ok(secret && secret.length >= 16, `${label} was recorded`)
    t.notOk(text.includes(secret), `no ${label}`)
  }
  t.notMatch(text, /eyJ[\w-]{10,}\.[\w-]{10,}/, 'no JWT at all')
})
