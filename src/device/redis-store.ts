// Device requests in Redis or Valkey, shared by every replica. Each key expires on its own (no
// sweeper), every state change is one Lua script (atomic on the server: two replicas polling at
// the same instant get the grant once between them). Time comes from the calling replica's clock
// (`now`, passed to every script), not the server's: replicas and tests then agree on what is
// expired whatever the server's clock says, and keys' own expiry (relative, PX) only frees memory.
// Replicas whose clocks differ by a second judge expiry and slow_down a second apart.
//
// Keys, below the connection's prefix (see docs/deployment.md, "Sizing"):
//   device:<deviceKey>          hash: the request, its state, poll interval, last poll, the
//                               address, and the sealed grant until handed out or expired;
//                               expires keptAfterExpiryMs after the request
//   user:<userKey>              the device key; expires with the request (the code stays taken)
//   pending                     sorted set: device keys of live requests by expiry (the cap)
//   pending-from:<address>      sorted set: the same, of one address (the per-address cap)
//   attempts:<counter>:<address> hash: count and end of the window; expires with the window

import type { SharedStoreConnection } from '../shared-store/connection.js'
import { maxPendingPerAddress, maxPendingRequests } from './device-login.js'
import {
  type AttemptCounter,
  type Creation,
  type DeviceRequest,
  type DeviceStore,
  keptAfterExpiryMs,
  type PendingLimits,
  type PollOutcome,
  StoreFullError,
  StoreUnavailableError,
  type Verdict,
} from './store.js'

const deviceKeyOf = (deviceKey: string) => `device:${deviceKey}`
const userKeyOf = (userKey: string) => `user:${userKey}`
const allPendingKey = 'pending'
const pendingFromKeyOf = (address: string) => `pending-from:${address}`
const attemptsKeyOf = (counter: AttemptCounter, address: string) => `attempts:${counter}:${address}`

/**
 * The scripts, by the command name ioredis defines for each (EVALSHA, falling back to EVAL).
 * Lua compares numbers it got as strings after tonumber(); times are Unix milliseconds.
 */
const scripts = {
  // KEYS: user, device, pending of the address, all pending. ARGV: device key, user-key TTL,
  // device TTL, now, expiresAt, per-address cap, cap, then the hash's fields.
  // Returns 1 created, 0 taken, -1 address at its cap, -2 store at its cap.
  deviceCreate: {
    numberOfKeys: 4,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[7]) then return -2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 8))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
for index = 3, 4 do
  redis.call('ZADD', KEYS[index], ARGV[5], ARGV[1])
  -- The newest member expires last, so the set may go with it.
  redis.call('PEXPIRE', KEYS[index], ARGV[2])
end
return 1`,
  },
  // KEYS: device. ARGV: now, how long an expired request is remembered.
  // Returns {outcome[, interval | sealed grant]}.
  devicePoll: {
    numberOfKeys: 1,
    lua: `
local state, expiresAt, interval, lastPollAt, grant =
  unpack(redis.call('HMGET', KEYS[1], 'state', 'expiresAt', 'interval', 'lastPollAt', 'grant'))
if not state then return {'unknown'} end
if state == 'spent' then return {'spent'} end
local now = tonumber(ARGV[1])
if now >= tonumber(expiresAt) + tonumber(ARGV[2]) then return {'unknown'} end
if now >= tonumber(expiresAt) then
  if grant then redis.call('HDEL', KEYS[1], 'grant') end
  return {'expired'}
end
redis.call('HSET', KEYS[1], 'lastPollAt', ARGV[1])
interval = tonumber(interval)
if lastPollAt and now - tonumber(lastPollAt) < interval * 1000 then
  interval = interval + 5
  redis.call('HSET', KEYS[1], 'interval', interval)
  return {'slow_down', tostring(interval)}
end
if state == 'approved' then
  redis.call('HSET', KEYS[1], 'state', 'spent')
  redis.call('HDEL', KEYS[1], 'grant')
  return {'approved', grant}
end
return {state}`,
  },
  // KEYS: device, pending of its address, all pending. ARGV: user key, now, verdict
  // ('approved' | 'denied'), device key, sealed grant when approved.
  deviceDecide: {
    numberOfKeys: 3,
    lua: `
local state, expiresAt, userKey = unpack(redis.call('HMGET', KEYS[1], 'state', 'expiresAt', 'userKey'))
if state ~= 'pending' or userKey ~= ARGV[1] or tonumber(ARGV[2]) >= tonumber(expiresAt) then
  return 0
end
if ARGV[3] == 'approved' then
  redis.call('HSET', KEYS[1], 'state', 'approved', 'grant', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'state', 'denied')
end
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[4])
return 1`,
  },
  // KEYS: attempts of one address. ARGV: now, window length, end of a window starting now.
  // HINCRBY fails on a count that is no integer: a store error, never "no limit".
  deviceCountAttempt: {
    numberOfKeys: 1,
    lua: `
local count, windowEndsAt = unpack(redis.call('HMGET', KEYS[1], 'count', 'windowEndsAt'))
if not count or tonumber(ARGV[1]) >= tonumber(windowEndsAt) then
  redis.call('HSET', KEYS[1], 'count', 1, 'windowEndsAt', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return redis.call('HINCRBY', KEYS[1], 'count', 1)`,
  },
  // KEYS: attempts of one address. ARGV: now.
  deviceRefundAttempt: {
    numberOfKeys: 1,
    lua: `
local count, windowEndsAt = unpack(redis.call('HMGET', KEYS[1], 'count', 'windowEndsAt'))
if count and tonumber(ARGV[1]) < tonumber(windowEndsAt) and tonumber(count) > 0 then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
end
return 0`,
  },
} as const

type ScriptName = keyof typeof scripts
type Argument = string | number

const requestFields = [
  'userKey',
  'userCode',
  'clientName',
  'requestedFrom',
  'requestedAt',
  'expiresAt',
  'state',
]

/** What create's script answered. */
const creations: Record<number, Creation | 'full'> = {
  1: 'created',
  0: 'taken',
  [-1]: 'address_limit',
  [-2]: 'full',
}

/** A request's hash fields (HMGET order of {@link requestFields}) as the page shows it, if pending. */
function pendingRequest(
  fields: readonly (string | null)[],
  userKey: string,
  now: number,
): DeviceRequest | undefined {
  const [storedUserKey, userCode, clientName, requestedFrom, requestedAt, expiresAt, state] = fields
  if (state !== 'pending' || storedUserKey !== userKey) return undefined
  if (userCode == null || requestedFrom == null || now >= Number(expiresAt)) return undefined
  return {
    userCode,
    clientName: clientName ?? undefined,
    requestedFrom,
    requestedAt: Number(requestedAt),
    expiresAt: Number(expiresAt),
  }
}

/**
 * A {@link DeviceStore} on the shared connection. It owns the connection: {@link DeviceStore.close}
 * closes it (the rate limit, which shares it, is closed with the app before).
 */
export function createRedisDeviceStore(
  connection: SharedStoreConnection,
  limits: Partial<PendingLimits> = {},
): DeviceStore {
  const maxPending = limits.maxPending ?? maxPendingRequests
  const maxPerAddress = limits.maxPendingPerAddress ?? maxPendingPerAddress
  const { client } = connection
  for (const [name, definition] of Object.entries(scripts)) client.defineCommand(name, definition)
  // defineCommand adds methods ioredis's types cannot know of.
  const commands = client as unknown as Record<
    ScriptName,
    (...args: Argument[]) => Promise<unknown>
  >

  /** Any failure to get an answer (refused, timed out, dropped, server error) is a 503. */
  async function answer<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (error) {
      throw new StoreUnavailableError(
        `the shared store did not answer: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
  }

  /** The device key a user key points to, if it still exists. */
  const deviceKeyFor = (userKey: string) => client.get(userKeyOf(userKey))

  return {
    create(deviceKey, userKey, request, intervalSeconds, address) {
      // Relative lifetimes: the server's clock need not agree with the replicas'.
      const lifetimeMs = Math.max(1, request.expiresAt - request.requestedAt)
      const fields: Argument[] = [
        'userKey',
        userKey,
        'userCode',
        request.userCode,
        'requestedFrom',
        request.requestedFrom,
        'address',
        address,
        'requestedAt',
        request.requestedAt,
        'expiresAt',
        request.expiresAt,
        'state',
        'pending',
        'interval',
        intervalSeconds,
      ]
      if (request.clientName !== undefined) fields.push('clientName', request.clientName)
      return answer(async () => {
        const answered = await commands.deviceCreate(
          userKeyOf(userKey),
          deviceKeyOf(deviceKey),
          pendingFromKeyOf(address),
          allPendingKey,
          deviceKey,
          lifetimeMs,
          lifetimeMs + keptAfterExpiryMs,
          request.requestedAt,
          request.expiresAt,
          maxPerAddress,
          maxPending,
          ...fields,
        )
        const creation = creations[Number(answered)]
        if (creation === undefined) throw new Error(`unexpected create answer ${answered}`)
        return creation
      }).then((creation) => {
        if (creation !== 'full') return creation
        throw new StoreFullError(`the device store holds its maximum of ${maxPending} requests`)
      })
    },

    pending(userKey, now) {
      return answer(async () => {
        const deviceKey = await deviceKeyFor(userKey)
        if (deviceKey === null) return undefined
        const fields = await client.hmget(deviceKeyOf(deviceKey), ...requestFields)
        const request = pendingRequest(fields, userKey, now)
        return request === undefined ? undefined : { deviceKey, request }
      })
    },

    decide(deviceKey, userKey, verdict: Verdict, now) {
      return answer(async () => {
        // The address never changes after create, so reading it first races with nothing.
        const address = await client.hget(deviceKeyOf(deviceKey), 'address')
        if (address === null) return false
        const keys = [deviceKeyOf(deviceKey), pendingFromKeyOf(address), allPendingKey]
        const decided =
          verdict === 'denied'
            ? await commands.deviceDecide(...keys, userKey, now, 'denied', deviceKey)
            : await commands.deviceDecide(
                ...keys,
                userKey,
                now,
                'approved',
                deviceKey,
                verdict.approved,
              )
        return decided === 1
      })
    },

    poll(deviceKey, now): Promise<PollOutcome> {
      return answer(async () => {
        const [kind, detail] = (await commands.devicePoll(
          deviceKeyOf(deviceKey),
          now,
          keptAfterExpiryMs,
        )) as [string, string | undefined]
        switch (kind) {
          case 'slow_down':
            return { kind, intervalSeconds: Number(detail) }
          case 'approved':
            // Opened and checked by the poll route: here it is only an opaque string.
            return { kind, sealedGrant: detail ?? '' }
          case 'unknown':
          case 'spent':
          case 'expired':
          case 'pending':
          case 'denied':
            return { kind }
          default:
            throw new Error(`unexpected poll outcome ${kind}`)
        }
      })
    },

    countAttempt(counter, address, windowMs, now) {
      return answer(async () => {
        const count = Number(
          await commands.deviceCountAttempt(
            attemptsKeyOf(counter, address),
            now,
            windowMs,
            now + windowMs,
          ),
        )
        if (!Number.isSafeInteger(count)) throw new Error('the attempt count is no integer')
        return count
      })
    },

    refundAttempt(counter, address, now) {
      return answer(async () => {
        await commands.deviceRefundAttempt(attemptsKeyOf(counter, address), now)
      })
    },

    close() {
      return connection.close()
    },
  }
}
