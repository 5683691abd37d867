import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

/**
 * Every request this service makes goes to the OpenID provider, and every one
 * of them is bounded: in time (a provider that never answers must not hold a
 * login open) and in size (a provider that answers 10 MB must not fill memory).
 */
export interface OutboundLimits {
  readonly timeoutMs: number
  readonly maxBytes: number
}

export class OutboundRequestError extends Error {
  override name = 'OutboundRequestError'
}

/** The part of fetch's `RequestInit` that openid-client and this service use. */
export interface OutboundInit {
  readonly method?: string
  readonly headers?: ConstructorParameters<typeof Headers>[0]
  readonly body?: unknown
  readonly signal?: AbortSignal | null
}

/** A complete answer, its body read. */
export interface BufferedResponse {
  readonly status: number
  readonly statusText: string
  readonly headers: Headers
  readonly body: Buffer
}

/** The answer as a fetch `Response` again, for callers that want one (openid-client). */
export function toResponse({ status, statusText, headers, body }: BufferedResponse): Response {
  return new Response(status === 204 || status === 304 ? null : body, {
    status,
    statusText,
    headers,
  })
}

export interface OutboundClient {
  /** Sends a request with a deadline covering connection, headers and body, and a body size cap. Redirects are answers, never followed. */
  fetchBuffered(url: string | URL, init?: OutboundInit): Promise<BufferedResponse>
  /** Closes the kept-alive connections. */
  close(): void
}

function requestBody(body: unknown, headers: Headers): string | undefined {
  if (body === undefined || body === null) return undefined
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) {
      headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
    }
    return body.toString()
  }
  if (typeof body === 'string') return body
  throw new TypeError('only string and URLSearchParams request bodies are supported')
}

function responseHeaders(response: IncomingMessage): Headers {
  const headers = new Headers()
  const raw = response.rawHeaders
  for (let index = 0; index + 1 < raw.length; index += 2) {
    headers.append(raw[index] as string, raw[index + 1] as string)
  }
  return headers
}

/**
 * Outbound HTTP(S) on node:http with kept-alive connections. It does what the
 * service needs of `fetch` and no more, at a fraction of the cost of Node's
 * built-in fetch (undici with web streams), which was the largest single cost
 * of a login's callback. It asks for no content encoding, so what arrives is
 * what is counted against the size cap.
 */
export function createOutboundClient(limits: OutboundLimits): OutboundClient {
  const agents = {
    'http:': new HttpAgent({ keepAlive: true }),
    'https:': new HttpsAgent({ keepAlive: true }),
  }

  function fetchBuffered(url: string | URL, init: OutboundInit = {}): Promise<BufferedResponse> {
    const target = new URL(url)
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return Promise.reject(new OutboundRequestError(`${target.protocol} requests are not made`))
    }
    const headers = new Headers(init.headers)
    let body: string | undefined
    try {
      body = requestBody(init.body, headers)
    } catch (error) {
      return Promise.reject(error)
    }
    if (body !== undefined) headers.set('content-length', String(Buffer.byteLength(body)))
    if (!headers.has('user-agent')) headers.set('user-agent', 'mcp-registry-oidc')
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest

    return new Promise<BufferedResponse>((resolve, reject) => {
      const request = send(target, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(headers),
        agent: agents[target.protocol as keyof typeof agents],
      })
      let settled = false
      const fail = (error: Error) => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        init.signal?.removeEventListener('abort', onAbort)
        request.destroy()
        reject(error)
      }
      const deadline = setTimeout(
        () => fail(new OutboundRequestError(`no complete answer within ${limits.timeoutMs} ms`)),
        limits.timeoutMs,
      )
      const onAbort = () =>
        fail(
          // openid-client's discovery sets a deadline of the same length, which may fire first.
          (init.signal?.reason as Error | undefined)?.name === 'TimeoutError'
            ? new OutboundRequestError(`no complete answer within ${limits.timeoutMs} ms`)
            : new OutboundRequestError('the request was aborted'),
        )
      if (init.signal?.aborted) return onAbort()
      init.signal?.addEventListener('abort', onAbort, { once: true })

      request.on('error', (error) =>
        fail(new OutboundRequestError(`request failed: ${error.message}`, { cause: error })),
      )
      request.on('response', (response) => {
        const declared = Number(response.headers['content-length'])
        if (declared > limits.maxBytes) {
          return fail(
            new OutboundRequestError(
              `response body of ${declared} bytes exceeds ${limits.maxBytes}`,
            ),
          )
        }
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          size += chunk.byteLength
          if (size > limits.maxBytes) {
            fail(new OutboundRequestError(`response body exceeds ${limits.maxBytes} bytes`))
          } else {
            chunks.push(chunk)
          }
        })
        response.on('error', (error) =>
          fail(new OutboundRequestError(`response failed: ${error.message}`, { cause: error })),
        )
        // 'close' follows every answer, complete or not: an error (and its stack) only when it was not.
        response.on('close', () => {
          if (!settled) {
            fail(new OutboundRequestError('the connection closed before the answer was complete'))
          }
        })
        response.on('end', () => {
          if (settled) return
          settled = true
          clearTimeout(deadline)
          init.signal?.removeEventListener('abort', onAbort)
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            headers: responseHeaders(response),
            body: Buffer.concat(chunks, size),
          })
        })
      })
      request.end(body)
    })
  }

  return {
    fetchBuffered,
    close() {
      agents['http:'].destroy()
      agents['https:'].destroy()
    },
  }
}
