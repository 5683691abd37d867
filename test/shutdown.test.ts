// Graceful shutdown of the real process (src/main.ts): on SIGTERM or SIGINT it stops
// accepting connections, finishes the requests in flight and exits 0; a request that cannot
// finish does not hold the process past its grace period.

import { connect } from 'node:net'
import t, { type Test } from 'tap'
import { loginUntilCallback } from './helpers/login.js'
import { callbackUrlFor, testEnv } from './helpers/service.js'
import { type ServiceProcess, spawnService } from './helpers/service-process.js'
import { freePort, startTestProvider } from './helpers/test-provider.js'
import { acceptsConnections, waitFor } from './helpers/wait.js'

const ports = await Promise.all([freePort(), freePort(), freePort()])
const [slowPort, hungPort, stuckPort] = ports as [number, number, number]
const provider = await startTestProvider({ redirectUris: ports.map(callbackUrlFor) })
t.teardown(() => provider.close())

/**
 * Spawns the service, runs a login up to its callback, holds the provider's token endpoint and
 * sends the callback: resolves once the callback waits on the provider. `release` lets the
 * provider answer.
 */
async function callbackInFlight(
  t: Test,
  port: number,
  overrides: Record<string, string> = {},
): Promise<{ service: ServiceProcess; callback: Promise<Response>; release: () => void }> {
  const service = await spawnService(testEnv(provider, port, overrides))
  t.teardown(() => service.stop('SIGKILL'))
  await service.waitForReady()
  const { browser, callbackUrl } = await loginUntilCallback(`${service.baseUrl}/v0/auth/oidc/start`)
  let release: () => void = () => {}
  const arrived = new Promise<void>((reached) => {
    provider.tokenEndpointGate = () => {
      reached()
      return new Promise<void>((resolve) => {
        release = resolve
      })
    }
  })
  t.teardown(() => {
    provider.tokenEndpointGate = undefined
    release()
  })
  const callback = browser.request(callbackUrl, { headers: { accept: 'application/json' } })
  await arrived
  return { service, callback, release: () => release() }
}

t.test('SIGTERM: a callback waiting on a slow provider completes, then exit 0', async (t) => {
  const { service, callback, release } = await callbackInFlight(t, slowPort)
  const signalled = performance.now()
  process.kill(service.pid, 'SIGTERM')
  await waitFor('the listener to close', async () =>
    (await acceptsConnections(slowPort)) ? undefined : true,
  )
  t.pass('new connections are refused while the callback is in flight')
  // The provider answers a second after the signal.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (performance.now() - signalled)))
  release()

  const response = await callback
  const answered = performance.now()
  t.equal(response.status, 200, 'the callback in flight completes')
  t.ok(((await response.json()) as { registry_token?: string }).registry_token)
  t.equal(await service.exited, 0)
  const exited = performance.now()
  t.comment(
    `provider held the callback 1000 ms after SIGTERM; answered after ${Math.round(answered - signalled)} ms, ` +
      `process exited ${Math.round(exited - signalled)} ms after SIGTERM`,
  )
  const messages = service.logs.map((line) => line.msg)
  t.ok(messages.includes('shutting down: finishing the requests in flight'))
  t.ok(messages.includes('shut down'))
})

t.test('SIGINT, and a provider that never answers does not hold the shutdown', async (t) => {
  const { service, callback } = await callbackInFlight(t, hungPort, {
    MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: '1000',
  })
  process.kill(service.pid, 'SIGINT')
  const response = await callback
  t.equal(response.status, 502, 'the request in flight ends at the provider timeout')
  t.equal(((await response.json()) as { error: string }).error, 'token_exchange_failed')
  t.equal(await service.exited, 0)
})

t.test('a request that never finishes: exit 1 once the grace period is over', async (t) => {
  // Grace: twice the provider timeout plus a second.
  const service = await spawnService(
    testEnv(provider, stuckPort, { MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: '200' }),
  )
  t.teardown(() => service.stop('SIGKILL'))
  // A client that announces a body and never sends it.
  const socket = connect(stuckPort, '127.0.0.1')
  t.teardown(() => socket.destroy())
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(
    'POST /v0/auth/oidc HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
  )
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(await service.stop('SIGTERM'), 1)
  t.match(service.output(), /killed by timeout \(1400ms\)/)
})
