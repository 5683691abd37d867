// The device login's state (RFC 8628): the only thing this service keeps between requests.
// Two implementations sit behind this interface: one in memory (the default, one instance) and
// one in Redis or Valkey (MCP_REGISTRY_OIDC_REDIS_URL, shared by every replica). The routes know
// only this interface.

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

/** What the page found behind a user code: the request, and the device key it is stored under. */
export interface PendingRequest {
  readonly deviceKey: string
  readonly request: DeviceRequest
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
  /**
   * Handed out by this poll and by no other: the request is spent from now on. The grant is as
   * the callback sealed it (src/device/sealed-grant.ts); the store never sees it in the clear.
   */
  | { readonly kind: 'approved'; readonly sealedGrant: string }

/**
 * How long a request is remembered after it expired, so that a late poll learns `expired_token`
 * rather than `invalid_grant`. Redis keys carry this as their own expiry; the memory store sweeps.
 */
export const keptAfterExpiryMs = 10 * 60 * 1000

export type Verdict = { readonly approved: string } | 'denied'

/** What {@link DeviceStore.create} did. */
export type Creation =
  | 'created'
  /** The user key or device key is taken: the caller draws another pair. */
  | 'taken'
  /** The address already has its maximum of live pending requests: 429 `rate_limited`. */
  | 'address_limit'

/**
 * Attempts counted per address before the store is asked anything else: wrong user codes on the
 * pages, and polls of device codes that turn out unknown, malformed or spent.
 */
export type AttemptCounter = 'wrong-user-code' | 'unknown-device-code'

/** The caps every store enforces on live requests (pending and unexpired). */
export interface PendingLimits {
  /** Live requests at once; {@link StoreFullError} beyond. */
  readonly maxPending: number
  /** Live requests of one address (an IPv6 client's /64) at once; `address_limit` beyond. */
  readonly maxPendingPerAddress: number
}

/** The store cannot be reached or did not answer in time: device routes answer 503 `store_unavailable`. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

/** The store holds its maximum of live pending requests: 503 `store_unavailable`. */
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
   * Saves a new pending request with the initial poll interval, counted against `address`
   * (normalised: an IPv6 client's /64) and against the store's cap, in one atomic step. Rejects
   * with {@link StoreFullError} when the store holds its maximum of live requests.
   */
  create(
    deviceKey: string,
    userKey: string,
    request: DeviceRequest,
    intervalSeconds: number,
    address: string,
  ): Promise<Creation>
  /** The request behind a user key while it is pending and not expired; otherwise undefined. */
  pending(userKey: string, now: number): Promise<PendingRequest | undefined>
  /**
   * Records the person's verdict once: the pending, unexpired request stored under `deviceKey`
   * whose user key is `userKey` becomes approved or denied. Resolves false when there is none
   * (unknown, expired, already decided, or the user code now belongs to another request).
   */
  decide(deviceKey: string, userKey: string, verdict: Verdict, now: number): Promise<boolean>
  /**
   * One poll by the terminal: applies slow_down and hands out an approved grant exactly once.
   * A grant not fetched before the request expired is dropped.
   */
  poll(deviceKey: string, now: number): Promise<PollOutcome>
  /**
   * Counts one attempt of `address` and resolves the count in the current window of `windowMs`,
   * which starts at the first attempt and is not extended by later ones. One atomic step, so
   * parallel attempts each see their own count; callers count before they look anything up.
   */
  countAttempt(
    counter: AttemptCounter,
    address: string,
    windowMs: number,
    now: number,
  ): Promise<number>
  /** Takes back one attempt counted in the current window (the code turned out right). */
  refundAttempt(counter: AttemptCounter, address: string, now: number): Promise<void>
  /** Ends connections and timers; the store answers nothing afterwards. */
  close(): Promise<void>
}
