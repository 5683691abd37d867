import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'

/**
 * The provider's signing keys, shared by every ID-token check in this
 * process. Keys are kept until a newer set replaces them: a provider outage
 * must not throw away keys that still verify. An unknown `kid` fetches the
 * set again, at most once per cooldown, so a flood of made-up kids cannot
 * turn into a flood of requests to the provider.
 */
export interface KeyStore {
  /** Fetches the key set; rejects when the provider does not deliver one. */
  load(): Promise<void>
  readonly loaded: boolean
  /** The current key set; a new object whenever a load replaced it. */
  keySet(): JSONWebKeySet
  /** Makes sure a token's `kid` is known, fetching the set again if it is not and the cooldown allows. */
  ensureKid(kid: string | undefined): Promise<void>
  /**
   * Key lookup for jose's `jwtVerify`. A `kid` it does not know fetches the
   * set again first, if the cooldown allows.
   */
  readonly getKey: JWTVerifyGetKey
}

export interface KeyStoreOptions {
  fetchKeySet(): Promise<unknown>
  /** Minimum time between two fetches triggered by unknown kids (other loads do not count). */
  refetchCooldownMs: number
  /** Told how every load ended (start-up, refresh or unknown kid), for metrics. */
  onLoad?: (outcome: 'ok' | 'error') => void
  now?: () => number
}

function asKeySet(value: unknown): JSONWebKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'object' && key !== null)) {
    throw new Error('the JWKS document has no "keys" array of objects')
  }
  return { keys: keys as JSONWebKeySet['keys'] }
}

export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const now = options.now ?? Date.now
  let knownKids = new Set<string>()
  let current: JSONWebKeySet | undefined
  let localSet: ReturnType<typeof createLocalJWKSet> | undefined
  let refetchedAt = Number.NEGATIVE_INFINITY
  let inFlight: Promise<void> | undefined

  function load(): Promise<void> {
    inFlight ??= (async () => {
      try {
        const next = asKeySet(await options.fetchKeySet())
        const nextLocalSet = createLocalJWKSet(next)
        localSet = nextLocalSet
        current = next
        knownKids = new Set(
          next.keys.map((key) => key.kid).filter((kid): kid is string => typeof kid === 'string'),
        )
        options.onLoad?.('ok')
      } catch (error) {
        options.onLoad?.('error')
        throw error
      } finally {
        inFlight = undefined
      }
    })()
    return inFlight
  }

  async function ensureKid(kid: string | undefined): Promise<void> {
    if (kid === undefined || knownKids.has(kid)) return
    if (inFlight) return inFlight
    // Only refetches that a token asked for start the cooldown: a key that appears
    // just after start-up or a periodic refresh is still picked up at once.
    if (now() - refetchedAt < options.refetchCooldownMs) return
    refetchedAt = now()
    await load().catch(() => {
      // Keep serving the keys we have; the verification that follows reports the unknown kid.
    })
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    await ensureKid(header.kid)
    if (!localSet) throw new errors.JWKSNoMatchingKey('the provider keys are not loaded yet')
    try {
      return await localSet(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSMultipleMatchingKeys) {
        // openid-client refuses this too; trying every key would make the check depend on key order.
        throw new errors.JWKSMultipleMatchingKeys(
          'several provider keys match and the token names no "kid"',
        )
      }
      throw error
    }
  }

  return {
    load,
    get loaded() {
      return localSet !== undefined
    },
    keySet() {
      if (!current) throw new Error('the provider keys are not loaded yet')
      return current
    },
    ensureKid,
    getKey,
  }
}
