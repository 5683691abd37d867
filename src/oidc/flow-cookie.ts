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
  /** Unix seconds; the lifetime is enforced from this, not only by `Max-Age`. */
  readonly createdAt: number
}

export const flowLifetimeSeconds = 600
/** Tolerated clock difference between replicas when judging `createdAt`. */
const replicaClockSkewSeconds = 30

const namePrefix = 'mcp_oidc_flow_'

/** Cookies of https deployments get the `__Host-` prefix: Secure, Path=/, no Domain, no sub-domain overrides. */
export function flowCookiePrefix(secure: boolean): string {
  return secure ? `__Host-${namePrefix}` : namePrefix
}

/** Each login has its own cookie, named after its state, so parallel logins in two tabs do not overwrite each other. */
export function flowCookieName(state: string, secure: boolean): string {
  const digest = createHash('sha256').update(state).digest('base64url').slice(0, 16)
  return flowCookiePrefix(secure) + digest
}

export function flowCookieOptions(secure: boolean) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure,
    maxAge: flowLifetimeSeconds,
    signed: true,
  } as const
}

interface EncodedFlow {
  s: string
  n: string
  v: string
  c?: string
  t: number
  k?: RedirectTarget['kind']
  u?: string
}

export function encodeFlow(flow: Flow): string {
  const encoded: EncodedFlow = {
    s: flow.state,
    n: flow.nonce,
    v: flow.codeVerifier,
    t: flow.createdAt,
  }
  if (flow.callerState !== undefined) encoded.c = flow.callerState
  if (flow.target) {
    encoded.k = flow.target.kind
    encoded.u = flow.target.url
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
  const { s, n, v, c, t, k, u } = parsed
  if (!isString(s) || !isString(n) || !isString(v) || !Number.isSafeInteger(t)) return undefined
  if (c !== undefined && !isString(c)) return undefined
  let target: RedirectTarget | undefined
  if (k !== undefined || u !== undefined) {
    if ((k !== 'loopback' && k !== 'allowlisted') || !isString(u)) return undefined
    target = { kind: k, url: u }
  }
  return { state: s, nonce: n, codeVerifier: v, callerState: c, target, createdAt: t as number }
}

export function isFlowExpired(flow: Flow, nowSeconds: number): boolean {
  const age = nowSeconds - flow.createdAt
  return age > flowLifetimeSeconds || age < -replicaClockSkewSeconds
}
