import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const requestIdHeader = 'x-request-id'

/** What a proxy or client may hand us as a request id: a short token that cannot smuggle anything into a log or a header. */
const safeRequestId = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * The id every log line of a request carries: the incoming `X-Request-Id`
 * when it is a safe short token (nginx's `$request_id`, a UUID), so one id
 * follows a request from the proxy through this service; otherwise a fresh
 * UUID, unique across replicas.
 */
export function requestIdFor(request: IncomingMessage): string {
  const incoming = request.headers[requestIdHeader]
  return typeof incoming === 'string' && safeRequestId.test(incoming) ? incoming : randomUUID()
}
