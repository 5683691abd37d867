// Provider outages against the real oidc-provider, stopped and restarted on the same port:
// the service starts without it and becomes ready once it is back, keeps serving from cached
// metadata and keys when it goes away later, and bounds every request it makes to it.

import { createServer, type Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { loginUntilCallback } from './helpers/login.js'
import { sampleValue } from './helpers/metrics.js'
import { callbackUrlFor, type RunningService, startService, testEnv } from './helpers/service.js'
import { freePort, startTestProvider, type TestProvider } from './helpers/test-provider.js'
import { statusOf, waitFor } from './helpers/wait.js'

async function metric(
  service: RunningService,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return sampleValue(await service.app.metrics.registry.metrics(), name, labels) ?? 0
}

async function exchange(service: RunningService, idToken: string): Promise<Response> {
  return fetch(`${service.baseUrl}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: idToken }),
  })
}

async function completesLogin(service: RunningService): Promise<number> {
  const { browser, callbackUrl } = await loginUntilCallback(`${service.baseUrl}/v0/auth/oidc/start`)
  const response = await browser.request(callbackUrl, { headers: { accept: 'application/json' } })
  await response.body?.cancel()
  return response.status
}

const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()])
const [downAtStartPort, downLaterPort, kidPort, slowTokenPort, hangingPort] = ports as [
  number,
  number,
  number,
  number,
  number,
]
const provider: TestProvider = await startTestProvider({ redirectUris: ports.map(callbackUrlFor) })
t.teardown(() => provider.close())

t.test('starts with the provider down and becomes ready once it is back', async (t) => {
  await provider.stop()
  t.teardown(() => provider.resume().catch(() => {}))
  const service = await startService(provider, downAtStartPort, {}, { waitForProvider: false })
  t.teardown(() => service.close())
  const { baseUrl } = service

  t.equal(await statusOf(`${baseUrl}/healthz`), 200, '/healthz: the process runs')
  const readyz = await fetch(`${baseUrl}/readyz`)
  t.equal(readyz.status, 503)
  t.same(await readyz.json(), { status: 'provider_unavailable' })
  const start = await fetch(`${baseUrl}/v0/auth/oidc/start`, {
    headers: { accept: 'application/json' },
    redirect: 'manual',
  })
  t.equal(start.status, 503)
  t.equal(((await start.json()) as { error: string }).error, 'provider_unavailable')
  const refused = await exchange(service, 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln')
  t.equal(refused.status, 503, 'the exchange cannot check a token without keys')
  t.equal(await metric(service, 'mcp_registry_oidc_ready'), 0)

  // Capped exponential backoff with jitter: each delay is at least the previous one.
  const retries = await waitFor('three failed discovery attempts', () => {
    const delays = service.logs
      .entries()
      .filter((line) => line.msg === 'provider not reachable')
      .map((line) => line.retryInMs as number)
    return delays.length >= 3 ? delays : undefined
  })
  t.ok(
    retries.every((delay, index) => index === 0 || delay >= (retries[index - 1] as number)),
    `retry delays grow: ${retries.join(', ')} ms`,
  )
  t.ok(
    (await metric(service, 'mcp_registry_oidc_provider_refreshes_total', {
      kind: 'discovery',
      outcome: 'error',
    })) >= 3,
  )

  await provider.resume()
  const back = performance.now()
  await waitFor('ready', async () =>
    (await statusOf(`${baseUrl}/readyz`)) === 200 ? true : undefined,
  )
  t.comment(`ready ${Math.round(performance.now() - back)} ms after the provider came back`)
  t.equal(await metric(service, 'mcp_registry_oidc_ready'), 1)
  t.equal(await completesLogin(service), 200, 'a login completes without a restart')
})

t.test(
  'a provider that goes away after start-up: cached metadata and keys still serve',
  async (t) => {
    const service = await startService(provider, downLaterPort, {
      MCP_REGISTRY_OIDC_PROVIDER_REFRESH_SECONDS: '1',
      MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: '1000',
    })
    t.teardown(() => service.close())
    const { baseUrl } = service
    const idToken = await provider.obtainIdToken()
    const pending = await loginUntilCallback(`${baseUrl}/v0/auth/oidc/start`)

    await provider.stop()
    t.teardown(() => provider.resume().catch(() => {}))
    const failedRefreshes = () =>
      metric(service, 'mcp_registry_oidc_provider_refreshes_total', {
        kind: 'discovery',
        outcome: 'error',
      })
    await waitFor('a failed refresh', async () =>
      (await failedRefreshes()) > 0 ? true : undefined,
    )
    t.match(service.logs.text, /provider refresh failed: keeping the metadata and keys/)

    t.equal(await statusOf(`${baseUrl}/readyz`), 200, 'still ready')
    t.equal(await metric(service, 'mcp_registry_oidc_ready'), 1)
    t.equal(
      (await exchange(service, idToken)).status,
      200,
      'the exchange verifies with cached keys',
    )
    const start = await fetch(`${baseUrl}/v0/auth/oidc/start`, { redirect: 'manual' })
    t.equal(start.status, 302, 'a login still starts from cached metadata')
    await start.body?.cancel()
    const callback = await pending.browser.request(pending.callbackUrl, {
      headers: { accept: 'application/json' },
    })
    t.equal(callback.status, 502, 'a callback that needs the token endpoint fails cleanly')
    t.equal(((await callback.json()) as { error: string }).error, 'token_exchange_failed')

    await provider.resume()
    const okRefreshes = await metric(service, 'mcp_registry_oidc_provider_refreshes_total', {
      kind: 'jwks',
      outcome: 'ok',
    })
    await waitFor('a successful refresh', async () =>
      (await metric(service, 'mcp_registry_oidc_provider_refreshes_total', {
        kind: 'jwks',
        outcome: 'ok',
      })) > okRefreshes
        ? true
        : undefined,
    )
    t.equal(await completesLogin(service), 200, 'logins complete again')
  },
)

t.test('an unknown kid fetches the keys again at most once per cooldown', async (t) => {
  const service = await startService(provider, kidPort)
  t.teardown(() => service.close())
  const jwksRequests = () =>
    metric(service, 'mcp_registry_oidc_provider_request_duration_seconds_count', {
      endpoint: 'jwks',
      outcome: 'ok',
    })
  t.equal(await jwksRequests(), 1, 'loaded once at start-up')
  const forged = await Promise.all(
    Array.from({ length: 25 }, (_, index) => provider.signIdToken({}, { kid: `unknown-${index}` })),
  )
  const answers = await Promise.all(forged.map((token) => exchange(service, token)))
  t.same(
    answers.map((answer) => answer.status),
    forged.map(() => 401),
    'every token with an unknown kid is refused',
  )
  t.equal(await jwksRequests(), 2, 'twenty-five unknown kids: one refetch')
  const later = await exchange(service, await provider.signIdToken({}, { kid: 'unknown-later' }))
  t.equal(later.status, 401)
  t.equal(await jwksRequests(), 2, 'within the cooldown: none')
  t.equal((await exchange(service, await provider.obtainIdToken())).status, 200, 'known kid: fine')
})

t.test('the provider is first contacted once the port is open', async (t) => {
  // A "provider" that only counts the connections made to it.
  let connections = 0
  const counting = createServer((socket) => {
    connections++
    socket.destroy()
  })
  await new Promise<void>((resolve) => counting.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => counting.close(resolve)))
  const issuer = `http://127.0.0.1:${(counting.address() as { port: number }).port}`
  const port = await freePort()
  const app = await buildApp(testEnv({ ...provider, issuer }, port))
  t.teardown(() => app.close())
  await app.ready()
  // Ample time for a connection opened while the app was built (or readied) to arrive.
  await delay(300)
  t.equal(connections, 0, 'nothing reaches the provider before the service listens')
  await app.listen({ port, host: '127.0.0.1' })
  await waitFor('discovery', () => (connections > 0 ? true : undefined))
  t.pass('discovery starts once it listens')
})

t.test('every request to the provider has a deadline', async (t) => {
  // A "provider" that accepts connections and never answers.
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => silent.listen(hangingPort, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })
  const hanging = await startService(
    { ...provider, issuer: `http://127.0.0.1:${hangingPort}` },
    await freePort(),
    { MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: '200' },
    { waitForProvider: false },
  )
  t.teardown(() => hanging.close())
  await waitFor('two timed-out discovery attempts', () =>
    hanging.logs
      .entries()
      .filter((line) => /no complete answer within 200 ms/.test(String(line.reason))).length >= 2
      ? true
      : undefined,
  )
  t.equal(await statusOf(`${hanging.baseUrl}/readyz`), 503)
  t.ok(
    (await metric(hanging, 'mcp_registry_oidc_provider_request_duration_seconds_count', {
      endpoint: 'discovery',
      outcome: 'failed',
    })) >= 2,
  )

  // The token endpoint: a login whose code exchange never gets an answer ends in 502.
  const service = await startService(provider, slowTokenPort, {
    MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: '500',
  })
  t.teardown(() => service.close())
  const { browser, callbackUrl } = await loginUntilCallback(`${service.baseUrl}/v0/auth/oidc/start`)
  let release: () => void = () => {}
  provider.tokenEndpointGate = () => new Promise<void>((resolve) => (release = resolve))
  t.teardown(() => {
    provider.tokenEndpointGate = undefined
    release()
  })
  const callback = await browser.request(callbackUrl, { headers: { accept: 'application/json' } })
  t.equal(callback.status, 502)
  t.equal(((await callback.json()) as { error: string }).error, 'token_exchange_failed')
  t.equal(
    await metric(service, 'mcp_registry_oidc_logins_failed_total', {
      step: 'callback',
      error: 'token_exchange_failed',
    }),
    1,
  )
})
