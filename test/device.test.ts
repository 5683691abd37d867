// The device login (RFC 8628) end to end in process: a terminal asks for codes, a browser
// enters the code, confirms, signs in at the real test provider, and the terminal's poll gets a
// registry token exactly once.

import t from 'tap'
import {
  approveInBrowser,
  openConfirmation,
  pollDeviceToken,
  requestDeviceLogin,
  submitDecision,
} from './helpers/device.js'
import { loginUntilCallback } from './helpers/login.js'
import { sampleValue } from './helpers/metrics.js'
import { registryPublicKey } from './helpers/registry-key.js'
import { verifyRegistryToken } from './helpers/registry-token.js'
import { callbackUrlFor, startService, testSigningSeedHex } from './helpers/service.js'
import { freePort, startTestProvider } from './helpers/test-provider.js'

const registryKey = registryPublicKey(testSigningSeedHex)
const port = await freePort()
const provider = await startTestProvider({ redirectUris: [callbackUrlFor(port)] })
t.teardown(() => provider.close())
// Alice (hd example.com) is allowed; mallory (evil.test) is not.
const service = await startService(provider, port, {
  MCP_REGISTRY_OIDC_EXTRA_CLAIMS: JSON.stringify([{ hd: 'example.com' }]),
})
t.teardown(() => service.close())
const base = service.baseUrl

t.test('a device login hands the token to the terminal once', async (t) => {
  const device = await requestDeviceLogin(base, { client_name: 'laptop over ssh' })
  t.match(device.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
  t.match(device.device_code, /^[A-Za-z0-9_-]{43}$/)
  t.equal(device.verification_uri, `${base}/v0/auth/oidc/device`)
  t.equal(
    device.verification_uri_complete,
    `${base}/v0/auth/oidc/device?user_code=${device.user_code}`,
  )
  t.equal(device.expires_in, 600)
  t.equal(device.interval, 5)

  const entry = await fetch(device.verification_uri_complete, { headers: { accept: 'text/html' } })
  t.equal(entry.status, 200)
  t.match(await entry.text(), `value="${device.user_code}"`, 'the entry page is pre-filled')

  const done = await approveInBrowser(base, device.user_code.toLowerCase().replace('-', ''))
  t.equal(done.status, 200)
  const page = await done.text()
  t.match(page, 'Signed in — go back to your terminal')
  t.notMatch(page, /eyJ/, 'the browser never sees the token')

  const granted = await pollDeviceToken(base, device.device_code)
  t.equal(granted.status, 200)
  t.same(Object.keys(granted.body), ['registry_token', 'expires_at'])
  const claims = await verifyRegistryToken(granted.body.registry_token as string, registryKey)
  t.equal(claims.auth_method_sub, 'alice')
  t.equal(claims.exp, granted.body.expires_at)

  const again = await pollDeviceToken(base, device.device_code)
  t.equal(again.status, 400)
  t.equal(again.body.error, 'invalid_grant', 'the device code is spent')
})

t.test('cancel: the terminal hears access_denied', async (t) => {
  const device = await requestDeviceLogin(base, {}, '/v0.1')
  const confirmation = await openConfirmation(base, device.user_code, undefined, '/v0.1')
  t.equal(confirmation.response.status, 200)
  const cancelled = await submitDecision(base, confirmation, 'cancel', {}, {}, '/v0.1')
  t.equal(cancelled.status, 200)
  t.match(await cancelled.text(), 'Sign-in cancelled')
  const poll = await pollDeviceToken(base, device.device_code, '/v0.1')
  t.equal(poll.body.error, 'access_denied')
})

t.test('polls before the person decides: pending, then slow_down growing by 5 s', async (t) => {
  const device = await requestDeviceLogin(base)
  const first = await pollDeviceToken(base, device.device_code)
  t.equal(first.status, 400)
  t.equal(first.body.error, 'authorization_pending')
  const second = await pollDeviceToken(base, device.device_code)
  t.equal(second.body.error, 'slow_down')
  t.match(second.body.error_description, /Wait 10 seconds/)
  const third = await pollDeviceToken(base, device.device_code, '/v0.1')
  t.equal(third.body.error, 'slow_down', 'the other prefix polls the same request')
  t.match(third.body.error_description, /Wait 15 seconds/)
})

t.test('the policy refuses the person: the terminal hears access_denied', async (t) => {
  const device = await requestDeviceLogin(base)
  provider.loginAs = 'mallory'
  t.teardown(() => {
    provider.loginAs = 'alice'
  })
  const done = await approveInBrowser(base, device.user_code)
  t.equal(done.status, 403)
  t.match(await done.text(), 'claims_not_allowed')
  const poll = await pollDeviceToken(base, device.device_code)
  t.equal(poll.body.error, 'access_denied')
})

t.test('every device step shows in the metrics and in one log line', async (t) => {
  const page = await service.app.metrics.registry.metrics()
  const steps = 'mcp_registry_oidc_device_steps_total'
  t.ok((sampleValue(page, steps, { step: 'request', outcome: 'ok' }) ?? 0) >= 4, 'requests')
  t.ok((sampleValue(page, steps, { step: 'verify', outcome: 'ok' }) ?? 0) >= 3, 'codes entered')
  t.equal(sampleValue(page, steps, { step: 'cancel', outcome: 'ok' }), 1, 'cancelled')
  t.equal(sampleValue(page, steps, { step: 'poll', outcome: 'ok' }), 1, 'one token handed out')
  t.equal(sampleValue(page, steps, { step: 'poll', outcome: 'invalid_grant' }), 1)
  t.equal(sampleValue(page, steps, { step: 'poll', outcome: 'access_denied' }), 2)
  t.equal(sampleValue(page, steps, { step: 'poll', outcome: 'slow_down' }), 2)
  t.ok(
    (sampleValue(page, 'mcp_registry_oidc_logins_started_total') ?? 0) >= 2,
    'confirmations start logins',
  )
  t.equal(
    sampleValue(page, 'mcp_registry_oidc_logins_failed_total', {
      step: 'callback',
      error: 'claims_not_allowed',
    }),
    1,
  )
  t.equal(
    sampleValue(page, 'mcp_registry_oidc_rule_grants_total', { rule: 'environment' }),
    1,
    'a rule grant is counted once, when the token is minted',
  )
  const events = service.logs.entries().map((entry) => entry.event)
  for (const event of [
    'device_login_requested',
    'device_login_cancelled',
    'device_token_issued',
    'device_poll_refused',
    'login_completed',
  ]) {
    t.ok(events.includes(event), event)
  }
  const tokenLine = service.logs.entries().find((entry) => entry.event === 'device_token_issued')
  t.equal(tokenLine?.sub, 'alice')
  t.same(tokenLine?.rules, ['environment'])
})

t.test('a store that answers nothing: 503 store_unavailable on device routes only', async (t) => {
  const outagePort = await freePort()
  const outageProvider = await startTestProvider({ redirectUris: [callbackUrlFor(outagePort)] })
  t.teardown(() => outageProvider.close())
  const outage = await startService(outageProvider, outagePort)
  t.teardown(() => outage.close())
  const device = await requestDeviceLogin(outage.baseUrl)
  // A closed store rejects every call as an unreachable one does.
  await outage.app.deviceStore.close()
  const json = { accept: 'application/json', 'content-type': 'application/json' }
  const answers = await Promise.all([
    fetch(`${outage.baseUrl}/v0/auth/oidc/device`, { method: 'POST', headers: json, body: '{}' }),
    fetch(`${outage.baseUrl}/v0/auth/oidc/device/token`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ device_code: device.device_code }),
    }),
    fetch(`${outage.baseUrl}/v0/auth/oidc/device/confirm?user_code=${device.user_code}`, {
      headers: json,
    }),
  ])
  for (const answer of answers) {
    t.equal(answer.status, 503)
    t.equal(((await answer.json()) as { error: string }).error, 'store_unavailable')
  }
  const { browser, callbackUrl } = await loginUntilCallback(`${outage.baseUrl}/v0/auth/oidc/start`)
  const login = await browser.request(callbackUrl, { headers: { accept: 'application/json' } })
  t.equal(login.status, 200, 'a browser login still completes')
})
