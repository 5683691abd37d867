// Two service instances on one real redis-server: the login rate limit is one budget across
// them; with the server down it is counted per instance and logins go on; the store's state is
// a metric; a service whose store is unreachable at start-up still starts.

import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { deviceKey } from '../../src/device/codes.js'
import { sharedStoreKeyPrefix } from '../../src/shared-store/connection.js'
import { freePort } from '../helpers/free-port.js'
import { redisServerMissing, startRedis } from '../helpers/redis.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { callbackUrlFor, type RunningService, startService } from '../helpers/service.js'
import { startTestProvider } from '../helpers/test-provider.js'
import { waitFor } from '../helpers/wait.js'

await whenToolPresent(t, redisServerMissing(), async () => {
  const redis = await startRedis()
  t.teardown(() => redis.close())
  const ports = [await freePort(), await freePort(), await freePort()] as const
  const provider = await startTestProvider({ redirectUris: ports.map(callbackUrlFor) })
  t.teardown(() => provider.close())
  const shared = {
    MCP_REGISTRY_OIDC_REDIS_URL: redis.url,
    MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '4',
    MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS: '600',
  }
  const services: RunningService[] = []
  for (const port of ports.slice(0, 2)) {
    const service = await startService(provider, port, shared)
    services.push(service)
    t.teardown(() => service.close())
  }
  const [first, second] = services as [RunningService, RunningService]
  const storeUp = async (service: RunningService) =>
    (await service.app.metrics.registry.getSingleMetric('mcp_registry_oidc_store_up')?.get())
      ?.values[0]?.value
  const start = async (service: RunningService) => {
    const response = await fetch(`${service.baseUrl}/v0/auth/oidc/start`, { redirect: 'manual' })
    await response.body?.cancel()
    return response.status
  }
  const waitForStore = (service: RunningService, up: number) =>
    waitFor(`store_up ${up}`, async () => ((await storeUp(service)) === up ? true : undefined))

  t.test('the login rate limit is one budget across both instances', async (t) => {
    await waitForStore(first, 1)
    await waitForStore(second, 1)
    const statuses = [
      await start(first),
      await start(second),
      await start(first),
      await start(second),
      await start(first),
      await start(second),
    ]
    t.same(statuses, [302, 302, 302, 302, 429, 429])
  })

  t.test(
    'store down: logins go on, each instance counts on its own; back: shared again',
    async (t) => {
      await redis.stop()
      await waitForStore(first, 0)
      await waitForStore(second, 0)
      // The shared budget is spent, but the local counts start afresh: four more per instance.
      t.same(
        [await start(first), await start(first), await start(first), await start(first)],
        [302, 302, 302, 302],
        'a browser login still starts',
      )
      t.equal(await start(first), 429, 'the local count still limits')
      t.equal(await start(second), 302, 'the other instance counts its own')
      const down = first.logs
        .entries()
        .filter((line) => /shared store unreachable/.test(String(line.msg)))
      t.equal(down.length, 1, 'one log line when the store went down')
      t.match(down[0], { level: 40, reason: String })

      await redis.start()
      await waitForStore(first, 1)
      await waitForStore(second, 1)
      t.equal(await start(first), 302, 'the fresh server counts from zero')
      t.ok(first.logs.entries().some((line) => line.msg === 'shared store reachable again'))
      t.notMatch(first.logs.text, redis.url, 'the URL is never logged')
    },
  )

  t.test('a store that is unreachable at start-up does not stop the service', async (t) => {
    const nobody = await freePort()
    const service = await startService(provider, ports[2], {
      ...shared,
      MCP_REGISTRY_OIDC_REDIS_URL: `redis://:a-store-password@127.0.0.1:${nobody}`,
    })
    t.teardown(() => service.close())
    t.equal(await storeUp(service), 0)
    t.equal((await fetch(`${service.baseUrl}/readyz`)).status, 200, '/readyz is about the provider')
    t.equal(await start(service), 302)
    await waitFor(
      'the log line',
      () =>
        service.logs.entries().some((line) => /unreachable/.test(String(line.msg))) || undefined,
    )
    t.notMatch(service.logs.text, 'a-store-password')
  })

  t.test(
    'a store that was down at start-up is used once it answers, without a restart',
    async (t) => {
      await redis.stop()
      const service = await startService(provider, await freePort(), shared)
      t.teardown(() => service.close())
      const device = () =>
        fetch(`${service.baseUrl}/v0/auth/oidc/device`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      const refused = await device()
      t.equal(refused.status, 503)
      t.match(await refused.json(), { error: 'store_unavailable' })
      await redis.start()
      await waitForStore(service, 1)
      t.equal((await device()).status, 200)
    },
  )

  t.test('a grant written into the store by anyone else mints no token', async (t) => {
    // The review's probe: write access to Redis, a device code of the attacker's choice.
    await waitForStore(first, 1)
    const raw = new Redis(redis.url, { keyPrefix: sharedStoreKeyPrefix })
    t.teardown(() => raw.disconnect())
    const deviceCode = randomBytes(32).toString('base64url')
    await raw.hset(`device:${deviceKey(deviceCode)}`, {
      state: 'approved',
      expiresAt: Date.now() + 600_000,
      interval: 5,
      userKey: 'x',
      grant: JSON.stringify({
        subject: 'attacker',
        permissions: [
          { action: 'publish', resource: '*' },
          { action: 'edit', resource: '*' },
        ],
        rules: [],
      }),
    })
    const response = await fetch(`${first.baseUrl}/v0/auth/oidc/device/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device_code: deviceCode }),
    })
    t.equal(response.status, 400)
    const body = (await response.json()) as { error: string; registry_token?: string }
    t.equal(body.error, 'invalid_grant')
    t.notOk(body.registry_token)
    t.match(first.logs.text, /did not open/, 'logged')
  })
})
