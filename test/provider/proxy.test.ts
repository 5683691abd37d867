// Requests to the provider honour HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment the
// service is given: through an egress proxy (a real HTTP CONNECT proxy on 127.0.0.1, the `proxy`
// package), loopback included, unless NO_PROXY names the provider; then straight to it.

import type { Socket } from 'node:net'
import { createProxy } from 'proxy'
import t, { type Test } from 'tap'
import { loginUntilCallback } from '../helpers/login.js'
import { callbackUrlFor, type RunningService, startService } from '../helpers/service.js'
import { freePort, listenOnLoopback, startTestProvider } from '../helpers/test-provider.js'
import { waitFor } from '../helpers/wait.js'

/** The proxy, and what passed through it: the CONNECT targets and the request lines tunnelled. */
async function startEgressProxy() {
  const server = createProxy()
  const tunnels: string[] = []
  const requests: string[] = []
  const sockets = new Set<Socket>()
  server.on('connect', (request, socket: Socket) => {
    tunnels.push(String(request.url))
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // The service sends nothing into the tunnel before the proxy has opened it.
    socket.on('data', (chunk: Buffer) => {
      for (const [line] of chunk.toString('latin1').matchAll(/^(GET|POST) \S+/gm)) {
        requests.push(line)
      }
    })
  })
  const port = await listenOnLoopback(server)
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const ports = [await freePort(), await freePort()] as const
const provider = await startTestProvider({ redirectUris: ports.map(callbackUrlFor) })
t.teardown(() => provider.close())
const egress = await startEgressProxy()
t.teardown(() => egress.close())
const providerHost = new URL(provider.issuer).host

async function logsInAndExchanges(t: Test, service: RunningService): Promise<void> {
  const { browser, callbackUrl } = await loginUntilCallback(`${service.baseUrl}/v0/auth/oidc/start`)
  const callback = await browser.request(callbackUrl, { headers: { accept: 'application/json' } })
  t.equal(callback.status, 200, 'a login completes')
  await callback.body?.cancel()
  const exchange = await fetch(`${service.baseUrl}/v0/auth/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: await provider.obtainIdToken() }),
  })
  t.equal(exchange.status, 200, 'an ID token is exchanged')
  await exchange.body?.cancel()
}

t.test('through the proxy the environment names, loopback included', async (t) => {
  const service = await startService(provider, ports[0], {
    HTTP_PROXY: egress.url,
    HTTPS_PROXY: egress.url,
  })
  t.teardown(() => service.close())
  await logsInAndExchanges(t, service)
  t.ok(egress.tunnels.length > 0, 'the service opened tunnels through the proxy')
  t.ok(
    egress.tunnels.every((target) => target === providerHost),
    `every tunnel leads to the provider (${providerHost})`,
  )
  const paths = egress.requests.join('\n')
  t.match(paths, /^GET \/\.well-known\/openid-configuration$/m, 'discovery')
  t.match(paths, /^GET \/jwks$/m, 'the signing keys')
  t.match(paths, /^POST \/token$/m, 'the code grant')
})

t.test('straight to the provider when NO_PROXY names it', async (t) => {
  const tunnelsBefore = egress.tunnels.length
  const service = await startService(provider, ports[1], {
    http_proxy: egress.url,
    NO_PROXY: 'example.com, 127.0.0.1',
  })
  t.teardown(() => service.close())
  await logsInAndExchanges(t, service)
  t.equal(egress.tunnels.length, tunnelsBefore, 'nothing went through the proxy')
})

t.test('a proxy that is not there: not ready, and the logs say why', async (t) => {
  const service = await startService(
    provider,
    await freePort(),
    { HTTP_PROXY: `http://127.0.0.1:${await freePort()}` },
    { waitForProvider: false },
  )
  t.teardown(() => service.close())
  const line = await waitFor('a failed discovery', () =>
    service.logs.entries().find((entry) => entry.msg === 'provider not reachable'),
  )
  t.match(line.reason, /request failed: .*ECONNREFUSED/)
  t.equal((await fetch(`${service.baseUrl}/readyz`)).status, 503)
})
