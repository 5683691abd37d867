// The store contract against the Redis store on a real redis-server, and what only it does:
// keys that expire on their own under one prefix, and an outage answered at once with
// StoreUnavailableError, then recovery without a new store.

import pino from 'pino'
import t from 'tap'
import { createRedisDeviceStore } from '../../src/device/redis-store.js'
import { keptAfterExpiryMs, StoreUnavailableError } from '../../src/device/store.js'
import {
  connectSharedStore,
  type SharedStoreConnection,
  sharedStoreKeyPrefix,
} from '../../src/shared-store/connection.js'
import { redisServerMissing, startRedis } from '../helpers/redis.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { waitFor } from '../helpers/wait.js'
import { storeContract } from './store-contract.js'

await whenToolPresent(t, redisServerMissing(), async () => {
  const redis = await startRedis()
  t.teardown(() => redis.close())
  const silent = pino({ level: 'silent' })

  async function connected(log = silent, states: boolean[] = []): Promise<SharedStoreConnection> {
    const connection = connectSharedStore(new URL(redis.url), log, {
      state: (up) => states.push(up),
    })
    connection.start()
    await waitFor('the store connection', () => (connection.up ? true : undefined))
    return connection
  }

  t.test('the contract', async (t) => {
    storeContract(t, async (limits) => {
      const connection = await connected()
      // The cap counts every live request on the server: a test of it starts from an empty one
      // (the contract's tests run one after another).
      if (limits?.maxPending !== undefined) await connection.client.flushdb()
      return createRedisDeviceStore(connection, limits)
    })
  })

  t.test('every key expires on its own, under the prefix', async (t) => {
    const connection = await connected()
    const store = createRedisDeviceStore(connection)
    t.teardown(() => store.close())
    const now = Date.now()
    await store.create(
      'device-ttl',
      'TTLTTLTT',
      {
        userCode: 'TTLTTLTT',
        clientName: undefined,
        requestedFrom: '127.0.0.1',
        requestedAt: now,
        expiresAt: now + 600_000,
      },
      5,
      '192.0.2.1',
    )
    await store.countAttempt('wrong-user-code', '192.0.2.1', 60_000, now)
    // A plain client, without the prefix, sees the keys as the server holds them.
    const { client } = connection
    const raw = client.duplicate({ keyPrefix: '' })
    t.teardown(() => raw.disconnect())
    await raw.connect()
    const names = (await raw.keys('*')).filter((name) =>
      /device-ttl|TTLTTLTT|192\.0\.2\.1|pending$/.test(name),
    )
    t.same(names.sort(), [
      `${sharedStoreKeyPrefix}attempts:wrong-user-code:192.0.2.1`,
      `${sharedStoreKeyPrefix}device:device-ttl`,
      `${sharedStoreKeyPrefix}pending`,
      `${sharedStoreKeyPrefix}pending-from:192.0.2.1`,
      `${sharedStoreKeyPrefix}user:TTLTTLTT`,
    ])
    const ttl = (name: string) => raw.pttl(`${sharedStoreKeyPrefix}${name}`)
    const deviceTtl = await ttl('device:device-ttl')
    t.ok(deviceTtl > 600_000 && deviceTtl <= 600_000 + keptAfterExpiryMs, 'request: expiry + kept')
    const userTtl = await ttl('user:TTLTTLTT')
    t.ok(userTtl > 590_000 && userTtl <= 600_000, 'user key: until the request expires')
    for (const name of ['pending', 'pending-from:192.0.2.1']) {
      const pendingTtl = await ttl(name)
      t.ok(pendingTtl > 0 && pendingTtl <= 600_000, `${name}: until its newest request expires`)
    }
    const windowTtl = await ttl('attempts:wrong-user-code:192.0.2.1')
    t.ok(windowTtl > 50_000 && windowTtl <= 60_000, 'attempts: the window')

    await store.decide('device-ttl', 'TTLTTLTT', { approved: 'sealed' }, now)
    t.same(await store.poll('device-ttl', now + 600_000), { kind: 'expired' })
    t.equal(
      await raw.hexists(`${sharedStoreKeyPrefix}device:device-ttl`, 'grant'),
      0,
      'a grant not fetched before expiry is dropped',
    )
  })

  t.test('a count that is no number is a store error, never "no limit"', async (t) => {
    const connection = await connected()
    const store = createRedisDeviceStore(connection)
    t.teardown(() => store.close())
    const now = Date.now()
    await connection.client.hset('attempts:wrong-user-code:192.0.2.66', {
      count: 'garbage',
      windowEndsAt: now + 60_000,
    })
    await t.rejects(
      store.countAttempt('wrong-user-code', '192.0.2.66', 60_000, now),
      StoreUnavailableError,
    )
  })

  t.test(
    'an outage: StoreUnavailableError at once, the state logged once, then recovery',
    async (t) => {
      const lines: { level: number; msg: string; reason?: string }[] = []
      const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
      const states: boolean[] = []
      const store = createRedisDeviceStore(await connected(log, states))
      t.teardown(() => store.close())
      t.same(states, [true])

      await redis.stop()
      await waitFor('the store to notice', () => (states.at(-1) === false ? true : undefined))
      const calls: Promise<unknown>[] = [
        store.poll('some-device', Date.now()),
        store.pending('ABCDEFGH', Date.now()),
        store.decide('some-device', 'ABCDEFGH', 'denied', Date.now()),
        store.create(
          'd',
          'u',
          {
            userCode: 'u',
            clientName: undefined,
            requestedFrom: '127.0.0.1',
            requestedAt: Date.now(),
            expiresAt: Date.now() + 1000,
          },
          5,
          '127.0.0.1',
        ),
        store.countAttempt('wrong-user-code', '127.0.0.1', 1000, Date.now()),
        store.refundAttempt('wrong-user-code', '127.0.0.1', Date.now()),
      ]
      for (const call of calls) await t.rejects(call, StoreUnavailableError)
      // Reconnection attempts keep failing; the log says so once.
      await new Promise((resolve) => setTimeout(resolve, 500))
      t.equal(lines.filter((line) => /unreachable/.test(line.msg)).length, 1, 'one line when down')

      await redis.start()
      await waitFor('the store to be back', () => (states.at(-1) === true ? true : undefined))
      t.same(await store.poll('some-device', Date.now()), { kind: 'unknown' }, 'answers again')
      t.same(states, [true, false, true])
      t.match(
        lines.map((line) => line.msg),
        [/shared store connected/, /shared store unreachable/, /shared store reachable again/],
      )
      t.notMatch(JSON.stringify(lines), /redis:\/\//, 'the URL is never logged')
    },
  )

  t.test(
    'a server that stops answering: StoreUnavailableError after the command timeout, answers stay in order afterwards',
    async (t) => {
      const connection = await connected()
      const store = createRedisDeviceStore(connection)
      t.teardown(() => store.close())
      const now = Date.now()
      const request = {
        userCode: 'BCDFGHJK',
        clientName: 'before the freeze',
        requestedFrom: '127.0.0.1',
        requestedAt: now,
        expiresAt: now + 600_000,
      }
      await store.create('frozen-device', 'frozen-user', request, 5, '127.0.0.1')
      redis.pause()
      const asked = performance.now()
      await t.rejects(store.poll('frozen-device', now), StoreUnavailableError)
      const waited = performance.now() - asked
      await t.rejects(store.pending('frozen-user', now), StoreUnavailableError)
      redis.resume()
      // The late replies to the abandoned commands must not be taken for the answers to new ones.
      t.same(await store.pending('frozen-user', now), { deviceKey: 'frozen-device', request })
      t.same(await store.poll('unknown-device', now), { kind: 'unknown' })
      t.equal(await store.countAttempt('wrong-user-code', '203.0.113.99', 1000, now), 1)
      t.comment(`a frozen server: StoreUnavailableError after ${waited.toFixed(0)} ms`)
    },
  )
})
