// Three service processes sharing one real redis-server, each step of a device login addressed
// to a chosen replica, as a round-robin proxy may send it: the request on one, the code entered
// and confirmed on the next, the provider's callback on the third, the polls anywhere. Then
// replicas polled at the same instant, and an outage of the store in the middle of it all. The
// figures go to the test's comments. (The rate limit across replicas: rate-limit-replicas.test.ts.)

import { Redis } from 'ioredis'
import type { JWK } from 'jose'
import t from 'tap'
import { sharedStoreKeyPrefix } from '../../src/shared-store/connection.js'
import { TestBrowser } from '../helpers/browser.js'
import {
  continueUrlOf,
  openConfirmation,
  pollDeviceToken,
  requestDeviceLogin,
  submitDecision,
} from '../helpers/device.js'
import { loginUntilCallback } from '../helpers/login.js'
import { redisServerMissing, startReplicasSharingRedis } from '../helpers/redis.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import type { ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait.js'

const replicaCount = 3
const deviceLogins = 12
const simultaneousRounds = 30

await whenToolPresent(t, redisServerMissing(), async () => {
  const {
    redis,
    provider,
    publicUrl,
    replicas: services,
  } = await startReplicasSharingRedis(t, replicaCount, {
    MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '100000',
  })
  const replica = (index: number) => services[index % replicaCount] as ServiceProcess
  const jwks = (await (await fetch(`${replica(0).baseUrl}/.well-known/jwks.json`)).json()) as {
    keys: [JWK]
  }
  const [registryKey] = jwks.keys

  /**
   * The browser's part, split across replicas: the confirmation page and the confirm POST on
   * `confirmOn`, the provider's redirect back delivered to `callbackOn` (a browser sends one
   * host's cookies whatever the port). Resolves the callback's status.
   */
  async function approveAcross(
    userCode: string,
    confirmOn: ServiceProcess,
    callbackOn: ServiceProcess,
  ): Promise<number> {
    const browser = new TestBrowser()
    const confirmation = await openConfirmation(confirmOn.baseUrl, userCode, browser)
    if (confirmation.response.status !== 200) return confirmation.response.status
    const confirmed = await submitDecision(
      confirmOn.baseUrl,
      confirmation,
      'confirm',
      {},
      { origin: publicUrl },
    )
    if (confirmed.status !== 200) return confirmed.status
    const { url } = await browser.followUntil(continueUrlOf(await confirmed.text()), (next) =>
      next.pathname.endsWith('/auth/oidc/callback'),
    )
    const callback = new URL(`${url.pathname}${url.search}`, callbackOn.baseUrl)
    for (const [name, value] of browser.cookies(confirmOn.baseUrl)) {
      browser.setCookie(callback.origin, name, value)
    }
    const done = await browser.request(callback, { headers: { accept: 'text/html' } })
    await done.body?.cancel()
    return done.status
  }

  t.test(`${deviceLogins} device logins, every step on another replica`, async (t) => {
    const failures: string[] = []
    let tokens = 0
    for (let login = 0; login < deviceLogins; login++) {
      const [first, second, third] = [replica(login), replica(login + 1), replica(login + 2)]
      const device = await requestDeviceLogin(first.baseUrl, {
        client_name: `replica test ${login}`,
      })
      const callbackStatus = await approveAcross(device.user_code, second, third)
      if (callbackStatus !== 200) {
        failures.push(`login ${login}: the callback answered ${callbackStatus}`)
        continue
      }
      const granted = await pollDeviceToken(first.baseUrl, device.device_code)
      if (granted.status !== 200 || !granted.body.registry_token) {
        failures.push(`login ${login}: the poll answered ${granted.status} ${granted.body.error}`)
        continue
      }
      const claims = await verifyRegistryToken(granted.body.registry_token, registryKey)
      if (claims.auth_method_sub !== 'alice') failures.push(`login ${login}: wrong subject`)
      tokens++
      const again = await pollDeviceToken(second.baseUrl, device.device_code)
      if (again.body.error !== 'invalid_grant') {
        failures.push(`login ${login}: a second poll on another replica got ${again.status}`)
      }
    }
    t.same(failures, [])
    t.equal(tokens, deviceLogins)
    t.comment(
      `device logins across ${replicaCount} replicas: ${deviceLogins} logins, ${tokens} tokens handed out, ${failures.length} failures`,
    )
  })

  t.test(`${simultaneousRounds} rounds of every replica polled at the same instant`, async (t) => {
    let tokens = 0
    let refusals = 0
    const unexpected: string[] = []
    // Every round answers invalid_grant to two polls from this one address, which would reach the
    // limit on polls of spent or unknown codes (30 in 10 minutes, tested in
    // test/adversarial/device-store.test.ts) halfway: each round starts with a fresh count.
    const raw = new Redis(redis.url, { keyPrefix: sharedStoreKeyPrefix })
    t.teardown(() => raw.disconnect())
    for (let round = 0; round < simultaneousRounds; round++) {
      await raw.del('attempts:unknown-device-code:127.0.0.1')
      const device = await requestDeviceLogin(replica(round).baseUrl)
      const status = await approveAcross(device.user_code, replica(round + 1), replica(round + 2))
      if (status !== 200) {
        unexpected.push(`round ${round}: callback ${status}`)
        continue
      }
      const answers = await Promise.all(
        services.map((service) => pollDeviceToken(service.baseUrl, device.device_code)),
      )
      const handedOut = answers.filter((answer) => answer.status === 200).length
      tokens += handedOut
      for (const answer of answers) {
        if (answer.status === 200) continue
        if (answer.body.error === 'invalid_grant') refusals++
        else unexpected.push(`round ${round}: ${answer.status} ${answer.body.error}`)
      }
      if (handedOut !== 1) unexpected.push(`round ${round}: ${handedOut} tokens handed out`)
    }
    t.same(unexpected, [])
    t.equal(tokens, simultaneousRounds, 'one token per device login')
    t.equal(refusals, simultaneousRounds * (replicaCount - 1), 'the other polls: invalid_grant')
    t.comment(
      `simultaneous polls: ${simultaneousRounds} device logins x ${replicaCount} replicas polled at once, ${tokens} tokens handed out, ${refusals} invalid_grant, ${unexpected.length} failures`,
    )
  })

  t.test(
    'the store stops mid-flow: 503 on device routes only; back: device logins work again',
    async (t) => {
      const stranded = await requestDeviceLogin(replica(0).baseUrl)
      await redis.stop()

      // Each replica notices the dropped connection; its device routes answer 503 at once.
      for (const service of services) {
        await waitFor(
          'the store to be seen down',
          () =>
            service.logs.some((line) => /shared store unreachable/.test(String(line.msg))) ||
            undefined,
        )
      }
      const latencies: number[] = []
      for (const [index, service] of services.entries()) {
        const requested = performance.now()
        const response = await fetch(`${service.baseUrl}/v0/auth/oidc/device`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
        latencies.push(performance.now() - requested)
        t.equal(response.status, 503, `replica ${index}: device request`)
        t.match(await response.json(), { error: 'store_unavailable' })
        const poll = await pollDeviceToken(service.baseUrl, stranded.device_code)
        t.same([poll.status, poll.body.error], [503, 'store_unavailable'], `replica ${index}: poll`)
        const page = await fetch(
          `${service.baseUrl}/v0/auth/oidc/device/confirm?user_code=${stranded.user_code}`,
          { headers: { accept: 'text/html' } },
        )
        t.equal(page.status, 503, `replica ${index}: the confirmation page`)
        await page.body?.cancel()
      }

      // A browser login and an exchange need no store.
      const { browser, callbackUrl } = await loginUntilCallback(
        `${replica(1).baseUrl}/v0/auth/oidc/start`,
      )
      const onReplica = new URL(`${callbackUrl.pathname}${callbackUrl.search}`, replica(2).baseUrl)
      for (const [name, value] of browser.cookies(replica(1).baseUrl)) {
        browser.setCookie(onReplica.origin, name, value)
      }
      const login = await browser.request(onReplica, { headers: { accept: 'application/json' } })
      const loginBody = (await login.json()) as { registry_token?: string }
      t.equal(login.status, 200, 'a browser login completes')
      await verifyRegistryToken(loginBody.registry_token as string, registryKey)
      const exchange = await fetch(`${replica(0).baseUrl}/v0/auth/oidc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ oidc_token: await provider.obtainIdToken() }),
      })
      t.equal(exchange.status, 200, 'the exchange completes')
      await exchange.body?.cancel()
      for (const service of services) {
        t.equal((await fetch(`${service.baseUrl}/readyz`)).status, 200, '/readyz stays 200')
      }

      await redis.start()
      const restarted = performance.now()
      const recovery: number[] = []
      for (const service of services) {
        await waitFor(
          'device requests to work again',
          async () => {
            const response = await fetch(`${service.baseUrl}/v0/auth/oidc/device`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{}',
            })
            await response.body?.cancel()
            return response.status === 200 ? true : undefined
          },
          { intervalMs: 20 },
        )
        recovery.push(performance.now() - restarted)
      }
      const device = await requestDeviceLogin(replica(2).baseUrl)
      t.equal(await approveAcross(device.user_code, replica(0), replica(1)), 200)
      const granted = await pollDeviceToken(replica(2).baseUrl, device.device_code)
      t.equal(granted.status, 200, 'a whole device login works again, without a restart')
      // The server came back empty: the login under way when it stopped is gone.
      const lost = await pollDeviceToken(replica(0).baseUrl, stranded.device_code)
      t.equal(lost.body.error, 'invalid_grant')
      for (const service of services) {
        t.ok(
          service.logs.some((line) => line.msg === 'shared store reachable again'),
          'the return is logged',
        )
        t.notMatch(service.output(), redis.url, 'the URL is never logged')
      }
      t.comment(
        `outage: 503 store_unavailable after ${latencies.map((ms) => ms.toFixed(0)).join(', ')} ms; ` +
          `device requests answered 200 again ${recovery.map((ms) => ms.toFixed(0)).join(', ')} ms after redis-server was back`,
      )
    },
  )
})
