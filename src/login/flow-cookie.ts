import { createHash } from 'node:crypto'
import type { RedirectTarget } from './redirect-target.js'

/**
 * Everything a login needs between `/start` and `/callback`, carried by the
 * browser in one signed cookie: the service keeps no state, so any replica
 * can finish a login any other replica started.
 */
export interface Flow {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  readonly target: RedirectTarget | undefined
  readonly callerState: string | undefined
  /**
   * The caller's RFC 7636 S256 challenge. Every loopback target has one: the code it receives
   * is redeemed only with the matching verifier.
   */
  readonly callerCodeChallenge: string | undefined
  /**
   * A device login (src/device): the callback records the verdict on exactly that request for
   * the terminal instead of handing a token to the browser. Such a flow has no target.
   */
  readonly device: DeviceFlow | undefined
  /** Unix seconds; the lifetime is enforced from this, not only by `Max-Age`. */
  readonly createdAt: number
}

/**
 * Which device request the person confirmed: its device key, not only its user code, so a late
 * callback can never decide a newer request that drew the same user code.
 */
export interface DeviceFlow {
  readonly userKey: string
  readonly deviceKey: string
}

export const flowLifetimeSeconds = 600
/**
 * The largest flow cookie `Set-Cookie` value (name, value and attributes):
 * browsers keep cookies up to 4096 bytes (RFC 6265 section 6.1) and silently
 * drop larger ones, which would fail the login at the callback.
 */
export const maxFlowCookieBytes = 4096
/** Tolerated clock difference between replicas when judging `createdAt`. */
const replicaClockSkewSeconds = 30

const namePrefix = 'mcp_oidc_flow_'

/** Cookies of https deployments get the `__Host-` prefix: Secure, Path=/, no Domain, no sub-domain overrides. */
export function flowCookiePrefix(secure: boolean): string {
  return secure ? `__Host-${namePrefix}` : namePrefix
}

const digestLength = 16

/** Each login has its own cookie, named after its state, so parallel logins in two tabs do not overwrite each other. */
export function flowCookieName(state: string, secure: boolean): string {
  const digest = createHash('sha256').update(state).digest('base64url').slice(0, digestLength)
  return flowCookiePrefix(secure) + digest
}

const DIGEST = new RegExp(`^[A-Za-z0-9_-]{${digestLength}}$`)

/**
 * Whether a cookie the browser sent is one of this service's flow cookies: exactly a name
 * {@link flowCookieName} makes. Any other name is somebody else's cookie (a sibling sub-domain
 * can set cookies for this host), and its name may not even be valid in a Set-Cookie.
 */
export function isFlowCookieName(name: string, secure: boolean): boolean {
  const prefix = flowCookiePrefix(secure)
  return name.startsWith(prefix) && DIGEST.test(name.slice(prefix.length))
}

/**
 * Logins one browser may have open at once. A new login clears the oldest
 * beyond this, so parallel tabs work but cookies never pile up into a
 * request header that proxies refuse (each cookie can approach 4 KiB).
 */
export const maxParallelFlows = 3

function flowCookieAttributes(secure: boolean) {
  return { path: '/', httpOnly: true, sameSite: 'lax', secure } as const
}

/** The value is signed by the caller, which measures the signed cookie before setting it. */
export function flowCookieOptions(secure: boolean) {
  return { ...flowCookieAttributes(secure), maxAge: flowLifetimeSeconds } as const
}

/** Clearing must repeat the attributes the cookie was set with, or browsers keep it. */
export function flowCookieClearOptions(secure: boolean) {
  return flowCookieAttributes(secure)
}

/** How often a cookie name appears in a raw Cookie header (parsers keep only one). */
export function cookieOccurrences(header: string | undefined, name: string): number {
  if (header === undefined) return 0
  return header.split(';').filter((pair) => pair.trim().startsWith(`${name}=`)).length
}

interface EncodedFlow {
  s: string
  n: string
  v: string
  c?: string
  p?: string
  t: number
  k?: RedirectTarget['kind']
  u?: string
  d?: string
  r?: string
}

export function encodeFlow(flow: Flow): string {
  const encoded: EncodedFlow = {
    s: flow.state,
    n: flow.nonce,
    v: flow.codeVerifier,
    t: flow.createdAt,
  }
  if (flow.callerState !== undefined) encoded.c = flow.callerState
  if (flow.callerCodeChallenge !== undefined) encoded.p = flow.callerCodeChallenge
  if (flow.target) {
    encoded.k = flow.target.kind
    encoded.u = flow.target.url
  }
  if (flow.device !== undefined) {
    encoded.d = flow.device.userKey
    encoded.r = flow.device.deviceKey
  }
  return Buffer.from(JSON.stringify(encoded)).toString('base64url')
}

const isString = (value: unknown): value is string => typeof value === 'string'

/** The flow in a cookie value whose signature already checked out, or undefined if it is not one. */
export function decodeFlow(value: string): Flow | undefined {
  let parsed: Partial<Record<keyof EncodedFlow, unknown>>
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const { s, n, v, c, p, t, k, u, d, r } = parsed
  if (!isString(s) || !isString(n) || !isString(v) || !Number.isSafeInteger(t)) return undefined
  if (c !== undefined && !isString(c)) return undefined
  if (p !== undefined && !isString(p)) return undefined
  // A device login names both keys or neither.
  if (d !== undefined || r !== undefined) {
    if (!isString(d) || !isString(r)) return undefined
  }
  let target: RedirectTarget | undefined
  if (k !== undefined || u !== undefined) {
    if ((k !== 'loopback' && k !== 'allowlisted') || !isString(u)) return undefined
    target = { kind: k, url: u }
  }
  // A loopback login without the caller's challenge would have to hand the token to whoever
  // listens there (a cookie made before codes existed): it is not a flow this service finishes.
  if (target?.kind === 'loopback' && p === undefined) return undefined
  // A device login ends on the device's page, never at a target.
  if (d !== undefined && target !== undefined) return undefined
  return {
    state: s,
    nonce: n,
    codeVerifier: v,
    callerState: c,
    callerCodeChallenge: p,
    target,
    device: isString(d) && isString(r) ? { userKey: d, deviceKey: r } : undefined,
    createdAt: t as number,
  }
}

export function isFlowExpired(flow: Flow, nowSeconds: number): boolean {
  const age = nowSeconds - flow.createdAt
  return age > flowLifetimeSeconds || age < -replicaClockSkewSeconds
}

type Unsign = (value: string) => { valid: boolean; value: string | null }

/** The flow in a raw cookie value, or undefined when its signature or content is not ours. */
export function openFlowCookie(raw: string, unsign: Unsign): Flow | undefined {
  const unsigned = unsign(raw)
  return unsigned.valid && unsigned.value !== null ? decodeFlow(unsigned.value) : undefined
}

export interface PresentedFlowCookie {
  readonly name: string
  /** Undefined when the cookie does not verify or decode. */
  readonly flow: Flow | undefined
}

/**
 * Stale flow cookies cleared by one answer at most. A browser holds a few; a
 * Cookie header stuffed with hundreds must not turn into as many Set-Cookie
 * headers (later answers clear the rest).
 */
export const maxClearedPerAnswer = 10

/**
 * The flow cookies to clear before a new login adds its own: the oldest live
 * ones (by their signed `createdAt`) until the new one fits under
 * {@link maxParallelFlows}, then invalid or expired ones, at most
 * {@link maxClearedPerAnswer} in all. `cookies` come in Cookie header order,
 * which browsers keep oldest first (RFC 6265 section 5.4), and which breaks
 * ties within a second.
 */
export function flowCookiesToClear(
  cookies: readonly PresentedFlowCookie[],
  nowSeconds: number,
): string[] {
  const isLive = (cookie: PresentedFlowCookie) =>
    cookie.flow !== undefined && !isFlowExpired(cookie.flow, nowSeconds)
  const live = cookies
    .filter(isLive)
    .sort((a, b) => (a.flow?.createdAt ?? 0) - (b.flow?.createdAt ?? 0))
  const excess = Math.max(0, live.length - (maxParallelFlows - 1))
  return [...live.slice(0, excess), ...cookies.filter((cookie) => !isLive(cookie))]
    .slice(0, maxClearedPerAnswer)
    .map((cookie) => cookie.name)
}
