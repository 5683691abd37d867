// The connection to the Redis or Valkey server the replicas share (MCP_REGISTRY_OIDC_REDIS_URL):
// device logins and the login rate limit live there. Tuned to fail fast: while the server is
// unreachable a command is refused at once (no offline queue), a command that gets no answer
// gives up after a second, and the client reconnects in the background forever, with a bounded
// backoff, so the service recovers by itself when the server is back.

import type { FastifyBaseLogger } from 'fastify'
import { Redis } from 'ioredis'

/** Told each time the shared store becomes reachable or unreachable (the metric). */
export interface SharedStoreObserver {
  state(up: boolean): void
}

/** Every key this service writes starts with this, so the server can be shared with others. */
export const sharedStoreKeyPrefix = 'mcp-registry-oidc:'

export const sharedStoreTimings = {
  /** A TCP (and TLS) connection must be up within this, else the attempt counts as failed. */
  connectTimeoutMs: 2000,
  /** A command without an answer by then fails: the device route answers 503. */
  commandTimeoutMs: 1000,
  /** Reconnection attempts back off up to this, and never stop. */
  maxReconnectDelayMs: 2000,
} as const

/**
 * Milliseconds before reconnection attempt `attempt` (1, 2, …): 100 ms doubling up to
 * {@link sharedStoreTimings.maxReconnectDelayMs}, less up to a fifth at random so that many
 * replicas do not knock at the same instant. Never null: ioredis would stop reconnecting.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(
    100 * 2 ** Math.min(Math.max(attempt, 1) - 1, 10),
    sharedStoreTimings.maxReconnectDelayMs,
  )
  return Math.round(ceiling * (1 - random() / 5))
}

export interface SharedStoreConnection {
  readonly client: Redis
  /** Whether the server answered the last connection attempt and the connection is still open. */
  readonly up: boolean
  /** Starts connecting, in the background; returns at once. */
  start(): void
  /** Quits politely when connected, else drops the socket; no reconnection afterwards. */
  close(): Promise<void>
}

/** The connection options of a `redis://` or `rediss://` URL (validated by the configuration). */
function connectionOptions(url: URL) {
  return {
    // WHATWG URL keeps an IPv6 address in brackets.
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    // Node checks the certificate against the host name (SNI and identity) by default.
    tls: url.protocol === 'rediss:' ? {} : undefined,
  }
}

/** A short reason for the log: the error's code or message (neither carries the password). */
function reasonOf(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return typeof code === 'string' && code !== '' ? code : String(message ?? error).slice(0, 200)
}

/**
 * The connection, not yet connecting: {@link SharedStoreConnection.start} connects in the
 * background, once the process has started (a first attempt made while the process is still
 * loading could time out for that alone). The service starts whether or not the server answers. Logs one line each time the store becomes unreachable (with the reason) or reachable
 * again, and tells `observer`. The URL (which may hold a password) is never logged.
 */
export function connectSharedStore(
  url: URL,
  log: FastifyBaseLogger,
  observer: SharedStoreObserver,
): SharedStoreConnection {
  const target = { host: url.hostname, port: url.port || '6379', tls: url.protocol === 'rediss:' }
  const client = new Redis({
    ...connectionOptions(url),
    keyPrefix: sharedStoreKeyPrefix,
    connectionName: 'mcp-registry-oidc',
    lazyConnect: true,
    // Commands sent while disconnected fail at once instead of waiting in a queue.
    enableOfflineQueue: false,
    // A command in flight when the connection drops fails instead of being sent again on the
    // next connection: a poll must not be handed out to a request that already answered 503.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: sharedStoreTimings.connectTimeoutMs,
    commandTimeout: sharedStoreTimings.commandTimeoutMs,
    retryStrategy: (attempt: number) => reconnectDelay(attempt),
  })
  let state: 'starting' | 'up' | 'down' = 'starting'
  let closing = false
  const becameDown = (reason: string) => {
    if (closing || state === 'down') return
    state = 'down'
    observer.state(false)
    log.warn(
      { store: target, reason },
      'shared store unreachable: device logins answer 503 store_unavailable and each replica counts the login rate limit on its own until it is back; reconnecting',
    )
  }
  client.on('ready', () => {
    if (closing || state === 'up') return
    const recovered = state === 'down'
    state = 'up'
    observer.state(true)
    log.info(
      { store: target },
      recovered ? 'shared store reachable again' : 'shared store connected',
    )
  })
  // Without a listener ioredis would print every failed attempt to stderr.
  client.on('error', (error: unknown) => becameDown(reasonOf(error)))
  client.on('close', () => becameDown('connection closed'))
  return {
    client,
    get up() {
      return state === 'up'
    },
    start() {
      // Failures are reported through the events above, and retried by retryStrategy.
      client.connect().catch(() => {})
    },
    async close() {
      closing = true
      if (client.status === 'ready') {
        await client.quit().catch(() => client.disconnect())
      } else {
        client.disconnect()
      }
    },
  }
}
