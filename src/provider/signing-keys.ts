import type { JWTVerifyGetKey } from 'jose'
import * as errors from 'jose/errors'
import { createRemoteJWKSet, customFetch } from 'jose/jwks/remote'

/** One provider's signing keys, as its JWKS endpoint publishes them. */
export interface SigningKeys {
  /** Fetches the key set; rejects when the provider does not deliver one, keeping the keys loaded before. */
  load(): Promise<void>
  /** Key lookup for jose's `jwtVerify`; an unknown `kid` fetches the set again if the cooldown allows. */
  readonly getKey: JWTVerifyGetKey
}

export interface SigningKeysOptions {
  /** Fetches the JWKS document: bounded in time and size, through the egress proxy if any. */
  fetch(url: string, init: { headers: Headers; signal: AbortSignal }): Promise<Response>
  timeoutMs: number
  /** Minimum time between two fetches triggered by unknown `kid`s (other loads do not count). */
  refetchCooldownMs: number
  /** Told how every load ended (start-up, refresh or unknown kid), for metrics. */
  onLoad(outcome: 'ok' | 'error'): void
  now?: () => number
}

/**
 * jose's remote key set fetches, parses and caches the keys, shares one fetch
 * among concurrent loads and keeps the keys it has when a fetch fails. Its
 * own reload rules are switched off (`cacheMaxAge` and `cooldownDuration`
 * infinite) and replaced by the two below, because:
 * - past `cacheMaxAge` it fetches the set again before verifying, and a
 *   failed fetch fails the verification: a provider outage would refuse
 *   tokens signed with keys we hold. Here the connection's periodic refresh
 *   calls {@link SigningKeys.load}, and a failure keeps the old set.
 * - its cooldown starts at the last successful load of any kind, and a failed
 *   load does not start it: a key rotated just after start-up or a refresh
 *   would wait out the cooldown, and while the provider is down every token
 *   with an unknown `kid` would fetch again, each waiting for the timeout.
 *   Here only fetches that tokens asked for start the cooldown, failed or not.
 */
export function createSigningKeys(jwksUri: string, options: SigningKeysOptions): SigningKeys {
  const now = options.now ?? Date.now
  const remote = createRemoteJWKSet(new URL(jwksUri), {
    timeoutDuration: options.timeoutMs,
    cacheMaxAge: Number.POSITIVE_INFINITY,
    cooldownDuration: Number.POSITIVE_INFINITY,
    [customFetch]: options.fetch,
  })
  let refetchedAt = Number.NEGATIVE_INFINITY
  let loading: Promise<void> | undefined

  function load(): Promise<void> {
    loading ??= remote
      .reload()
      .then(
        () => options.onLoad('ok'),
        (error: unknown) => {
          options.onLoad('error')
          throw error
        },
      )
      .finally(() => {
        loading = undefined
      })
    return loading
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
      // Tokens that arrive while the set is being fetched wait for that fetch.
      let pending = loading
      if (pending === undefined) {
        if (now() - refetchedAt < options.refetchCooldownMs) throw error
        refetchedAt = now()
        pending = load()
      }
      // Keep the keys we have if the fetch fails; the lookup below reports the unknown kid.
      await pending.catch(() => {})
      return remote(header, token)
    }
  }

  return { load, getKey }
}
