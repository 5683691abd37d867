// The behaviour every DeviceStore must show, run against each implementation by its own test
// file (store-contract-memory.test.ts, store-contract-redis.test.ts): the same table, the same
// answers, so the routes cannot tell which store they run on.

import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import {
  type DeviceRequest,
  type DeviceStore,
  keptAfterExpiryMs,
  type PendingLimits,
  StoreFullError,
  StoreUnavailableError,
} from '../../src/device/store.js'

/** A fresh store for one test, with the given caps (else the defaults); the contract closes it. */
export type MakeStore = (limits?: Partial<PendingLimits>) => Promise<DeviceStore>

const lifetimeMs = 600_000
const intervalSeconds = 5
const windowMs = 600_000

/** The store keeps grants as the callback sealed them: an opaque string, handed back as it is. */
const grant = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..sealed-grant.opaque.value'

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
  const withStore = (
    name: string,
    body: (t: Test, store: DeviceStore) => Promise<void>,
    limits?: Partial<PendingLimits>,
  ) =>
    t.test(name, async (t) => {
      const store = await makeStore(limits)
      t.teardown(() => store.close())
      await body(t, store)
    })
  /** An address of its own per call, so stores shared between tests never mix up their counts. */
  const anAddress = () => `2001:db8:${randomBytes(2).toString('hex')}:${sequence++}::`

  withStore('create, then the page finds the pending request by its user key', async (t, store) => {
    const now = Date.now()
    const address = anAddress()
    const { deviceKey, userKey } = keys()
    const request = requestAt(now)
    t.equal(await store.create(deviceKey, userKey, request, intervalSeconds, address), 'created')
    t.same(await store.pending(userKey, now + 1000), { deviceKey, request })
    t.equal(await store.pending(`${userKey}X`, now), undefined, 'unknown user key')
    t.equal(await store.pending(userKey, now + lifetimeMs), undefined, 'expired')
  })

  withStore(
    'a request without a client name, and one full of markup, come back as sent',
    async (t, store) => {
      const now = Date.now()
      const address = anAddress()
      for (const clientName of [undefined, '<script>alert("x")</script> & "quotes"']) {
        const { deviceKey, userKey } = keys()
        const request = { ...requestAt(now), clientName }
        await store.create(deviceKey, userKey, request, intervalSeconds, address)
        t.same(await store.pending(userKey, now), { deviceKey, request })
      }
    },
  )

  withStore('a user key that is taken is refused (the caller draws another)', async (t, store) => {
    const now = Date.now()
    const address = anAddress()
    const { deviceKey, userKey } = keys()
    t.equal(
      await store.create(deviceKey, userKey, requestAt(now), intervalSeconds, address),
      'created',
    )
    t.equal(
      await store.create(keys().deviceKey, userKey, requestAt(now), intervalSeconds, address),
      'taken',
    )
    t.equal(
      (await store.pending(userKey, now))?.request.requestedAt,
      now,
      'the first request stays',
    )
    const other = keys()
    t.equal(
      await store.create(deviceKey, other.userKey, requestAt(now), intervalSeconds, address),
      'taken',
      'a device key that is taken is refused too',
    )
    t.equal(await store.pending(other.userKey, now), undefined)
  })

  withStore(
    'polls: unknown, pending, slow_down adding 5 s each time, pending again',
    async (t, store) => {
      const now = Date.now()
      const address = anAddress()
      const { deviceKey, userKey } = keys()
      t.same(await store.poll(deviceKey, now), { kind: 'unknown' })
      await store.create(deviceKey, userKey, requestAt(now), intervalSeconds, address)
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
      const address = anAddress()
      const { deviceKey, userKey } = keys()
      await store.create(deviceKey, userKey, requestAt(now), intervalSeconds, address)
      t.equal(await store.decide(deviceKey, userKey, { approved: grant }, now + 1000), true)
      t.equal(await store.pending(userKey, now + 1000), undefined)
      t.equal(await store.decide(deviceKey, userKey, 'denied', now + 1000), false, 'decided once')
      t.same(await store.poll(deviceKey, now + 2000), { kind: 'approved', sealedGrant: grant })
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
    const address = anAddress()
    const { deviceKey, userKey } = keys()
    await store.create(deviceKey, userKey, requestAt(now), intervalSeconds, address)
    t.equal(await store.decide(deviceKey, userKey, 'denied', now + 1000), true)
    t.equal(await store.decide(deviceKey, userKey, { approved: grant }, now + 1000), false)
    t.same(await store.poll(deviceKey, now + 2000), { kind: 'denied' })
    t.same(await store.poll(deviceKey, now + 8000), { kind: 'denied' })
  })

  withStore(
    'expiry: no decision, polls answer expired, unknown keys stay unknown',
    async (t, store) => {
      const now = Date.now()
      const address = anAddress()
      const { deviceKey, userKey } = keys()
      await store.create(deviceKey, userKey, requestAt(now), intervalSeconds, address)
      t.equal(await store.decide(deviceKey, userKey, { approved: grant }, now + lifetimeMs), false)
      t.same(await store.poll(deviceKey, now + lifetimeMs), { kind: 'expired' })
      t.same(await store.poll(deviceKey, now + lifetimeMs + keptAfterExpiryMs - 1), {
        kind: 'expired',
      })
      t.same(await store.poll(deviceKey, now + lifetimeMs + keptAfterExpiryMs), { kind: 'unknown' })
      t.equal(
        await store.decide(deviceKey, `${userKey}X`, 'denied', now),
        false,
        'an unknown user key',
      )
    },
  )

  withStore('approved but not fetched before expiry: expired', async (t, store) => {
    const now = Date.now()
    const address = anAddress()
    const { deviceKey, userKey } = keys()
    await store.create(deviceKey, userKey, requestAt(now), intervalSeconds, address)
    await store.decide(deviceKey, userKey, { approved: grant }, now + 1000)
    t.same(await store.poll(deviceKey, now + lifetimeMs), { kind: 'expired' })
  })

  withStore(
    'attempts: counted per counter and address in a window that starts at the first',
    async (t, store) => {
      const now = Date.now()
      const address = anAddress()
      const count = (at: number) => store.countAttempt('wrong-user-code', address, windowMs, at)
      t.equal(await count(now), 1)
      t.equal(await count(now + 1000), 2)
      t.equal(await count(now + windowMs - 1), 3, 'not extended')
      t.equal(
        await store.countAttempt('unknown-device-code', address, windowMs, now),
        1,
        'another counter',
      )
      t.equal(
        await store.countAttempt('wrong-user-code', anAddress(), windowMs, now),
        1,
        'another address',
      )
      t.equal(await count(now + windowMs), 1, 'the window is over: a new one')
    },
  )

  withStore('attempts: a refund takes one back, within the window only', async (t, store) => {
    const now = Date.now()
    const address = anAddress()
    const count = (at: number) => store.countAttempt('wrong-user-code', address, windowMs, at)
    await count(now)
    await count(now)
    await store.refundAttempt('wrong-user-code', address, now + 1)
    t.equal(await count(now + 2), 2, 'the refunded attempt does not count')
    await store.refundAttempt('wrong-user-code', anAddress(), now)
    await store.refundAttempt('wrong-user-code', address, now + windowMs)
    t.equal(await count(now + windowMs), 1, 'a refund after the window changes nothing')
    await store.refundAttempt('unknown-device-code', anAddress(), now)
    t.equal(
      await store.countAttempt('unknown-device-code', anAddress(), windowMs, now),
      1,
      'never below zero',
    )
  })

  withStore(
    'attempts: 100 at once each get their own count, so a limit of 10 lets 10 through',
    async (t, store) => {
      const now = Date.now()
      const address = anAddress()
      const counts = await Promise.all(
        Array.from({ length: 100 }, () =>
          store.countAttempt('wrong-user-code', address, windowMs, now),
        ),
      )
      t.same(
        [...counts].sort((a, b) => a - b),
        Array.from({ length: 100 }, (_, index) => index + 1),
      )
      t.equal(counts.filter((count) => count <= 10).length, 10)
    },
  )

  withStore(
    'live requests per address: at most the cap; expired and decided ones make room',
    async (t, store) => {
      const now = Date.now()
      const address = anAddress()
      const made = []
      for (let index = 0; index < 3; index++) {
        const made1 = keys()
        made.push(made1)
        t.equal(
          await store.create(made1.deviceKey, made1.userKey, requestAt(now), 5, address),
          'created',
        )
      }
      const refused = keys()
      t.equal(
        await store.create(refused.deviceKey, refused.userKey, requestAt(now), 5, address),
        'address_limit',
      )
      t.equal(await store.pending(refused.userKey, now), undefined, 'nothing was saved')
      const other = keys()
      t.equal(
        await store.create(other.deviceKey, other.userKey, requestAt(now), 5, anAddress()),
        'created',
        'another address',
      )
      const [first, second] = made
      if (first === undefined || second === undefined) throw new Error('three were made')
      t.equal(await store.decide(first.deviceKey, first.userKey, 'denied', now + 1), true)
      const next = keys()
      t.equal(
        await store.create(next.deviceKey, next.userKey, requestAt(now + 2), 5, address),
        'created',
        'a decided request no longer counts',
      )
      const later = keys()
      t.equal(
        await store.create(later.deviceKey, later.userKey, requestAt(now + lifetimeMs), 5, address),
        'created',
        'expired requests no longer count',
      )
    },
    { maxPendingPerAddress: 3 },
  )

  withStore(
    'the store holds at most its cap of live requests; expired ones do not count',
    async (t, store) => {
      const now = Date.now()
      const made = []
      for (let index = 0; index < 3; index++) {
        const next = keys()
        made.push(next)
        await store.create(next.deviceKey, next.userKey, requestAt(now), 5, anAddress())
      }
      const refused = keys()
      await t.rejects(
        store.create(refused.deviceKey, refused.userKey, requestAt(now), 5, anAddress()),
        StoreFullError,
      )
      const [first] = made
      if (first === undefined) throw new Error('three were made')
      await store.decide(first.deviceKey, first.userKey, { approved: grant }, now + 1)
      t.equal(
        await store.create(refused.deviceKey, refused.userKey, requestAt(now + 2), 5, anAddress()),
        'created',
        'a decided request makes room',
      )
      const later = keys()
      t.equal(
        await store.create(
          later.deviceKey,
          later.userKey,
          requestAt(now + lifetimeMs),
          5,
          anAddress(),
        ),
        'created',
        'expired requests make room at once, not when forgotten',
      )
    },
    { maxPending: 3 },
  )

  withStore(
    'decide names the request: another device key with the same user key decides nothing',
    async (t, store) => {
      const now = Date.now()
      const address = anAddress()
      const { deviceKey, userKey } = keys()
      await store.create(deviceKey, userKey, requestAt(now), intervalSeconds, address)
      t.equal(await store.decide(keys().deviceKey, userKey, 'denied', now), false)
      t.equal(await store.decide(deviceKey, keys().userKey, 'denied', now), false)
      t.same((await store.pending(userKey, now))?.deviceKey, deviceKey, 'still pending')
    },
  )

  withStore(
    'many parallel polls of an approved request: exactly one gets the grant',
    async (t, store) => {
      for (let round = 0; round < 20; round++) {
        const now = Date.now()
        const address = anAddress()
        const { deviceKey, userKey } = keys()
        await store.create(deviceKey, userKey, requestAt(now), intervalSeconds, address)
        await store.decide(deviceKey, userKey, { approved: grant }, now)
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
    const address = anAddress()
    const { deviceKey, userKey } = keys()
    await t.rejects(store.poll(deviceKey, now), StoreUnavailableError)
    await t.rejects(store.pending(userKey, now), StoreUnavailableError)
    await t.rejects(
      store.create(deviceKey, userKey, requestAt(now), 5, address),
      StoreUnavailableError,
    )
    await t.rejects(store.decide(deviceKey, userKey, 'denied', now), StoreUnavailableError)
    await t.rejects(
      store.countAttempt('wrong-user-code', '192.0.2.9', windowMs, now),
      StoreUnavailableError,
    )
    await t.rejects(store.refundAttempt('wrong-user-code', '192.0.2.9', now), StoreUnavailableError)
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
          anAddress(),
        ),
      ),
    )
    t.equal(created.filter((c) => c === 'created').length, 1, 'one creation per user key')
    const decided = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        store.decide(deviceKey, userKey, index % 2 === 0 ? { approved: grant } : 'denied', now + 1),
      ),
    )
    t.equal(decided.filter(Boolean).length, 1, 'one decision')
  })
}
