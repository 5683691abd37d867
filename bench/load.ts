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
  /** Milliseconds from request to response, one per answered request. */
  readonly latenciesMs: number[]
}

/** One autocannon run; throws when any answer has another status, an error or a timeout. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const latenciesMs: number[] = []
  // Without a callback autocannon answers an EventEmitter that is also a promise of the result.
  const instance = autocannon({
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
  }) as unknown as Promise<autocannon.Result> & NodeJS.EventEmitter
  instance.on(
    'response',
    (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latenciesMs.push(responseTime)
    },
  )
  const result = await instance
  const counts: Record<string, { count?: number }> = result.statusCodeStats ?? {}
  const statuses = Object.entries(counts).map(([status, { count }]) => `${status}×${count}`)
  const expected = counts[String(options.expectedStatus)]?.count ?? 0
  if (result.errors > 0 || result.timeouts > 0 || expected !== result.requests.total) {
    throw new Error(
      `${options.url}: expected only ${options.expectedStatus}, got ${statuses.join(', ') || 'nothing'}, ${result.errors} errors, ${result.timeouts} timeouts`,
    )
  }
  return { requests: result.requests.total, seconds: result.duration, latenciesMs }
}
