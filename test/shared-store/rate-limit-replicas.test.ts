// The login rate limit counted once across three service processes sharing one redis-server:
// a budget of 6 requests, spread round-robin over the replicas, ends at the seventh.

import t from 'tap'
import { redisServerMissing, startReplicasSharingRedis } from '../helpers/redis.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import type { ServiceProcess } from '../helpers/service-process.js'

const replicaCount = 3

await whenToolPresent(t, redisServerMissing(), async () => {
  const { replicas: limited } = await startReplicasSharingRedis(t, replicaCount, {
    MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '6',
    MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS: '600',
  })

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
