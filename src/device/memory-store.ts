// The device store of a single instance: plain maps in this process. Node runs one callback at a
// time and no method awaits anything between reading and writing an entry, so every change is
// atomic without locks.

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

export interface MemoryStoreOptions extends Partial<PendingLimits> {
  /** Addresses whose attempts are counted at once; the oldest window is dropped beyond. */
  maxAddresses?: number
  /** How often expired entries are swept; 0: only lazily, as they are met. */
  sweepIntervalMs?: number
}

const defaultMaxAddresses = 10_000
const defaultSweepIntervalMs = 60_000

interface Entry {
  readonly request: DeviceRequest
  readonly userKey: string
  readonly address: string
  state: 'pending' | 'approved' | 'denied' | 'spent'
  sealedGrant: string | undefined
  intervalMs: number
  lastPollAt: number | undefined
}

interface AttemptWindow {
  count: number
  readonly endsAt: number
}

export function createMemoryDeviceStore(options: MemoryStoreOptions = {}): DeviceStore {
  const maxPending = options.maxPending ?? maxPendingRequests
  const maxPerAddress = options.maxPendingPerAddress ?? maxPendingPerAddress
  const maxAddresses = options.maxAddresses ?? defaultMaxAddresses
  const sweepIntervalMs = options.sweepIntervalMs ?? defaultSweepIntervalMs
  /** By device key; Map order is insertion order, oldest first. */
  const entries = new Map<string, Entry>()
  /** User key → device key, while the request may still be decided. */
  const byUserKey = new Map<string, string>()
  /** Address → device keys of its requests that may still be live (pruned as they are met). */
  const byAddress = new Map<string, Set<string>>()
  /** By counter and address; the first one is the oldest window. */
  const attempts = new Map<string, AttemptWindow>()
  let closed = false

  const forgotten = (entry: Entry, now: number) =>
    now >= entry.request.expiresAt + keptAfterExpiryMs
  const live = (entry: Entry | undefined, now: number): entry is Entry =>
    entry !== undefined && entry.state === 'pending' && now < entry.request.expiresAt

  function forget(deviceKey: string, entry: Entry): void {
    entries.delete(deviceKey)
    if (byUserKey.get(entry.userKey) === deviceKey) byUserKey.delete(entry.userKey)
    const ofAddress = byAddress.get(entry.address)
    ofAddress?.delete(deviceKey)
    if (ofAddress?.size === 0) byAddress.delete(entry.address)
  }

  /** Also drops grants nobody fetched before their request expired. */
  function sweep(now: number): void {
    for (const [key, entry] of entries) {
      if (forgotten(entry, now)) forget(key, entry)
      else if (now >= entry.request.expiresAt) entry.sealedGrant = undefined
    }
    for (const [key, window] of attempts) if (now >= window.endsAt) attempts.delete(key)
  }

  /**
   * At the cap: what is no longer live (expired, denied, spent) goes at once, so that only live
   * requests count. Late polls of those requests then hear invalid_grant instead of
   * expired_token, a small price for a store an attacker cannot fill with leftovers.
   */
  function makeRoom(now: number): void {
    for (const [key, entry] of entries) {
      const awaitingPoll = entry.state === 'approved' && now < entry.request.expiresAt
      if (!live(entry, now) && !awaitingPoll) forget(key, entry)
    }
  }

  const timer =
    sweepIntervalMs > 0 ? setInterval(() => sweep(Date.now()), sweepIntervalMs) : undefined
  timer?.unref()

  function open(): void {
    if (closed) throw new StoreUnavailableError('the device store is closed')
  }

  function liveOf(address: string, now: number): Set<string> {
    const keys = byAddress.get(address) ?? new Set<string>()
    for (const key of keys) if (!live(entries.get(key), now)) keys.delete(key)
    // Kept in the map only while it holds a request: create adds it back with the new one.
    if (keys.size === 0) byAddress.delete(address)
    return keys
  }

  function windowOf(counter: AttemptCounter, address: string, now: number) {
    const key = `${counter}:${address}`
    const window = attempts.get(key)
    if (window !== undefined && now >= window.endsAt) {
      attempts.delete(key)
      return { key, window: undefined }
    }
    return { key, window }
  }

  return {
    async create(deviceKey, userKey, request, intervalSeconds, address): Promise<Creation> {
      open()
      const now = request.requestedAt
      const existing = byUserKey.get(userKey)
      if (existing !== undefined) {
        const entry = entries.get(existing)
        if (entry !== undefined && !forgotten(entry, now)) return 'taken'
      }
      if (entries.has(deviceKey)) return 'taken'
      const ofAddress = liveOf(address, now)
      if (ofAddress.size >= maxPerAddress) return 'address_limit'
      if (entries.size >= maxPending) {
        makeRoom(now)
        let pending = 0
        for (const entry of entries.values()) if (live(entry, now)) pending += 1
        if (pending >= maxPending) {
          throw new StoreFullError(`the device store holds its maximum of ${maxPending} requests`)
        }
      }
      entries.set(deviceKey, {
        request,
        userKey,
        address,
        state: 'pending',
        sealedGrant: undefined,
        intervalMs: intervalSeconds * 1000,
        lastPollAt: undefined,
      })
      byUserKey.set(userKey, deviceKey)
      byAddress.set(address, ofAddress.add(deviceKey))
      return 'created'
    },

    async pending(userKey, now) {
      open()
      const deviceKey = byUserKey.get(userKey)
      const entry = deviceKey === undefined ? undefined : entries.get(deviceKey)
      if (entry === undefined || deviceKey === undefined) return undefined
      if (forgotten(entry, now)) {
        forget(deviceKey, entry)
        return undefined
      }
      return live(entry, now) ? { deviceKey, request: entry.request } : undefined
    },

    async decide(deviceKey, userKey, verdict: Verdict, now) {
      open()
      const entry = entries.get(deviceKey)
      if (!live(entry, now) || entry.userKey !== userKey) return false
      if (verdict === 'denied') {
        entry.state = 'denied'
      } else {
        entry.state = 'approved'
        entry.sealedGrant = verdict.approved
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
      if (now >= entry.request.expiresAt) {
        entry.sealedGrant = undefined
        return { kind: 'expired' }
      }
      const previous = entry.lastPollAt
      entry.lastPollAt = now
      if (previous !== undefined && now - previous < entry.intervalMs) {
        // RFC 8628 section 3.5: this and every later poll waits 5 seconds longer.
        entry.intervalMs += 5000
        return { kind: 'slow_down', intervalSeconds: entry.intervalMs / 1000 }
      }
      if (entry.state === 'pending') return { kind: 'pending' }
      if (entry.state === 'denied') return { kind: 'denied' }
      const sealedGrant = entry.sealedGrant as string
      entry.state = 'spent'
      entry.sealedGrant = undefined
      return { kind: 'approved', sealedGrant }
    },

    async countAttempt(counter, address, windowMs, now) {
      open()
      let { key, window } = windowOf(counter, address, now)
      if (window === undefined) {
        if (attempts.size >= maxAddresses) {
          sweep(now)
          const oldest = attempts.keys().next()
          if (attempts.size >= maxAddresses && !oldest.done) attempts.delete(oldest.value)
        }
        window = { count: 0, endsAt: now + windowMs }
        attempts.set(key, window)
      }
      window.count += 1
      return window.count
    },

    async refundAttempt(counter, address, now) {
      open()
      const { window } = windowOf(counter, address, now)
      if (window !== undefined && window.count > 0) window.count -= 1
    },

    async close() {
      closed = true
      if (timer !== undefined) clearInterval(timer)
      entries.clear()
      byUserKey.clear()
      byAddress.clear()
      attempts.clear()
    },
  }
}
