// A browserless "browser" for tests: per-origin cookie jars, one hop at a time, manual redirects.

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

export interface RequestInit {
  method?: string
  headers?: Record<string, string>
  body?: string
}

export class TestBrowser {
  readonly #jars = new Map<string, Map<string, string>>()
  /** Every cookie value a server ever set in this browser, for checks that they were never logged. */
  readonly receivedCookieValues = new Set<string>()

  /** The cookie jar of an origin (scheme://host:port). The live map: edits are seen by later requests. */
  cookies(origin: string): Map<string, string> {
    const key = new URL(origin).origin
    let jar = this.#jars.get(key)
    if (jar === undefined) {
      jar = new Map()
      this.#jars.set(key, jar)
    }
    return jar
  }

  setCookie(origin: string, name: string, value: string): void {
    this.cookies(origin).set(name, value)
  }

  deleteCookie(origin: string, name: string): void {
    this.cookies(origin).delete(name)
  }

  /**
   * One hop (redirect: 'manual'). Sends the origin's cookies unless init.headers carries its own
   * `cookie` header (which then wins), and stores every Set-Cookie of the response.
   */
  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url)
    const jar = this.cookies(target.origin)
    const headers: Record<string, string> = { ...init.headers }
    const hasCookieHeader = Object.keys(headers).some((name) => name.toLowerCase() === 'cookie')
    if (!hasCookieHeader && jar.size > 0) {
      headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
    }
    const response = await fetch(target, {
      method: init.method ?? 'GET',
      headers,
      body: init.body,
      redirect: 'manual',
    })
    for (const line of response.headers.getSetCookie()) {
      const value = storeSetCookie(jar, line)
      if (value) this.receivedCookieValues.add(value)
    }
    return response
  }

  /**
   * Requests `url`, then follows 30x Location headers (relative ones resolved) until `stop` accepts
   * the next target — that URL is returned WITHOUT being requested, with `response: undefined` —
   * or until a non-redirect response arrives (returned with the URL that produced it).
   * The first URL is always requested; `stop` is only asked about redirect targets.
   */
  async followUntil(
    url: string | URL,
    stop: (url: URL) => boolean,
    maxHops = 20,
  ): Promise<{ url: URL; response: Response | undefined }> {
    let current = new URL(url)
    for (let hop = 0; hop <= maxHops; hop++) {
      const response = await this.request(current)
      const location = response.headers.get('location')
      if (!REDIRECT_STATUSES.has(response.status) || location === null) {
        return { url: current, response }
      }
      await response.body?.cancel()
      current = new URL(location, current)
      if (stop(current)) {
        return { url: current, response: undefined }
      }
    }
    throw new Error(`followUntil: more than ${maxHops} redirects, last target ${current.href}`)
  }
}

/** Applies one Set-Cookie line to the jar; returns the value it carried. */
function storeSetCookie(jar: Map<string, string>, line: string): string | undefined {
  const [pair = '', ...attributes] = line.split(';')
  const eq = pair.indexOf('=')
  if (eq <= 0) return undefined
  const name = pair.slice(0, eq).trim()
  const value = pair.slice(eq + 1).trim()
  let maxAge: number | undefined
  let expires: number | undefined
  for (const attribute of attributes) {
    const aeq = attribute.indexOf('=')
    const key = (aeq === -1 ? attribute : attribute.slice(0, aeq)).trim().toLowerCase()
    const attrValue = aeq === -1 ? '' : attribute.slice(aeq + 1).trim()
    if (key === 'max-age' && /^-?\d+$/.test(attrValue)) {
      maxAge = Number(attrValue)
    } else if (key === 'expires' && !Number.isNaN(Date.parse(attrValue))) {
      expires = Date.parse(attrValue)
    }
  }
  // Max-Age wins over Expires (RFC 6265 section 5.3)
  const expired =
    maxAge !== undefined ? maxAge <= 0 : expires !== undefined && expires <= Date.now()
  if (expired) {
    jar.delete(name)
  } else {
    jar.set(name, value)
  }
  return value
}
