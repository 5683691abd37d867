import {
  maxUnknownDeviceCodePolls,
  maxWrongUserCodes,
  unknownDeviceCodeWindowMs,
  wrongUserCodeWindowMs,
} from '../../../device/device-login.js'
import {
  type AttemptCounter,
  type DeviceStore,
  StoreFullError,
  StoreUnavailableError,
} from '../../../device/store.js'
import { AuthError } from '../../../errors.js'

/**
 * A device store call, its outage turned into 503 `store_unavailable`. Only device routes call
 * the store, so browser logins and the exchange never see this error.
 */
export async function fromStore<T>(call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (error) {
    if (error instanceof StoreUnavailableError || error instanceof StoreFullError) {
      throw new AuthError('store_unavailable', undefined, `device store: ${error.message}`)
    }
    throw error
  }
}

const attemptLimits: Record<
  AttemptCounter,
  {
    readonly max: number
    readonly windowMs: number
    readonly tooMany: string
    readonly what: string
  }
> = {
  'wrong-user-code': {
    max: maxWrongUserCodes,
    windowMs: wrongUserCodeWindowMs,
    tooMany: 'Too many wrong codes were entered from this address.',
    what: 'wrong user codes',
  },
  'unknown-device-code': {
    max: maxUnknownDeviceCodePolls,
    windowMs: unknownDeviceCodeWindowMs,
    tooMany: 'Too many polls with unknown device codes came from this address.',
    what: 'unknown device codes',
  },
}

/**
 * Counts one attempt of `address` before the store is asked about the code it brings, in one
 * atomic step, so parallel attempts cannot slip past the limit, and a store that cannot count
 * answers 503 before any lookup (that answer then reveals nothing about the code). Refuses with
 * 429 once the address is over its limit; the caller refunds the attempt when the code was good.
 */
export async function countAttempt(
  store: DeviceStore,
  counter: AttemptCounter,
  address: string,
  now: number,
): Promise<void> {
  const { max, windowMs, tooMany, what } = attemptLimits[counter]
  const attempts = await fromStore(store.countAttempt(counter, address, windowMs, now))
  if (attempts > max) {
    throw new AuthError(
      'rate_limited',
      `${tooMany} Wait up to ${windowMs / 60_000} minutes and try again.`,
      `${max} ${what} within the window`,
    )
  }
}
