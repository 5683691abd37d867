import { EnvHttpProxyAgent, request } from 'undici'

/**
 * Where requests to the provider go: straight to it, or through the egress
 * proxy the standard variables name. Empty strings mean "none".
 */
export interface OutboundProxy {
  /** HTTP_PROXY: the proxy for http:// URLs. */
  readonly httpProxy: string
  /** HTTPS_PROXY: the proxy for https:// URLs. */
  readonly httpsProxy: string
  /** NO_PROXY: hosts (and their subdomains, `host:port` for one port, `*` for all) reached directly. */
  readonly noProxy: string
}

/**
 * Every request this service makes goes to an OpenID provider, and every one
 * of them is bounded: in time (a provider that never answers must not hold a
 * login open) and in size (a provider that answers 10 MB must not fill memory).
 */
export interface OutboundOptions {
  readonly timeoutMs: number
  readonly maxBytes: number
  readonly proxy: OutboundProxy
}

export class OutboundRequestError extends Error {
  override name = 'OutboundRequestError'
}

/** The part of fetch's `RequestInit` that openid-client and jose use. */
export interface OutboundInit {
  readonly method?: string
  readonly headers?: ConstructorParameters<typeof Headers>[0]
  readonly body?: unknown
  readonly signal?: AbortSignal | null
}

/** A complete answer, its body read. */
export interface BufferedResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: Buffer
}

/** The answer as a fetch `Response` again, for callers that want one (openid-client, jose). */
export function toResponse({ status, headers, body }: BufferedResponse): Response {
  return new Response(status === 204 || status === 304 ? null : body, { status, headers })
}

export interface OutboundClient {
  /**
   * Sends a request with a deadline covering connection, headers and body,
   * and a body size cap. Redirects are answers, never followed; no content
   * encoding is asked for, so what arrives is what is counted against the cap.
   */
  fetchBuffered(url: string, init?: OutboundInit): Promise<BufferedResponse>
  /** Closes the kept-alive connections. */
  close(): Promise<void>
}

function requestBody(body: unknown, headers: Headers): string | undefined {
  if (body === undefined || body === null) return undefined
  // undici would send a URLSearchParams as an iterable of pairs, not as a form.
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) {
      headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
    }
    return body.toString()
  }
  if (typeof body === 'string') return body
  throw new TypeError('only string and URLSearchParams request bodies are supported')
}

function responseHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers()
  for (const name in raw) {
    const value = raw[name]
    if (typeof value === 'string') headers.append(name, value)
    else if (value !== undefined) for (const item of value) headers.append(name, item)
  }
  return headers
}

/**
 * Outbound HTTP(S) on undici's `request` (the Node team's client, without the
 * web-stream cost of `fetch`), with kept-alive connections, through the
 * egress proxy when one is configured.
 */
export function createOutboundClient({
  timeoutMs,
  maxBytes,
  proxy,
}: OutboundOptions): OutboundClient {
  // The proxy settings come from the configuration, never from process.env: given as empty
  // strings, EnvHttpProxyAgent does not fall back to its own reading of the environment.
  const dispatcher = new EnvHttpProxyAgent({
    httpProxy: proxy.httpProxy,
    httpsProxy: proxy.httpsProxy,
    noProxy: proxy.noProxy,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: maxBytes,
  })
  const tooSlow = () => new OutboundRequestError(`no complete answer within ${timeoutMs} ms`)

  /** Says in the service's words why undici gave up. */
  function failure(error: unknown, deadline: AbortSignal, callerSignal: AbortSignal | undefined) {
    const code = (error as { code?: unknown } | null)?.code
    if (
      deadline.aborted ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT'
    ) {
      return tooSlow()
    }
    if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
      return new OutboundRequestError(`response body exceeds ${maxBytes} bytes`)
    }
    if (callerSignal?.aborted) {
      // openid-client's and jose's own deadlines are as long as ours, and may fire first.
      return (callerSignal.reason as Error | undefined)?.name === 'TimeoutError'
        ? tooSlow()
        : new OutboundRequestError('the request was aborted')
    }
    return new OutboundRequestError(`request failed: ${(error as Error)?.message}`, {
      cause: error,
    })
  }

  async function fetchBuffered(url: string, init: OutboundInit = {}): Promise<BufferedResponse> {
    const target = new URL(url)
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new OutboundRequestError(`${target.protocol} requests are not made`)
    }
    const headers = new Headers(init.headers)
    const body = requestBody(init.body, headers)
    if (!headers.has('user-agent')) headers.set('user-agent', 'mcp-registry-oidc')
    // undici's header and body timeouts bound each wait; this deadline bounds the whole
    // request, so that a body trickling in byte by byte cannot hold it open either.
    const deadline = AbortSignal.timeout(timeoutMs)
    const callerSignal = init.signal ?? undefined
    try {
      const response = await request(target, {
        dispatcher,
        method: init.method ?? 'GET',
        headers,
        body,
        signal: callerSignal ? AbortSignal.any([deadline, callerSignal]) : deadline,
      })
      return {
        status: response.statusCode,
        headers: responseHeaders(response.headers),
        body: Buffer.from(await response.body.arrayBuffer()),
      }
    } catch (error) {
      throw failure(error, deadline, callerSignal)
    }
  }

  return {
    fetchBuffered,
    close: () => dispatcher.close(),
  }
}
