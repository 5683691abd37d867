import autocannon from 'autocannon'

export interface LoadOptions {
  readonly url: string
  readonly connections: number
  /** Seconds; or `amount` requests. */
  readonly duration?: number
  readonly amount?: number
  /** Requests per second over all connections; unlimited by default. */
  readonly rate?: number
  readonly method?: 'GET' | 'POST'
  readonly headers?: Record<string, string>
  readonly body?: string
  /** Per-request changes, e.g. cycling through pre-issued logins. */
  readonly setupRequest?: autocannon.Request['setupRequest']
  /** Every answer must have this status, or the run does not count. */
  readonly expectedStatus: number
}

export interface LoadResult {
  readonly requests: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly latencyMs: { readonly p50: number; readonly p99: number }
}

/** One autocannon run; throws when any answer has another status, an error or a timeout. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    ...(options.amount === undefined
      ? { duration: options.duration ?? 10 }
      : { amount: options.amount }),
    ...(options.rate === undefined ? {} : { overallRate: options.rate }),
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.setupRequest ? { requests: [{ setupRequest: options.setupRequest }] } : {}),
  })
  const counts: Record<string, { count?: number }> = result.statusCodeStats ?? {}
  const statuses = Object.entries(counts).map(([status, { count }]) => `${status}×${count}`)
  const expected = counts[String(options.expectedStatus)]?.count ?? 0
  if (result.errors > 0 || result.timeouts > 0 || expected !== result.requests.total) {
    throw new Error(
      `${options.url}: expected only ${options.expectedStatus}, got ${statuses.join(', ') || 'nothing'}, ${result.errors} errors, ${result.timeouts} timeouts`,
    )
  }
  return {
    requests: result.requests.total,
    seconds: result.duration,
    requestsPerSecond: result.requests.total / result.duration,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
  }
}
