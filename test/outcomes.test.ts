import t from 'tap'
import { loginUntilCallback } from './helpers/login.js'
import { callbackUrlFor, startService } from './helpers/service.js'
import { freePort, startTestProvider } from './helpers/test-provider.js'

// The SPEC's remaining status codes: 400 invalid_request, 415, 502 and 503.

const [port, downPort] = [await freePort(), await freePort()]
const provider = await startTestProvider({ redirectUris: [callbackUrlFor(port)] })
t.teardown(() => provider.close())
const service = await startService(provider, port)
t.teardown(() => service.close())

async function errorOf(response: Response): Promise<{ status: number; error: string }> {
  return { status: response.status, error: ((await response.json()) as { error: string }).error }
}

t.test('a caller state over 512 characters is refused', async (t) => {
  const response = await fetch(`${service.baseUrl}/v0/auth/oidc/start?state=${'s'.repeat(513)}`, {
    redirect: 'manual',
  })
  t.same(await errorOf(response), { status: 400, error: 'invalid_request' })
  t.equal(response.headers.get('set-cookie'), null)
})

t.test('a provider that fails at the token endpoint is a 502', async (t) => {
  const { browser, callbackUrl } = await loginUntilCallback(`${service.baseUrl}/v0/auth/oidc/start`)
  provider.tokenResponseHook = () => ({ error: 'server_error' })
  const response = await browser.request(callbackUrl, { headers: { accept: 'text/html' } })
  t.equal(response.status, 502)
  t.match(await response.text(), 'token_exchange_failed')
})

t.test('the exchange wants JSON', async (t) => {
  const response = await fetch(`${service.baseUrl}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'oidc_token=abc',
  })
  t.same(await errorOf(response), { status: 415, error: 'unsupported_media_type' })
})

t.test('an unreachable provider: alive, not ready, 503 on start', async (t) => {
  const deadIssuer = {
    issuer: `http://127.0.0.1:${await freePort()}`,
    clientId: 'c',
    clientSecret: 's',
  }
  const down = await startService(deadIssuer, downPort, {}, { waitForProvider: false })
  t.teardown(() => down.close())
  t.equal((await fetch(`${down.baseUrl}/healthz`)).status, 200)
  t.equal((await fetch(`${down.baseUrl}/readyz`)).status, 503)
  const start = await fetch(`${down.baseUrl}/v0/auth/oidc/start`, { redirect: 'manual' })
  t.same(await errorOf(start), { status: 503, error: 'provider_unavailable' })
  const exchange = await fetch(`${down.baseUrl}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: 'a.b.c' }),
  })
  t.same(await errorOf(exchange), { status: 503, error: 'provider_unavailable' })
})
