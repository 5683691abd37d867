// The login rate limit counted once across three service processes sharing one redis-server:
// a budget of 6 requests, spread round-robin over the replicas, ends at the seventh.

import t from 'tap'
import { freePort } from '../helpers/free-port.js'
import { redisServerMissing, startRedis } from '../helpers/redis.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { callbackUrlFor, testEnv } from '../helpers/service.js'
import { type ServiceProcess, spawnService } from '../helpers/service-process.js'
import { startTestProvider } from '../helpers/test-provider.js'
import { waitFor } from '../helpers/wait.js'

const replicaCount = 3

await whenToolPresent(t, redisServerMissing(), async () => {
  const redis = await startRedis()
  t.teardown(() => redis.close())
  const ports: number[] = []
  for (let index = 0; index < replicaCount; index++) ports.push(await freePort())
  const publicUrl = `http://127.0.0.1:${ports[0]}`
  const provider = await startTestProvider({ redirectUris: [callbackUrlFor(ports[0] as number)] })
  t.teardown(() => provider.close())
  const limited = await Promise.all(
    ports.map((port) =>
      spawnService(
        testEnv(provider, port, {
          MCP_REGISTRY_OIDC_PUBLIC_URL: publicUrl,
          MCP_REGISTRY_OIDC_REDIS_URL: redis.url,
          MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '6',
          MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS: '600',
        }),
      ),
    ),
  )
  t.teardown(() => Promise.all(limited.map((replica) => replica.stop('SIGKILL'))))
  for (const replica of limited) {
    await waitFor(
      'the store connection',
      () => replica.logs.some((line) => line.msg === 'shared store connected') || undefined,
    )
  }

  t.test('one budget across the replicas', async (t) => {
    const statuses: number[] = []
    for (let request = 0; request < 9; request++) {
      const response = await fetch(
        `${(limited[request % replicaCount] as ServiceProcess).baseUrl}/v0/auth/oidc/start`,
        { redirect: 'manual' },
      )
      await response.body?.cancel()
      statuses.push(response.status)
    }
    t.same(statuses, [302, 302, 302, 302, 302, 302, 429, 429, 429])
    t.comment(`rate limit of 6 across ${replicaCount} replicas: ${statuses.join(' ')}`)
  })
})
