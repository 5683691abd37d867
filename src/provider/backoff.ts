/** Discovery retries: 0.25 s doubling up to 30 s, so a long outage costs the provider one request per replica every 15–30 s. */
export const retryDelayMs = { first: 250, max: 30_000 } as const

/**
 * The delay before retry number `attempt` (0-based): capped exponential
 * backoff with "equal jitter" (a random point in the upper half), so that
 * replicas started together do not knock on the provider in lockstep.
 */
export function retryDelay(attempt: number, random: () => number = Math.random): number {
  const capped = Math.min(retryDelayMs.max, retryDelayMs.first * 2 ** attempt)
  return Math.round(capped * (0.5 + random() / 2))
}

/** The periodic refresh interval, spread by ±10 % for the same reason. */
export function refreshDelay(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (0.9 + random() / 5))
}
