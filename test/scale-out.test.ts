// Three replicas of the service, each its own process, behind Debian's nginx (round-robin):
// every login starts on one replica and finishes on another, which only works because the
// service keeps no state of its own.

import type { JWK } from 'jose'
import t from 'tap'
import { TestBrowser } from './helpers/browser.js'
import { callbackPath } from './helpers/login.js'
import { sampleValue } from './helpers/metrics.js'
import {
  providerBehindProxy,
  replicasProxyConfig,
  skipWithoutNginx,
  startNginx,
} from './helpers/nginx.js'
import { verifyRegistryToken } from './helpers/registry-token.js'
import { testEnv } from './helpers/service.js'
import { type ServiceProcess, spawnService } from './helpers/service-process.js'
import { freePort } from './helpers/test-provider.js'

const logins = 100
const replicaCount = 3

/** Sums one counter over the replicas' /metrics pages. */
async function counterSum(metricsPorts: number[], name: string): Promise<number> {
  let sum = 0
  for (const port of metricsPorts) {
    const page = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    sum += sampleValue(page, name) ?? Number.NaN
  }
  return sum
}

t.test(
  `${logins} logins across ${replicaCount} replicas behind nginx`,
  { skip: skipWithoutNginx() },
  async (t) => {
    const { proxyPort, proxyUrl, provider } = await providerBehindProxy(t)

    const replicaPorts: number[] = []
    const metricsPorts: number[] = []
    for (let index = 0; index < replicaCount; index++) {
      replicaPorts.push(await freePort())
      metricsPorts.push(await freePort())
    }
    const replicas: ServiceProcess[] = await Promise.all(
      replicaPorts.map((port, index) =>
        spawnService(
          testEnv(provider, port, {
            MCP_REGISTRY_OIDC_PUBLIC_URL: proxyUrl,
            METRICS_PORT: String(metricsPorts[index]),
            // A started login is logged at debug; the logs tell which replica served each step.
            LOG_LEVEL: 'debug',
          }),
        ),
      ),
    )
    t.teardown(() => Promise.all(replicas.map((replica) => replica.stop('SIGKILL'))))
    await Promise.all(replicas.map((replica) => replica.waitForReady()))

    const proxy = await startNginx(proxyPort, replicasProxyConfig(proxyPort, replicaPorts))
    t.teardown(() => proxy.close())

    const jwks = (await (await fetch(`${replicas[0]?.baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: [JWK]
    }
    const [registryKey] = jwks.keys

    const failures: string[] = []
    const started = performance.now()
    for (let login = 0; login < logins; login++) {
      const browser = new TestBrowser()
      const start = await browser.request(`${proxyUrl}/v0/auth/oidc/start`, {
        headers: { 'x-request-id': `start-${login}` },
      })
      if (start.status !== 302 || start.headers.get('x-request-id') !== `start-${login}`) {
        failures.push(`login ${login}: start answered ${start.status}`)
        continue
      }
      const { url, response } = await browser.followUntil(
        start.headers.get('location') as string,
        (next) => next.pathname === callbackPath,
      )
      if (response !== undefined) {
        failures.push(`login ${login}: the provider stopped at ${url.href}`)
        continue
      }
      const callback = await browser.request(url, {
        headers: { accept: 'application/json', 'x-request-id': `callback-${login}` },
      })
      const body = (await callback.json()) as { registry_token?: string; error?: string }
      if (callback.status !== 200 || !body.registry_token) {
        failures.push(`login ${login}: callback answered ${callback.status} ${body.error}`)
        continue
      }
      const claims = await verifyRegistryToken(body.registry_token, registryKey)
      if (claims.auth_method_sub !== 'alice') failures.push(`login ${login}: wrong subject`)
    }
    const seconds = (performance.now() - started) / 1000
    t.same(failures, [], 'every login completed')
    t.equal(await counterSum(metricsPorts, 'mcp_registry_oidc_logins_started_total'), logins)
    t.equal(await counterSum(metricsPorts, 'mcp_registry_oidc_logins_completed_total'), logins)
    const throughProxy = await fetch(`${proxyUrl}/metrics`)
    t.equal(throughProxy.status, 404, 'the proxy does not expose the metrics')
    const onServicePort = await fetch(`${replicas[0]?.baseUrl}/metrics`)
    t.equal(onServicePort.status, 404, 'nor does the service port')

    // Stopped first, so that every line they logged has been read.
    const exitCodes = await Promise.all(replicas.map((replica) => replica.stop('SIGTERM')))
    t.same(exitCodes, [0, 0, 0], 'every replica shuts down cleanly')

    // Which replica answered which request, from each replica's own log.
    const servedBy = new Map<string, number>()
    replicas.forEach((replica, index) => {
      for (const line of replica.logs) {
        if (typeof line.reqId === 'string' && typeof line.event === 'string') {
          servedBy.set(line.reqId, index)
        }
      }
    })
    let crossReplica = 0
    const perReplica = replicas.map(() => ({ starts: 0, callbacks: 0 }))
    for (let login = 0; login < logins; login++) {
      const startReplica = servedBy.get(`start-${login}`)
      const callbackReplica = servedBy.get(`callback-${login}`)
      if (startReplica === undefined || callbackReplica === undefined) continue
      ;(perReplica[startReplica] as { starts: number }).starts++
      ;(perReplica[callbackReplica] as { callbacks: number }).callbacks++
      if (startReplica !== callbackReplica) crossReplica++
    }
    t.equal(crossReplica, logins, 'every login finished on another replica than it started on')
    for (const [index, served] of perReplica.entries()) {
      t.ok(served.starts > 0 && served.callbacks > 0, `replica ${index} served both steps`)
    }
    t.comment(
      `${logins} logins completed in ${seconds.toFixed(1)} s, ${crossReplica} of them across replicas; ` +
        `per replica (starts/callbacks): ${perReplica.map((s) => `${s.starts}/${s.callbacks}`).join(', ')}`,
    )
  },
)
