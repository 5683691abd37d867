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

export type FetchInit = NonNullable<Parameters<typeof fetch>[1]>

async function readBounded(response: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length'))
  if (declared > maxBytes) {
    await response.body?.cancel()
    throw new OutboundRequestError(`response body of ${declared} bytes exceeds ${maxBytes}`)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  if (response.body) {
    for await (const chunk of response.body) {
      size += chunk.byteLength
      if (size > maxBytes) {
        throw new OutboundRequestError(`response body exceeds ${maxBytes} bytes`)
      }
      chunks.push(chunk)
    }
  }
  return Buffer.concat(chunks, size)
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

/** `fetch` with a deadline covering headers and body, and a body size cap; the body is read in full. */
export async function fetchBuffered(
  url: string | URL,
  init: FetchInit,
  limits: OutboundLimits,
): Promise<BufferedResponse> {
  const deadline = AbortSignal.timeout(limits.timeoutMs)
  // Callers that pass no signal of their own spare a combined signal per request.
  const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline
  try {
    const response = await fetch(url, { ...init, signal, redirect: 'manual' })
    const body = await readBounded(response, limits.maxBytes)
    const { status, statusText, headers } = response
    return { status, statusText, headers, body }
  } catch (error) {
    if (error instanceof OutboundRequestError) throw error
    // openid-client sets its own deadline of the same length, which may fire first.
    if (deadline.aborted || (error as Error)?.name === 'TimeoutError') {
      throw new OutboundRequestError(`no complete answer within ${limits.timeoutMs} ms`)
    }
    throw new OutboundRequestError(`request failed: ${(error as Error).message}`, { cause: error })
  }
}

/** {@link fetchBuffered}, answered as a `Response`. */
export async function boundedFetch(
  url: string | URL,
  init: FetchInit,
  limits: OutboundLimits,
): Promise<Response> {
  return toResponse(await fetchBuffered(url, init, limits))
}
