// The memory store's rules, moved through time by the `now` every method takes.

import t from 'tap'
import { createMemoryDeviceStore } from '../../src/device/memory-store.js'
import {
  type DeviceGrant,
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

const grant: DeviceGrant = {
  subject: 'alice',
  permissions: [{ action: 'publish', resource: 'com.example/*' }],
  rules: ['environment'],
}

function store(options: Parameters<typeof createMemoryDeviceStore>[0] = {}) {
  const created = createMemoryDeviceStore({ sweepIntervalMs: 0, ...options })
  t.teardown(() => created.close())
  return created
}

t.test('pending, decided once, handed out once', async (t) => {
  const s = store()
  t.equal(await s.create('d1', 'u1', request('BCDFGHJK'), 5), true)
  t.equal(await s.create('d2', 'u1', request('BCDFGHJK'), 5), false, 'a user key in use')
  t.same(await s.pending('u1', t0), request('BCDFGHJK'))
  t.same(await s.poll('d1', t0), { kind: 'pending' })
  t.equal(await s.decide('u1', { approved: grant }, t0 + 1000), true)
  t.equal(await s.decide('u1', 'denied', t0 + 1000), false, 'decided once')
  t.equal(await s.pending('u1', t0 + 1000), undefined, 'no longer pending')
  t.same(await s.poll('d1', t0 + 5000), { kind: 'approved', grant })
  t.same(await s.poll('d1', t0 + 20_000), { kind: 'spent' })
  t.same(await s.poll('nope', t0), { kind: 'unknown' })
})

t.test('two polls at the same moment: one grant between them', async (t) => {
  const s = store()
  await s.create('d1', 'u1', request('BCDFGHJK'), 5)
  await s.decide('u1', { approved: grant }, t0)
  const outcomes = await Promise.all([s.poll('d1', t0 + 1), s.poll('d1', t0 + 1)])
  t.same(
    outcomes.map((outcome) => outcome.kind),
    ['approved', 'spent'],
  )
})

t.test('slow_down: 5 seconds more for every poll within the interval', async (t) => {
  const s = store()
  await s.create('d1', 'u1', request('BCDFGHJK'), 5)
  t.same(await s.poll('d1', t0), { kind: 'pending' })
  t.same(await s.poll('d1', t0 + 4999), { kind: 'slow_down', intervalSeconds: 10 })
  t.same(await s.poll('d1', t0 + 4999 + 9999), { kind: 'slow_down', intervalSeconds: 15 })
  t.same(await s.poll('d1', t0 + 4999 + 9999 + 15_000), { kind: 'pending' })
})

t.test('cancelled: denied until it expires', async (t) => {
  const s = store()
  await s.create('d1', 'u1', request('BCDFGHJK'), 5)
  t.equal(await s.decide('u1', 'denied', t0), true)
  t.same(await s.poll('d1', t0), { kind: 'denied' })
  t.same(await s.poll('d1', t0 + lifetime), { kind: 'expired' })
})

t.test('expiry: expired for a while, then forgotten', async (t) => {
  const s = store()
  await s.create('d1', 'u1', request('BCDFGHJK'), 5)
  t.equal(await s.pending('u1', t0 + lifetime), undefined)
  t.equal(await s.decide('u1', { approved: grant }, t0 + lifetime), false, 'too late to decide')
  t.same(await s.poll('d1', t0 + lifetime), { kind: 'expired' })
  t.same(await s.poll('d1', t0 + lifetime + keptAfterExpiryMs - 1), { kind: 'expired' })
  t.same(await s.poll('d1', t0 + lifetime + keptAfterExpiryMs), { kind: 'unknown' })
  t.equal(await s.create('d2', 'u1', request('BCDFGHJK', t0 + 2 * lifetime), 5), true)
})

t.test('bounded: StoreFullError at the cap, room again once entries are forgotten', async (t) => {
  const s = store({ maxRequests: 2 })
  await s.create('d1', 'u1', request('BCDFGHJK'), 5)
  await s.create('d2', 'u2', request('BCDFGHJL'), 5)
  await t.rejects(s.create('d3', 'u3', request('BCDFGHJM'), 5), StoreFullError)
  const later = t0 + lifetime + keptAfterExpiryMs
  t.equal(await s.create('d3', 'u3', request('BCDFGHJM', later), 5), true, 'swept on the way')
})

t.test('the timer sweeps and is cleared on close', async (t) => {
  const s = createMemoryDeviceStore({ sweepIntervalMs: 1 })
  await s.create('d1', 'u1', request('BCDFGHJK', 0), 5)
  // Created at the epoch, so the first sweep forgets it.
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(await s.poll('d1', 0), { kind: 'unknown' })
  await s.close()
  await t.rejects(s.poll('d1', 0), StoreUnavailableError, 'a closed store answers nothing')
})

t.test('wrong user codes: a fixed window per address', async (t) => {
  const s = store()
  const window = 600_000
  t.equal(await s.wrongUserCodes('192.0.2.1', t0), 0)
  for (let i = 1; i <= 10; i++) {
    t.equal(await s.recordWrongUserCode('192.0.2.1', window, t0 + i * 1000), i)
  }
  t.equal(await s.wrongUserCodes('192.0.2.1', t0 + window - 1), 10)
  t.equal(await s.wrongUserCodes('192.0.2.2', t0), 0, 'per address')
  t.equal(await s.wrongUserCodes('192.0.2.1', t0 + window + 1000), 0, 'not extended by later ones')
  t.equal(await s.recordWrongUserCode('192.0.2.1', window, t0 + window + 1000), 1, 'a new window')
})

t.test('wrong-code windows are bounded too', async (t) => {
  const s = store({ maxAddresses: 2 })
  await s.recordWrongUserCode('a', 1000, t0)
  await s.recordWrongUserCode('b', 1000, t0)
  await s.recordWrongUserCode('c', 1000, t0)
  t.equal(await s.wrongUserCodes('a', t0), 0, 'the oldest window made room')
  t.equal(await s.wrongUserCodes('c', t0), 1)
})
