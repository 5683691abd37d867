// Rotating MCP_REGISTRY_OIDC_COOKIE_SECRET across three replicas behind nginx, one replica at
// a time, while logins are in flight: first every replica learns the new secret (old one still
// signing), then every replica signs with the new one (old one still accepted). No login breaks,
// including those started before the rotation and finished after it. Dropping the old secret
// is only safe once the last cookie it signed has expired (10 minutes).

import t from 'tap'
import { loginUntilCallback, type PendingLogin } from './helpers/login.js'
import {
  providerBehindProxy,
  replicasProxyConfig,
  skipWithoutNginx,
  startNginx,
} from './helpers/nginx.js'
import { type RunningService, startService } from './helpers/service.js'
import { freePort } from './helpers/test-provider.js'

const oldSecret = 'old-cookie-secret-0123456789abcdef-0123456789'
const newSecret = 'new-cookie-secret-abcdef0123456789-abcdef0123'

t.test(
  'rotating the cookie secret in the middle of logins breaks none of them',
  { skip: skipWithoutNginx() },
  async (t) => {
    const { proxyPort, proxyUrl, provider } = await providerBehindProxy(t)

    const replicaPorts = [await freePort(), await freePort(), await freePort()]
    const start = (port: number, secrets: string) =>
      startService(provider, port, {
        MCP_REGISTRY_OIDC_PUBLIC_URL: proxyUrl,
        MCP_REGISTRY_OIDC_COOKIE_SECRET: secrets,
      })
    const replicas: RunningService[] = await Promise.all(
      replicaPorts.map((port) => start(port, oldSecret)),
    )
    t.teardown(() => Promise.all(replicas.map((replica) => replica.close())))
    const proxy = await startNginx(proxyPort, replicasProxyConfig(proxyPort, replicaPorts))
    t.teardown(() => proxy.close())

    const startUrl = `${proxyUrl}/v0/auth/oidc/start`
    const failures: string[] = []
    let completed = 0
    async function finish(login: PendingLogin, label: string): Promise<void> {
      const response = await login.browser.request(login.callbackUrl, {
        headers: { accept: 'application/json' },
      })
      const text = await response.text()
      if (response.status === 200 && text.includes('"registry_token"')) completed++
      else failures.push(`${label}: ${response.status} ${text.slice(0, 200)}`)
    }

    // Logins started before the rotation, finished after it: their cookies carry the old secret.
    const startedBefore = await Promise.all(
      Array.from({ length: 9 }, () => loginUntilCallback(startUrl)),
    )
    const straggler = await loginUntilCallback(startUrl)

    // Complete logins keep running, two at a time, during the whole rotation.
    let rotating = true
    const background = Array.from({ length: 2 }, async (_, worker) => {
      for (let round = 0; rotating; round++) {
        try {
          await finish(await loginUntilCallback(startUrl), `background ${worker}.${round}`)
        } catch (error) {
          failures.push(`background ${worker}.${round}: ${(error as Error).message}`)
        }
      }
    })

    async function roll(secrets: string): Promise<void> {
      for (const [index, port] of replicaPorts.entries()) {
        await replicas[index]?.close()
        replicas[index] = await start(port, secrets)
        const login = startedBefore.pop()
        if (login) await finish(login, `started before, finished during the roll to ${secrets}`)
      }
    }
    try {
      await roll(`${oldSecret},${newSecret}`)
      await roll(`${newSecret},${oldSecret}`)
    } finally {
      rotating = false
      await Promise.all(background)
    }
    for (const login of startedBefore.splice(0)) await finish(login, 'started before')

    t.same(failures, [], 'no login failed', { nginxErrors: await proxy.errorLog() })
    t.ok(completed >= 9, `${completed} logins completed during the rotation`)
    t.comment(`${completed} logins completed during two rolling restarts, none failed`)

    // Only after the old secret is dropped does a cookie it signed stop working.
    await roll(newSecret)
    const response = await straggler.browser.request(straggler.callbackUrl, {
      headers: { accept: 'application/json' },
    })
    t.equal(response.status, 400)
    t.equal(((await response.json()) as { error: string }).error, 'flow_cookie_invalid')
    t.same(failures, [])
  },
)
