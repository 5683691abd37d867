// Device requests in Redis or Valkey, shared by every replica. Each key expires on its own (no
// sweeper), every state change is one Lua script (atomic on the server: two replicas polling at
// the same instant get the grant once between them), and time comes from the caller's `now`, so
// replicas and tests agree on what is expired whatever the server's clock says; the keys' own
// expiry only frees the memory.
//
// Keys, below the connection's prefix (see docs/deployment.md, "Sizing"):
//   device:<deviceKey>       hash: the request, its state, poll interval, last poll, the grant
//                            until handed out; expires keptAfterExpiryMs after the request
//   user:<userKey>           the device key; expires with the request (the code stays taken)
//   wrong-codes:<address>    hash: count and end of the window; expires with the window

import type { SharedStoreConnection } from '../shared-store/connection.js'
import {
  type DeviceGrant,
  type DeviceRequest,
  type DeviceStore,
  keptAfterExpiryMs,
  type PollOutcome,
  StoreUnavailableError,
  type Verdict,
} from './store.js'

const deviceKeyOf = (deviceKey: string) => `device:${deviceKey}`
const userKeyOf = (userKey: string) => `user:${userKey}`
const wrongCodesKeyOf = (address: string) => `wrong-codes:${address}`

/**
 * The scripts, by the command name ioredis defines for each (EVALSHA, falling back to EVAL).
 * Lua compares numbers it got as strings after tonumber(); times are Unix milliseconds.
 */
const scripts = {
  // KEYS: user, device. ARGV: device key, user-key TTL, device TTL, then the hash's fields.
  deviceCreate: {
    numberOfKeys: 2,
    lua: `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`,
  },
  // KEYS: device. ARGV: now, how long an expired request is remembered.
  // Returns {outcome[, interval | grant]}.
  devicePoll: {
    numberOfKeys: 1,
    lua: `
local state, expiresAt, interval, lastPollAt, grant =
  unpack(redis.call('HMGET', KEYS[1], 'state', 'expiresAt', 'interval', 'lastPollAt', 'grant'))
if not state then return {'unknown'} end
if state == 'spent' then return {'spent'} end
local now = tonumber(ARGV[1])
if now >= tonumber(expiresAt) + tonumber(ARGV[2]) then return {'unknown'} end
if now >= tonumber(expiresAt) then return {'expired'} end
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
  // KEYS: device. ARGV: user key, now, verdict ('approved' | 'denied'), grant JSON when approved.
  deviceDecide: {
    numberOfKeys: 1,
    lua: `
local state, expiresAt, userKey = unpack(redis.call('HMGET', KEYS[1], 'state', 'expiresAt', 'userKey'))
if state ~= 'pending' or userKey ~= ARGV[1] or tonumber(ARGV[2]) >= tonumber(expiresAt) then
  return 0
end
if ARGV[3] == 'approved' then
  redis.call('HSET', KEYS[1], 'state', 'approved', 'grant', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'state', 'denied')
end
return 1`,
  },
  // KEYS: wrong codes of one address. ARGV: now, window length, end of a window starting now.
  deviceWrongCode: {
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
export function createRedisDeviceStore(connection: SharedStoreConnection): DeviceStore {
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
    create(deviceKey, userKey, request, intervalSeconds) {
      // Relative lifetimes: the server's clock need not agree with the replicas'.
      const lifetimeMs = Math.max(1, request.expiresAt - request.requestedAt)
      const fields: Argument[] = [
        'userKey',
        userKey,
        'userCode',
        request.userCode,
        'requestedFrom',
        request.requestedFrom,
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
        const created = await commands.deviceCreate(
          userKeyOf(userKey),
          deviceKeyOf(deviceKey),
          deviceKey,
          lifetimeMs,
          lifetimeMs + keptAfterExpiryMs,
          ...fields,
        )
        return created === 1
      })
    },

    pending(userKey, now) {
      return answer(async () => {
        const deviceKey = await deviceKeyFor(userKey)
        if (deviceKey === null) return undefined
        const fields = await client.hmget(deviceKeyOf(deviceKey), ...requestFields)
        return pendingRequest(fields, userKey, now)
      })
    },

    decide(userKey, verdict: Verdict, now) {
      return answer(async () => {
        const deviceKey = await deviceKeyFor(userKey)
        if (deviceKey === null) return false
        const decided =
          verdict === 'denied'
            ? await commands.deviceDecide(deviceKeyOf(deviceKey), userKey, now, 'denied')
            : await commands.deviceDecide(
                deviceKeyOf(deviceKey),
                userKey,
                now,
                'approved',
                JSON.stringify(verdict.approved),
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
            return { kind, grant: JSON.parse(detail ?? 'null') as DeviceGrant }
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

    recordWrongUserCode(address, windowMs, now) {
      return answer(async () =>
        Number(
          await commands.deviceWrongCode(wrongCodesKeyOf(address), now, windowMs, now + windowMs),
        ),
      )
    },

    wrongUserCodes(address, now) {
      return answer(async () => {
        const [count, windowEndsAt] = await client.hmget(
          wrongCodesKeyOf(address),
          'count',
          'windowEndsAt',
        )
        if (count === null || now >= Number(windowEndsAt)) return 0
        return Number(count)
      })
    },

    close() {
      return connection.close()
    },
  }
}
