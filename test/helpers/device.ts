// Drives a device login (RFC 8628) the way a terminal and a browser would, without a browser.

import { TestBrowser } from './browser.js'
import { decodeHtml } from './html.js'

export interface DeviceAuthorization {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

/** `POST …/auth/oidc/device` as a terminal sends it. */
export async function requestDeviceLogin(
  base: string,
  body: Record<string, string> = {},
  prefix = '/v0',
): Promise<DeviceAuthorization> {
  const response = await fetch(`${base}${prefix}/auth/oidc/device`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (response.status !== 200) {
    throw new Error(`device request answered ${response.status}: ${await response.text()}`)
  }
  return (await response.json()) as DeviceAuthorization
}

export interface PollAnswer {
  status: number
  body: { error?: string; error_description?: string; registry_token?: string; expires_at?: number }
}

/** One poll of `POST …/auth/oidc/device/token`. */
export async function pollDeviceToken(
  base: string,
  deviceCode: string,
  prefix = '/v0',
): Promise<PollAnswer> {
  const response = await fetch(`${base}${prefix}/auth/oidc/device/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ device_code: deviceCode }),
  })
  return { status: response.status, body: (await response.json()) as PollAnswer['body'] }
}

/** The anti-forgery value of a confirmation page's forms. */
export function csrfTokenOf(page: string): string {
  const token = /name="_csrf" value="([^"]*)"/.exec(page)?.[1]
  if (token === undefined) throw new Error('the page has no anti-forgery value')
  return decodeHtml(token)
}

/** Where the page after a confirmation sends the browser: the provider's authorization URL. */
export function continueUrlOf(page: string): URL {
  const href = /<a class="button" href="([^"]*)"/.exec(page)?.[1]
  if (href === undefined) throw new Error('the page has no link onwards')
  return new URL(decodeHtml(href))
}

export interface ConfirmationPage {
  readonly browser: TestBrowser
  readonly response: Response
  readonly page: string
}

/** Opens the confirmation page for a code, as the entry page's form does. */
export async function openConfirmation(
  base: string,
  userCode: string,
  browser: TestBrowser = new TestBrowser(),
  prefix = '/v0',
): Promise<ConfirmationPage> {
  const url = `${base}${prefix}/auth/oidc/device/confirm?user_code=${encodeURIComponent(userCode)}`
  const response = await browser.request(url, { headers: { accept: 'text/html' } })
  return { browser, response, page: await response.text() }
}

/** Submits one of the confirmation page's forms (`confirm` or `cancel`). */
export function submitDecision(
  base: string,
  confirmation: ConfirmationPage,
  decision: 'confirm' | 'cancel',
  fields: Record<string, string> = {},
  headers: Record<string, string> = {},
  prefix = '/v0',
): Promise<Response> {
  const userCode = /name="user_code" value="([^"]*)"/.exec(confirmation.page)?.[1] ?? ''
  return confirmation.browser.request(`${base}${prefix}/auth/oidc/device/${decision}`, {
    method: 'POST',
    headers: {
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
      origin: new URL(base).origin,
      'sec-fetch-site': 'same-origin',
      ...headers,
    },
    body: new URLSearchParams({
      user_code: userCode,
      _csrf: csrfTokenOf(confirmation.page),
      ...fields,
    }).toString(),
  })
}

/**
 * The browser's whole part: confirmation page, confirm, the provider's sign-in, the callback.
 * Resolves the callback's answer.
 */
export async function approveInBrowser(
  base: string,
  userCode: string,
  browser: TestBrowser = new TestBrowser(),
  prefix = '/v0',
): Promise<Response> {
  const confirmation = await openConfirmation(base, userCode, browser, prefix)
  if (confirmation.response.status !== 200) {
    throw new Error(`the confirmation page answered ${confirmation.response.status}`)
  }
  const confirmed = await submitDecision(base, confirmation, 'confirm', {}, {}, prefix)
  if (confirmed.status !== 200) throw new Error(`confirm answered ${confirmed.status}`)
  const { url } = await browser.followUntil(continueUrlOf(await confirmed.text()), (next) =>
    next.pathname.endsWith('/auth/oidc/callback'),
  )
  return browser.request(url, { headers: { accept: 'text/html' } })
}
