import { TestBrowser } from './browser.js'

export const callbackPath = '/v0/auth/oidc/callback'

export interface PendingLogin {
  readonly browser: TestBrowser
  /** The provider's redirect back to the service, not yet requested. */
  readonly callbackUrl: URL
}

/**
 * Drives a login from `start` through the real provider up to (not into) the
 * service's callback, the way a browser would: redirects, cookies per origin.
 */
export async function loginUntilCallback(
  startUrl: string,
  browser: TestBrowser = new TestBrowser(),
): Promise<PendingLogin> {
  const { url, response } = await browser.followUntil(startUrl, (next) =>
    next.pathname.endsWith('/auth/oidc/callback'),
  )
  if (!url.pathname.endsWith('/auth/oidc/callback')) {
    throw new Error(`the login stopped at ${url.href} with ${response?.status}`)
  }
  return { browser, callbackUrl: url }
}

/** The single flow cookie a started login left in the browser. */
export function flowCookie(browser: TestBrowser, origin: string): [name: string, value: string] {
  const entries = [...browser.cookies(origin)].filter(([name]) => name.includes('mcp_oidc_flow_'))
  const [entry] = entries
  if (entries.length !== 1 || !entry)
    throw new Error(`expected one flow cookie, found ${entries.length}`)
  return entry
}
