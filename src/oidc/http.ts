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

async function readBounded(response: Response, maxBytes: number): Promise<Uint8Array> {
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

/**
 * `fetch` with a deadline covering headers and body, and a body size cap.
 * The answer is fully buffered, so callers can read it more than once.
 */
export async function boundedFetch(
  url: string | URL,
  init: FetchInit,
  limits: OutboundLimits,
): Promise<Response> {
  const deadline = AbortSignal.timeout(limits.timeoutMs)
  const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline
  try {
    const response = await fetch(url, { ...init, signal, redirect: 'manual' })
    const body = await readBounded(response, limits.maxBytes)
    return new Response(response.status === 204 || response.status === 304 ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  } catch (error) {
    if (error instanceof OutboundRequestError) throw error
    // openid-client sets its own deadline of the same length, which may fire first.
    if (deadline.aborted || (error as Error)?.name === 'TimeoutError') {
      throw new OutboundRequestError(`no complete answer within ${limits.timeoutMs} ms`)
    }
    throw new OutboundRequestError(`request failed: ${(error as Error).message}`, { cause: error })
  }
}
