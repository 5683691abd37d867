// The device login's state (RFC 8628): the only thing this service keeps between requests.
// Two implementations sit behind this interface: one in memory (the default, one instance) and
// one in Redis or Valkey (MCP_REGISTRY_OIDC_REDIS_URL, shared by every replica). The routes know
// only this interface.

import type { Permission } from '../registry/policy.js'

/**
 * What the terminal asked for, as the confirmation page shows it. Codes never appear here in
 * the clear except the user code, which the page shows back to the person who typed it.
 */
export interface DeviceRequest {
  /** Normalised: 8 letters of the user-code alphabet, upper case, no dash. */
  readonly userCode: string
  /** Printable, at most 64 characters; shown escaped. */
  readonly clientName: string | undefined
  /** The address the request came from, as the service saw it (behind trusted proxies: the client's). */
  readonly requestedFrom: string
  /** Unix milliseconds. */
  readonly requestedAt: number
  /** Unix milliseconds; after this the request is expired (polls get `expired_token`). */
  readonly expiresAt: number
}

/**
 * The policy's verdict on the person who confirmed, kept until the terminal polls. The token is
 * minted at poll time from this, so the store never holds a token and the token's lifetime starts
 * when the terminal receives it.
 */
export interface DeviceGrant {
  readonly subject: string
  readonly permissions: readonly Permission[]
  /** Names of the rules that granted the permissions, for the log line of the poll. */
  readonly rules: readonly string[]
}

/** What one poll found, after the store has updated the request atomically. */
export type PollOutcome =
  /** Never made, or forgotten since ({@link keptAfterExpiryMs} after it expired). */
  | { readonly kind: 'unknown' }
  /** Handed out to an earlier poll. */
  | { readonly kind: 'spent' }
  | { readonly kind: 'expired' }
  /** Polled sooner than the interval after the previous poll; the interval has grown by 5 s. */
  | { readonly kind: 'slow_down'; readonly intervalSeconds: number }
  | { readonly kind: 'pending' }
  /** The policy refused the person, or they cancelled on the confirmation page. */
  | { readonly kind: 'denied' }
  /** Handed out by this poll and by no other: the request is spent from now on. */
  | { readonly kind: 'approved'; readonly grant: DeviceGrant }

/**
 * How long a request is remembered after it expired, so that a late poll learns `expired_token`
 * rather than `invalid_grant`. Redis keys carry this as their own expiry; the memory store sweeps.
 */
export const keptAfterExpiryMs = 10 * 60 * 1000

export type Verdict = { readonly approved: DeviceGrant } | 'denied'

/** The store cannot be reached or did not answer in time: device routes answer 503 `store_unavailable`. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

/** The in-memory store holds its maximum of pending requests: 503 `store_unavailable`. */
export class StoreFullError extends Error {
  override name = 'StoreFullError'
}

/**
 * Keys are digests computed by the caller (`deviceKey` of the device code, `userKey` of the
 * normalised user code), so a store dump does not hand out codes that can be polled or entered.
 * Every method that changes state does it atomically: two replicas polling the same device code
 * at the same instant get the grant once between them. `now` is Unix milliseconds (tests move it).
 * Methods reject with {@link StoreUnavailableError} when the store is unreachable.
 */
export interface DeviceStore {
  /**
   * Saves a new pending request with the initial poll interval. Resolves false when the user
   * key is already taken (the caller draws another code); rejects with {@link StoreFullError}
   * when a bounded store is full.
   */
  create(
    deviceKey: string,
    userKey: string,
    request: DeviceRequest,
    intervalSeconds: number,
  ): Promise<boolean>
  /** The request behind a user key while it is pending and not expired; otherwise undefined. */
  pending(userKey: string, now: number): Promise<DeviceRequest | undefined>
  /**
   * Records the person's verdict once: a pending, unexpired request becomes approved or denied.
   * Resolves false when there is none (unknown, expired, or already decided).
   */
  decide(userKey: string, verdict: Verdict, now: number): Promise<boolean>
  /** One poll by the terminal: applies slow_down and hands out an approved grant exactly once. */
  poll(deviceKey: string, now: number): Promise<PollOutcome>
  /**
   * Counts one wrong user code entered from `address` and resolves the count in the current
   * window of `windowMs`, which starts at the first wrong code and is not extended by later ones.
   */
  recordWrongUserCode(address: string, windowMs: number, now: number): Promise<number>
  /** Wrong user codes from `address` in its current window (0 when none or the window is over). */
  wrongUserCodes(address: string, now: number): Promise<number>
  /** Ends connections and timers; the store answers nothing afterwards. */
  close(): Promise<void>
}
