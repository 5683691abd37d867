// Prometheus metrics on METRICS_PORT: a listener of their own, one registry per instance.

import t from 'tap'
import { buildApp } from '../src/app.js'
import { describeStartupError } from '../src/config/config.js'
import { loginUntilCallback } from './helpers/login.js'
import { sampleValue } from './helpers/metrics.js'
import { callbackUrlFor, startService, testEnv } from './helpers/service.js'
import { freePort, startTestProvider } from './helpers/test-provider.js'

const ports = await Promise.all([freePort(), freePort()])
const [port, otherPort] = ports as [number, number]
const provider = await startTestProvider({ redirectUris: ports.map(callbackUrlFor) })
t.teardown(() => provider.close())

t.test('metrics are served on their own port, never on the service port', async (t) => {
  const metricsPort = await freePort()
  const service = await startService(provider, port, { METRICS_PORT: String(metricsPort) })
  t.teardown(() => service.close())
  // A second instance in the same process: registries are per instance.
  const other = await startService(provider, otherPort, { METRICS_PORT: String(await freePort()) })
  t.teardown(() => other.close())
  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    t.equal(response.status, 200)
    t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
    return response.text()
  }

  const good = await loginUntilCallback(`${service.baseUrl}/v0/auth/oidc/start`)
  await (await good.browser.request(good.callbackUrl)).body?.cancel()
  const replay = await good.browser.request(good.callbackUrl, {
    headers: { accept: 'application/json' },
  })
  t.equal(replay.status, 400)
  const refusedStart = await fetch(
    `${service.baseUrl}/v0/auth/oidc/start?redirect_uri=https%3A%2F%2Fevil.example%2F`,
    { headers: { accept: 'application/json' } },
  )
  t.equal(refusedStart.status, 400)
  const exchange = (token: string) =>
    fetch(`${service.baseUrl}/v0/auth/oidc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ oidc_token: token }),
    })
  t.equal((await exchange(await provider.obtainIdToken())).status, 200)
  t.equal((await exchange('not-a-token')).status, 401)

  const page = await scrape()
  const value = (name: string, labels?: Record<string, string>) =>
    sampleValue(page, `mcp_registry_oidc_${name}`, labels)
  t.equal(value('logins_started_total'), 1)
  t.equal(value('logins_completed_total'), 1)
  t.equal(value('logins_failed_total', { step: 'callback', error: 'flow_cookie_missing' }), 1)
  t.equal(value('logins_failed_total', { step: 'start', error: 'redirect_uri_not_allowed' }), 1)
  t.equal(value('exchanges_total', { outcome: 'ok' }), 1)
  t.equal(value('exchanges_total', { outcome: 'id_token_invalid' }), 1)
  t.equal(value('ready'), 1)
  t.equal(value('provider_refreshes_total', { kind: 'discovery', outcome: 'ok' }), 1)
  t.equal(value('provider_refreshes_total', { kind: 'jwks', outcome: 'ok' }), 1)
  for (const endpoint of ['discovery', 'jwks', 'token']) {
    t.equal(
      value('provider_request_duration_seconds_count', { endpoint, outcome: 'ok' }),
      1,
      `one ${endpoint} request, timed`,
    )
  }
  t.ok(
    value('http_request_duration_seconds_count', {
      method: 'GET',
      route: '/v0/auth/oidc/callback',
      status_code: '200',
    }),
  )
  t.ok(sampleValue(page, 'process_cpu_user_seconds_total') !== undefined, 'process metrics')

  const otherPage = await (
    await fetch(`http://127.0.0.1:${other.app.config.metricsPort}/metrics`)
  ).text()
  t.equal(
    sampleValue(otherPage, 'mcp_registry_oidc_logins_started_total'),
    0,
    'the other instance counts its own',
  )
  t.equal((await fetch(`${service.baseUrl}/metrics`)).status, 404, 'not on the service port')
})

t.test('METRICS_PORT=0 turns the listener off; it may not be PORT', async (t) => {
  const app = await buildApp(testEnv(provider, port, { METRICS_PORT: '0' }))
  t.teardown(() => app.close())
  t.equal(app.config.metricsPort, undefined)
  const line = await buildApp(testEnv(provider, port, { METRICS_PORT: String(port) })).then(
    () => 'started',
    describeStartupError,
  )
  t.match(line, /METRICS_PORT must differ from PORT/)
})

t.test('a metrics port already taken fails the start-up', async (t) => {
  const service = await startService(provider, port, { METRICS_PORT: String(await freePort()) })
  t.teardown(() => service.close())
  const taken = String(service.app.config.metricsPort)
  const app = await buildApp(testEnv(provider, otherPort, { METRICS_PORT: taken }))
  await t.rejects(app.listen({ port: otherPort, host: '127.0.0.1' }), { code: 'EADDRINUSE' })
  await app.close()
})
