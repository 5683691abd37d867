// The device store of a single instance: plain maps in this process. Node runs one callback at a
// time and no method awaits anything between reading and writing an entry, so every change is
// atomic without locks.

import {
  type DeviceGrant,
  type DeviceRequest,
  type DeviceStore,
  keptAfterExpiryMs,
  type PollOutcome,
  StoreFullError,
  StoreUnavailableError,
  type Verdict,
} from './store.js'

export interface MemoryStoreOptions {
  /** Requests held at once, whatever their state; {@link StoreFullError} beyond. */
  maxRequests?: number
  /** Addresses whose wrong user codes are counted at once; the oldest window is dropped beyond. */
  maxAddresses?: number
  /** How often expired entries are swept; 0: only lazily, as they are met. */
  sweepIntervalMs?: number
}

/** About 1 KiB each at most (a 64-character client name, a grant with a few permissions). */
export const defaultMaxRequests = 10_000
const defaultMaxAddresses = 10_000
const defaultSweepIntervalMs = 60_000

interface Entry {
  readonly request: DeviceRequest
  readonly userKey: string
  state: 'pending' | 'approved' | 'denied' | 'spent'
  grant: DeviceGrant | undefined
  intervalMs: number
  lastPollAt: number | undefined
}

interface WrongCodeWindow {
  count: number
  readonly endsAt: number
}

export function createMemoryDeviceStore(options: MemoryStoreOptions = {}): DeviceStore {
  const maxRequests = options.maxRequests ?? defaultMaxRequests
  const maxAddresses = options.maxAddresses ?? defaultMaxAddresses
  const sweepIntervalMs = options.sweepIntervalMs ?? defaultSweepIntervalMs
  /** By device key. */
  const entries = new Map<string, Entry>()
  /** User key → device key, while the request may still be decided. */
  const byUserKey = new Map<string, string>()
  /** By address; Map order is insertion order, so the first one is the oldest window. */
  const wrongCodes = new Map<string, WrongCodeWindow>()
  let closed = false

  const forgotten = (entry: Entry, now: number) =>
    now >= entry.request.expiresAt + keptAfterExpiryMs

  function forget(deviceKey: string, entry: Entry): void {
    entries.delete(deviceKey)
    if (byUserKey.get(entry.userKey) === deviceKey) byUserKey.delete(entry.userKey)
  }

  function sweep(now: number): void {
    for (const [key, entry] of entries) if (forgotten(entry, now)) forget(key, entry)
    for (const [address, window] of wrongCodes) if (now >= window.endsAt) wrongCodes.delete(address)
  }

  const timer =
    sweepIntervalMs > 0 ? setInterval(() => sweep(Date.now()), sweepIntervalMs) : undefined
  timer?.unref()

  function open(): void {
    if (closed) throw new StoreUnavailableError('the device store is closed')
  }

  /** The pending, unexpired entry behind a user key. */
  function pendingEntry(userKey: string, now: number): Entry | undefined {
    const deviceKey = byUserKey.get(userKey)
    const entry = deviceKey === undefined ? undefined : entries.get(deviceKey)
    if (entry === undefined || deviceKey === undefined) return undefined
    if (forgotten(entry, now)) {
      forget(deviceKey, entry)
      return undefined
    }
    return entry.state === 'pending' && now < entry.request.expiresAt ? entry : undefined
  }

  return {
    async create(deviceKey, userKey, request, intervalSeconds) {
      open()
      const existing = byUserKey.get(userKey)
      if (existing !== undefined) {
        const entry = entries.get(existing)
        if (entry !== undefined && !forgotten(entry, request.requestedAt)) return false
      }
      if (entries.has(deviceKey)) return false
      if (entries.size >= maxRequests) {
        sweep(request.requestedAt)
        if (entries.size >= maxRequests) {
          throw new StoreFullError(`the device store holds its maximum of ${maxRequests} requests`)
        }
      }
      entries.set(deviceKey, {
        request,
        userKey,
        state: 'pending',
        grant: undefined,
        intervalMs: intervalSeconds * 1000,
        lastPollAt: undefined,
      })
      byUserKey.set(userKey, deviceKey)
      return true
    },

    async pending(userKey, now) {
      open()
      return pendingEntry(userKey, now)?.request
    },

    async decide(userKey, verdict: Verdict, now) {
      open()
      const entry = pendingEntry(userKey, now)
      if (entry === undefined) return false
      if (verdict === 'denied') {
        entry.state = 'denied'
      } else {
        entry.state = 'approved'
        entry.grant = verdict.approved
      }
      return true
    },

    async poll(deviceKey, now): Promise<PollOutcome> {
      open()
      const entry = entries.get(deviceKey)
      if (entry === undefined) return { kind: 'unknown' }
      if (forgotten(entry, now)) {
        forget(deviceKey, entry)
        return { kind: 'unknown' }
      }
      if (entry.state === 'spent') return { kind: 'spent' }
      if (now >= entry.request.expiresAt) return { kind: 'expired' }
      const previous = entry.lastPollAt
      entry.lastPollAt = now
      if (previous !== undefined && now - previous < entry.intervalMs) {
        // RFC 8628 section 3.5: this and every later poll waits 5 seconds longer.
        entry.intervalMs += 5000
        return { kind: 'slow_down', intervalSeconds: entry.intervalMs / 1000 }
      }
      if (entry.state === 'pending') return { kind: 'pending' }
      if (entry.state === 'denied') return { kind: 'denied' }
      const grant = entry.grant as DeviceGrant
      entry.state = 'spent'
      entry.grant = undefined
      return { kind: 'approved', grant }
    },

    async recordWrongUserCode(address, windowMs, now) {
      open()
      let window = wrongCodes.get(address)
      if (window !== undefined && now >= window.endsAt) {
        wrongCodes.delete(address)
        window = undefined
      }
      if (window === undefined) {
        if (wrongCodes.size >= maxAddresses) {
          sweep(now)
          const oldest = wrongCodes.keys().next()
          if (wrongCodes.size >= maxAddresses && !oldest.done) wrongCodes.delete(oldest.value)
        }
        window = { count: 0, endsAt: now + windowMs }
        wrongCodes.set(address, window)
      }
      window.count += 1
      return window.count
    },

    async wrongUserCodes(address, now) {
      open()
      const window = wrongCodes.get(address)
      return window !== undefined && now < window.endsAt ? window.count : 0
    },

    async close() {
      closed = true
      if (timer !== undefined) clearInterval(timer)
      entries.clear()
      byUserKey.clear()
      wrongCodes.clear()
    },
  }
}
