// The device login against someone who can write to its store or flood it: grants written or
// moved into the store, browsers made to create requests, one address holding many requests,
// parallel guesses of user codes, a store that cannot count, and made-up device codes polled
// without end. Every refusal answers in the documented format; no code or token is logged.

import { randomBytes } from 'node:crypto'
import t from 'tap'
import { deviceKey, normaliseUserCode, userKey } from '../../src/device/codes.js'
import { StoreUnavailableError } from '../../src/device/store.js'
import {
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'
import { pollDeviceToken, type requestDeviceLogin } from '../helpers/device.js'

const stages: RealStage[] = []
/** Addresses come from X-Forwarded-For, believed from the loopback proxy. */
const s = await startRealStage({ MCP_REGISTRY_OIDC_TRUST_PROXY: '127.0.0.1' })
stages.push(s)
const { app } = s.service
const store = app.deviceStore

const from = (address: string) => ({ 'x-forwarded-for': address, accept: 'application/json' })

async function deviceLogin(address = '192.0.2.200') {
  const response = await fetch(`${s.base}/v0/auth/oidc/device`, {
    method: 'POST',
    headers: { ...from(address), 'content-type': 'application/json' },
    body: '{}',
  })
  const device = (await response.json()) as Awaited<ReturnType<typeof requestDeviceLogin>>
  s.secrets.add(device.device_code)
  const key = userKey(normaliseUserCode(device.user_code) as string)
  return { ...device, deviceKey: deviceKey(device.device_code), userKey: key }
}

function poll(deviceCode: string, address = '192.0.2.201') {
  return fetch(`${s.base}/v0/auth/oidc/device/token`, {
    method: 'POST',
    headers: { ...from(address), 'content-type': 'application/json' },
    body: JSON.stringify({ device_code: deviceCode }),
  })
}

const page = (code: string, address: string) =>
  fetch(`${s.base}/v0/auth/oidc/device/confirm?user_code=${encodeURIComponent(code)}`, {
    headers: from(address),
  })

t.test('a grant written into the store by anyone but the callback mints nothing', async (t) => {
  const grant = {
    subject: 'attacker',
    permissions: [
      { action: 'publish' as const, resource: '*' },
      { action: 'edit' as const, resource: '*' },
    ],
    rules: [],
  }
  const forged = await deviceLogin()
  await store.decide(
    forged.deviceKey,
    forged.userKey,
    { approved: '{"subject":"attacker"}' },
    Date.now(),
  )
  t.match(
    await refusal(s.service, () => poll(forged.device_code)),
    refused(400, 'invalid_grant', /sealed grant did not open/),
    'a grant in the clear',
  )

  const victim = await deviceLogin()
  const moved = await deviceLogin()
  const sealedForVictim = await app.deviceGrants.seal(grant, victim.deviceKey)
  await store.decide(moved.deviceKey, moved.userKey, { approved: sealedForVictim }, Date.now())
  t.match(
    await refusal(s.service, () => poll(moved.device_code)),
    refused(400, 'invalid_grant', /sealed grant did not open/),
    'a sealed grant moved to another request',
  )

  const genuine = await deviceLogin()
  const sealed = await app.deviceGrants.seal(grant, genuine.deviceKey)
  await store.decide(genuine.deviceKey, genuine.userKey, { approved: sealed }, Date.now())
  const answer = await pollDeviceToken(s.base, genuine.device_code)
  t.equal(answer.status, 200, 'a grant sealed here, for this device code, opens')
  t.type(answer.body.registry_token, 'string')
  s.secrets.add(answer.body.registry_token as string)
})

t.test('browsers cannot create device requests', async (t) => {
  const create = (headers: Record<string, string>) => () =>
    fetch(`${s.base}/v0/auth/oidc/device`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: 'client_name=x',
    })
  const browserHeaders: Record<string, string>[] = [
    { origin: 'https://evil.example' },
    { origin: s.base },
    { origin: 'null' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { 'sec-fetch-site': 'same-origin' },
  ]
  for (const headers of browserHeaders) {
    t.match(
      await refusal(s.service, create(headers)),
      refused(403, 'cross_site_request'),
      JSON.stringify(headers),
    )
  }
  const typed = await create({ 'sec-fetch-site': 'none' })()
  t.equal(typed.status, 200, 'Sec-Fetch-Site none (typed, not sent by a page) is a terminal too')
  s.secrets.add(((await typed.json()) as { device_code: string }).device_code)
})

t.test('one address (an IPv6 /64) holds at most 5 pending requests', async (t) => {
  for (let i = 1; i <= 5; i++) await deviceLogin(`2001:db8:5:5::${i}`)
  t.match(
    await refusal(s.service, () =>
      fetch(`${s.base}/v0/auth/oidc/device`, {
        method: 'POST',
        headers: { ...from('2001:db8:5:5::ffff'), 'content-type': 'application/json' },
        body: '{}',
      }),
    ),
    refused(429, 'rate_limited', /5 pending device requests/),
    'the sixth from the same /64',
  )
  const other = await deviceLogin('2001:db8:5:6::1')
  t.type(other.device_code, 'string', 'another /64 is not limited')
})

t.test('100 parallel guesses from one address: at most 10 are looked up', async (t) => {
  let lookups = 0
  const pending = store.pending
  store.pending = (...args) => {
    lookups += 1
    return pending(...args)
  }
  t.teardown(() => {
    store.pending = pending
  })
  const answers = await Promise.all(
    Array.from({ length: 100 }, () => page('BCDF-GHJK', '198.51.100.100').then((r) => r.status)),
  )
  t.equal(lookups, 10, 'ten lookups')
  t.equal(answers.filter((status) => status === 400).length, 10, 'ten wrong codes')
  t.equal(answers.filter((status) => status === 429).length, 90, 'the rest refused before')
})

t.test('a right code is taken back: it never uses up the wrong-code budget', async (t) => {
  const device = await deviceLogin()
  const address = '198.51.100.101'
  for (let i = 0; i < 9; i++) t.equal((await page('BCDF-GHJK', address)).status, 400)
  for (let i = 0; i < 5; i++) t.equal((await page(device.user_code, address)).status, 200)
  t.equal((await page('BCDF-GHJK', address)).status, 400, 'the tenth wrong code')
  t.equal((await page(device.user_code, address)).status, 429, 'then every code is refused')
})

t.test('a store that cannot count answers 503 before it is asked about the code', async (t) => {
  const device = await deviceLogin()
  let lookups = 0
  const { countAttempt, pending } = store
  store.countAttempt = async () => {
    throw new StoreUnavailableError('writes refused (maxmemory)')
  }
  store.pending = (...args) => {
    lookups += 1
    return pending(...args)
  }
  t.teardown(() => {
    store.countAttempt = countAttempt
    store.pending = pending
  })
  for (const code of [device.user_code, 'BCDF-GHJK']) {
    t.match(
      await refusal(s.service, () => page(code, '198.51.100.102')),
      refused(503, 'store_unavailable'),
      'the same answer for the right and a wrong code',
    )
  }
  t.equal(lookups, 0, 'no lookup')
})

t.test('polls of unknown device codes: 30 per address, then 429', async (t) => {
  const address = '198.51.100.103'
  for (let i = 0; i < 30; i++) {
    const made = randomBytes(32).toString('base64url')
    t.equal((await poll(i % 3 === 0 ? 'malformed' : made, address)).status, 400)
  }
  t.match(
    await refusal(s.service, () => poll(randomBytes(32).toString('base64url'), address)),
    refused(429, 'rate_limited', /30 unknown device codes/),
  )
  const device = await deviceLogin()
  const polls = []
  for (let i = 0; i < 35; i++)
    polls.push(((await (await poll(device.device_code)).json()) as { error?: string }).error)
  t.notOk(polls.includes('rate_limited'), 'polls of a known code never count')
})

checkLogsLast(stages)
