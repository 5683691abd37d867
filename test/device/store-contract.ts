// The behaviour every DeviceStore must show, run against each implementation by its own test
// file (store-contract-memory.test.ts, store-contract-redis.test.ts): the same table, the same
// answers, so the routes cannot tell which store they run on.

import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import {
  type DeviceGrant,
  type DeviceRequest,
  type DeviceStore,
  keptAfterExpiryMs,
  StoreUnavailableError,
} from '../../src/device/store.js'

/** A fresh store for one test; the contract closes it. */
export type MakeStore = () => Promise<DeviceStore>

const lifetimeMs = 600_000
const intervalSeconds = 5
const windowMs = 600_000

const grant: DeviceGrant = {
  subject: 'oidc:https://issuer.example.com:alice',
  permissions: [
    { action: 'publish', resource: 'com.example/*' },
    { action: 'edit', resource: 'com.example/tools' },
  ],
  rules: ['staff'],
}

let sequence = 0
/** Distinct keys per test, so stores that outlive a test (a shared server) never mix them up. */
function keys(): { deviceKey: string; userKey: string } {
  sequence += 1
  const userKey = randomBytes(8)
    .toString('hex')
    .replace(/[^a-f]/g, 'b')
    .toUpperCase()
    .slice(0, 8)
  return {
    deviceKey: `${randomBytes(16).toString('hex')}-${sequence}`,
    userKey: `${userKey}${sequence}`,
  }
}

function requestAt(now: number): DeviceRequest {
  return {
    userCode: 'BCDFGHJK',
    clientName: 'mcp-publisher on build-box',
    requestedFrom: '203.0.113.7',
    requestedAt: now,
    expiresAt: now + lifetimeMs,
  }
}

/** Runs the contract as subtests of `t`, each with a store of its own from `makeStore`. */
export function storeContract(t: Test, makeStore: MakeStore): void {
  const withStore = (name: string, body: (t: Test, store: DeviceStore) => Promise<void>) =>
    t.test(name, async (t) => {
      const store = await makeStore()
      t.teardown(() => store.close())
      await body(t, store)
    })

  withStore('create, then the page finds the pending request by its user key', async (t, store) => {
    const now = Date.now()
    const { deviceKey, userKey } = keys()
    const request = requestAt(now)
    t.equal(await store.create(deviceKey, userKey, request, intervalSeconds), true)
    t.same(await store.pending(userKey, now + 1000), request)
    t.equal(await store.pending(`${userKey}X`, now), undefined, 'unknown user key')
    t.equal(await store.pending(userKey, now + lifetimeMs), undefined, 'expired')
  })

  withStore(
    'a request without a client name, and one full of markup, come back as sent',
    async (t, store) => {
      const now = Date.now()
      for (const clientName of [undefined, '<script>alert("x")</script> & "quotes"']) {
        const { deviceKey, userKey } = keys()
        const request = { ...requestAt(now), clientName }
        await store.create(deviceKey, userKey, request, intervalSeconds)
        t.same(await store.pending(userKey, now), request)
      }
    },
  )

  withStore('a user key that is taken is refused (the caller draws another)', async (t, store) => {
    const now = Date.now()
    const { deviceKey, userKey } = keys()
    t.equal(await store.create(deviceKey, userKey, requestAt(now), intervalSeconds), true)
    t.equal(await store.create(keys().deviceKey, userKey, requestAt(now), intervalSeconds), false)
    t.equal((await store.pending(userKey, now))?.requestedAt, now, 'the first request stays')
    const other = keys()
    t.equal(
      await store.create(deviceKey, other.userKey, requestAt(now), intervalSeconds),
      false,
      'a device key that is taken is refused too',
    )
    t.equal(await store.pending(other.userKey, now), undefined)
  })

  withStore(
    'polls: unknown, pending, slow_down adding 5 s each time, pending again',
    async (t, store) => {
      const now = Date.now()
      const { deviceKey, userKey } = keys()
      t.same(await store.poll(deviceKey, now), { kind: 'unknown' })
      await store.create(deviceKey, userKey, requestAt(now), intervalSeconds)
      t.same(await store.poll(deviceKey, now + 1000), { kind: 'pending' }, 'the first poll')
      t.same(await store.poll(deviceKey, now + 2000), { kind: 'slow_down', intervalSeconds: 10 })
      t.same(await store.poll(deviceKey, now + 3000), { kind: 'slow_down', intervalSeconds: 15 })
      // 15 s after the previous poll (which counts, although it was answered slow_down).
      t.same(await store.poll(deviceKey, now + 17_999), { kind: 'slow_down', intervalSeconds: 20 })
      t.same(await store.poll(deviceKey, now + 37_999), { kind: 'pending' })
      t.same(await store.poll(deviceKey, now + 57_999), { kind: 'pending' }, 'the interval stays')
    },
  )

  withStore(
    'approved: handed out once, then spent; the page no longer finds it',
    async (t, store) => {
      const now = Date.now()
      const { deviceKey, userKey } = keys()
      await store.create(deviceKey, userKey, requestAt(now), intervalSeconds)
      t.equal(await store.decide(userKey, { approved: grant }, now + 1000), true)
      t.equal(await store.pending(userKey, now + 1000), undefined)
      t.equal(await store.decide(userKey, 'denied', now + 1000), false, 'decided once')
      t.same(await store.poll(deviceKey, now + 2000), { kind: 'approved', grant })
      t.same(await store.poll(deviceKey, now + 8000), { kind: 'spent' })
      t.same(await store.poll(deviceKey, now + 9000), { kind: 'spent' }, 'spent, not slow_down')
      t.same(
        await store.poll(deviceKey, now + lifetimeMs + 1),
        { kind: 'spent' },
        'even after expiry',
      )
    },
  )

  withStore('denied: every poll says so', async (t, store) => {
    const now = Date.now()
    const { deviceKey, userKey } = keys()
    await store.create(deviceKey, userKey, requestAt(now), intervalSeconds)
    t.equal(await store.decide(userKey, 'denied', now + 1000), true)
    t.equal(await store.decide(userKey, { approved: grant }, now + 1000), false)
    t.same(await store.poll(deviceKey, now + 2000), { kind: 'denied' })
    t.same(await store.poll(deviceKey, now + 8000), { kind: 'denied' })
  })

  withStore(
    'expiry: no decision, polls answer expired, unknown keys stay unknown',
    async (t, store) => {
      const now = Date.now()
      const { deviceKey, userKey } = keys()
      await store.create(deviceKey, userKey, requestAt(now), intervalSeconds)
      t.equal(await store.decide(userKey, { approved: grant }, now + lifetimeMs), false)
      t.same(await store.poll(deviceKey, now + lifetimeMs), { kind: 'expired' })
      t.same(await store.poll(deviceKey, now + lifetimeMs + keptAfterExpiryMs - 1), {
        kind: 'expired',
      })
      t.same(await store.poll(deviceKey, now + lifetimeMs + keptAfterExpiryMs), { kind: 'unknown' })
      t.equal(await store.decide(`${userKey}X`, 'denied', now), false, 'an unknown user key')
    },
  )

  withStore('approved but not fetched before expiry: expired', async (t, store) => {
    const now = Date.now()
    const { deviceKey, userKey } = keys()
    await store.create(deviceKey, userKey, requestAt(now), intervalSeconds)
    await store.decide(userKey, { approved: grant }, now + 1000)
    t.same(await store.poll(deviceKey, now + lifetimeMs), { kind: 'expired' })
  })

  withStore(
    'wrong user codes: counted per address in a window that starts at the first',
    async (t, store) => {
      const now = Date.now()
      const address = `198.51.100.${randomBytes(1)[0]}`
      t.equal(await store.wrongUserCodes(address, now), 0)
      t.equal(await store.recordWrongUserCode(address, windowMs, now), 1)
      t.equal(await store.recordWrongUserCode(address, windowMs, now + 1000), 2)
      t.equal(
        await store.recordWrongUserCode(address, windowMs, now + windowMs - 1),
        3,
        'not extended',
      )
      t.equal(await store.wrongUserCodes(address, now + windowMs - 1), 3)
      t.equal(await store.wrongUserCodes('2001:db8::1', now), 0, 'another address')
      t.equal(await store.wrongUserCodes(address, now + windowMs), 0, 'the window is over')
      t.equal(await store.recordWrongUserCode(address, windowMs, now + windowMs), 1, 'a new window')
      t.equal(await store.wrongUserCodes(address, now + windowMs + 1), 1)
    },
  )

  withStore(
    'many parallel polls of an approved request: exactly one gets the grant',
    async (t, store) => {
      for (let round = 0; round < 20; round++) {
        const now = Date.now()
        const { deviceKey, userKey } = keys()
        await store.create(deviceKey, userKey, requestAt(now), intervalSeconds)
        await store.decide(userKey, { approved: grant }, now)
        const outcomes = await Promise.all(
          Array.from({ length: 25 }, () => store.poll(deviceKey, now + 1000)),
        )
        const approved = outcomes.filter((outcome) => outcome.kind === 'approved')
        t.equal(approved.length, 1, `round ${round}: one grant`)
        t.ok(
          outcomes.every((outcome) => outcome.kind === 'approved' || outcome.kind === 'spent'),
          'the others: spent',
        )
      }
    },
  )

  withStore('closed: every method rejects with StoreUnavailableError', async (t, store) => {
    await store.close()
    const now = Date.now()
    const { deviceKey, userKey } = keys()
    await t.rejects(store.poll(deviceKey, now), StoreUnavailableError)
    await t.rejects(store.pending(userKey, now), StoreUnavailableError)
    await t.rejects(store.create(deviceKey, userKey, requestAt(now), 5), StoreUnavailableError)
    await t.rejects(store.decide(userKey, 'denied', now), StoreUnavailableError)
    await t.rejects(store.recordWrongUserCode('192.0.2.9', windowMs, now), StoreUnavailableError)
    await t.rejects(store.wrongUserCodes('192.0.2.9', now), StoreUnavailableError)
  })

  withStore('parallel decisions and creations: one wins', async (t, store) => {
    const now = Date.now()
    const { deviceKey, userKey } = keys()
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        store.create(
          index === 0 ? deviceKey : keys().deviceKey,
          userKey,
          requestAt(now),
          intervalSeconds,
        ),
      ),
    )
    t.equal(created.filter(Boolean).length, 1, 'one creation per user key')
    const decided = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        store.decide(userKey, index % 2 === 0 ? { approved: grant } : 'denied', now + 1),
      ),
    )
    t.equal(decided.filter(Boolean).length, 1, 'one decision')
  })
}
