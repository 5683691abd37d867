// The memory store's rules, moved through time by the `now` every method takes.

import t from 'tap'
import { createMemoryDeviceStore } from '../../src/device/memory-store.js'
import {
  type DeviceRequest,
  keptAfterExpiryMs,
  StoreFullError,
  StoreUnavailableError,
} from '../../src/device/store.js'

const t0 = 1_800_000_000_000
const lifetime = 600_000

function request(userCode: string, requestedAt = t0): DeviceRequest {
  return {
    userCode,
    clientName: 'test terminal',
    requestedFrom: '192.0.2.1',
    requestedAt,
    expiresAt: requestedAt + lifetime,
  }
}

const grant = 'sealed-grant'

function store(options: Parameters<typeof createMemoryDeviceStore>[0] = {}) {
  const created = createMemoryDeviceStore({ sweepIntervalMs: 0, ...options })
  t.teardown(() => created.close())
  return created
}

t.test('pending, decided once, handed out once', async (t) => {
  const s = store()
  t.equal(await s.create('d1', 'u1', request('BCDFGHJK'), 5, '192.0.2.1'), 'created')
  t.equal(
    await s.create('d2', 'u1', request('BCDFGHJK'), 5, '192.0.2.1'),
    'taken',
    'a user key in use',
  )
  t.same(await s.pending('u1', t0), { deviceKey: 'd1', request: request('BCDFGHJK') })
  t.same(await s.poll('d1', t0), { kind: 'pending' })
  t.equal(await s.decide('d1', 'u1', { approved: grant }, t0 + 1000), true)
  t.equal(await s.decide('d1', 'u1', 'denied', t0 + 1000), false, 'decided once')
  t.equal(await s.pending('u1', t0 + 1000), undefined, 'no longer pending')
  t.same(await s.poll('d1', t0 + 5000), { kind: 'approved', sealedGrant: grant })
  t.same(await s.poll('d1', t0 + 20_000), { kind: 'spent' })
  t.same(await s.poll('nope', t0), { kind: 'unknown' })
})

t.test('two polls at the same moment: one grant between them', async (t) => {
  const s = store()
  await s.create('d1', 'u1', request('BCDFGHJK'), 5, '192.0.2.1')
  await s.decide('d1', 'u1', { approved: grant }, t0)
  const outcomes = await Promise.all([s.poll('d1', t0 + 1), s.poll('d1', t0 + 1)])
  t.same(
    outcomes.map((outcome) => outcome.kind),
    ['approved', 'spent'],
  )
})

t.test('slow_down: 5 seconds more for every poll within the interval', async (t) => {
  const s = store()
  await s.create('d1', 'u1', request('BCDFGHJK'), 5, '192.0.2.1')
  t.same(await s.poll('d1', t0), { kind: 'pending' })
  t.same(await s.poll('d1', t0 + 4999), { kind: 'slow_down', intervalSeconds: 10 })
  t.same(await s.poll('d1', t0 + 4999 + 9999), { kind: 'slow_down', intervalSeconds: 15 })
  t.same(await s.poll('d1', t0 + 4999 + 9999 + 15_000), { kind: 'pending' })
})

t.test('cancelled: denied until it expires', async (t) => {
  const s = store()
  await s.create('d1', 'u1', request('BCDFGHJK'), 5, '192.0.2.1')
  t.equal(await s.decide('d1', 'u1', 'denied', t0), true)
  t.same(await s.poll('d1', t0), { kind: 'denied' })
  t.same(await s.poll('d1', t0 + lifetime), { kind: 'expired' })
})

t.test('expiry: expired for a while, then forgotten', async (t) => {
  const s = store()
  await s.create('d1', 'u1', request('BCDFGHJK'), 5, '192.0.2.1')
  t.equal(await s.pending('u1', t0 + lifetime), undefined)
  t.equal(
    await s.decide('d1', 'u1', { approved: grant }, t0 + lifetime),
    false,
    'too late to decide',
  )
  t.same(await s.poll('d1', t0 + lifetime), { kind: 'expired' })
  t.same(await s.poll('d1', t0 + lifetime + keptAfterExpiryMs - 1), { kind: 'expired' })
  t.same(await s.poll('d1', t0 + lifetime + keptAfterExpiryMs), { kind: 'unknown' })
  t.equal(
    await s.create('d2', 'u1', request('BCDFGHJK', t0 + 2 * lifetime), 5, '192.0.2.1'),
    'created',
  )
})

t.test('bounded: StoreFullError at the cap of live requests; leftovers make room', async (t) => {
  const s = store({ maxPending: 2 })
  await s.create('d1', 'u1', request('BCDFGHJK'), 5, '192.0.2.1')
  await s.create('d2', 'u2', request('BCDFGHJL'), 5, '192.0.2.2')
  await t.rejects(s.create('d3', 'u3', request('BCDFGHJM'), 5, '192.0.2.3'), StoreFullError)
  const expired = t0 + lifetime
  t.equal(
    await s.create('d3', 'u3', request('BCDFGHJM', expired), 5, '192.0.2.3'),
    'created',
    'expired requests are dropped at the cap, not kept until forgotten',
  )
  t.same(await s.poll('d1', expired), { kind: 'unknown' }, 'the leftover was dropped')
})

t.test('bounded: an approved request waiting for its poll is never dropped', async (t) => {
  const s = store({ maxPending: 1 })
  await s.create('d1', 'u1', request('BCDFGHJK'), 5, '192.0.2.1')
  await s.decide('d1', 'u1', { approved: grant }, t0)
  t.equal(await s.create('d2', 'u2', request('BCDFGHJL'), 5, '192.0.2.2'), 'created')
  t.same(await s.poll('d1', t0 + 1), { kind: 'approved', sealedGrant: grant })
})

t.test('the timer sweeps and is cleared on close', async (t) => {
  const s = createMemoryDeviceStore({ sweepIntervalMs: 1 })
  await s.create('d1', 'u1', request('BCDFGHJK', 0), 5, '192.0.2.1')
  // Created at the epoch, so the first sweep forgets it.
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(await s.poll('d1', 0), { kind: 'unknown' })
  await s.close()
  await t.rejects(s.poll('d1', 0), StoreUnavailableError, 'a closed store answers nothing')
})

t.test('attempt windows are bounded too', async (t) => {
  const s = store({ maxAddresses: 2 })
  await s.countAttempt('wrong-user-code', 'a', 1000, t0)
  await s.countAttempt('wrong-user-code', 'b', 1000, t0)
  await s.countAttempt('wrong-user-code', 'c', 1000, t0)
  t.equal(await s.countAttempt('wrong-user-code', 'a', 1000, t0), 1, 'the oldest window made room')
  t.equal(await s.countAttempt('wrong-user-code', 'c', 1000, t0), 2)
})
