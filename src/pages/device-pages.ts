// The pages of a device login (RFC 8628): the person enters the code their terminal shows,
// checks on a second page that the request is theirs, and confirms or cancels. The registry
// token never reaches these pages: the terminal fetches it.

import { icons, renderDocument } from './html.js'
import { type Html, html, type SafeUrl, safeUrl } from './html-template.js'
import { formatUtc } from './token-page.js'

function checked(url: string): SafeUrl {
  const link = safeUrl(url)
  if (link === undefined) throw new TypeError(`not a URL a page may link to: ${url}`)
  return link
}

function card(title: string, badge: Html | '', body: Html): Html {
  return html`<main class="card">
<p class="brand">${icons.logo}<span>MCP Registry</span></p>
<header>
<div class="title-row">${badge}<h1>${title}</h1></div>
</header>
${body}
</main>`
}

export interface DeviceEntryPageInput {
  /** Where the form goes: the confirmation page. */
  readonly confirmUrl: string
  /** Shown in the field, as `XXXX-XXXX`; empty when the link carried no valid code. */
  readonly userCode: string
}

/** Where the person types (or finds already filled in) the code their terminal shows. */
export function renderDeviceEntryPage({ confirmUrl, userCode }: DeviceEntryPageInput): string {
  const body = html`<p class="lead">Enter the code shown in your terminal to sign it in to the registry.</p>
<form class="device-form" method="get" action="${checked(confirmUrl)}">
<label for="user-code">Code</label>
<div class="code-row">
<input id="user-code" class="user-code" name="user_code" value="${userCode}" required maxlength="32" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX" autofocus>
<button type="submit" class="primary">Continue</button>
</div>
</form>
<p class="small muted form-hint">The code has eight letters, like <code>BCDF-GHJK</code>. Case and the dash do not matter.</p>`
  return renderDocument({
    title: 'Sign in a terminal · MCP Registry',
    body: card('Sign in a terminal', '', body),
    referrer: 'same-origin',
  })
}

export interface DeviceConfirmPageInput {
  /** `XXXX-XXXX`. */
  readonly userCode: string
  /**
   * As the terminal sent it, after the rule of src/device/client-name.ts; escaped like every
   * value, and shown as what it is: a name anyone could have chosen.
   */
  readonly clientName: string | undefined
  /** Unix milliseconds. */
  readonly requestedAt: number
  /** Unix milliseconds: the page says how long ago the request was made. */
  readonly now: number
  readonly requestedFrom: string
  readonly confirmUrl: string
  readonly cancelUrl: string
  /** The anti-forgery value both forms send back. */
  readonly csrfToken: string
}

/**
 * `just now`, `1 minute ago`, `7 minutes ago`: the check a person can make at a glance (a
 * request they did not just start is not theirs). A clock a little behind counts as just now.
 */
export function formatAge(requestedAt: number, now: number): string {
  const minutes = Math.floor((now - requestedAt) / 60_000)
  if (!(minutes >= 1)) return 'just now'
  return `${minutes} ${minutes === 1 ? 'minute' : 'minutes'} ago`
}

/**
 * The second step: who asked, when and from where, and the warning of RFC 8628 section 5.4
 * against codes somebody else sent.
 */
export function renderDeviceConfirmPage(input: DeviceConfirmPageInput): string {
  const hidden = html`<input type="hidden" name="user_code" value="${input.userCode}">
<input type="hidden" name="_csrf" value="${input.csrfToken}">`
  const client =
    input.clientName === undefined
      ? html`<span class="client-name muted">(the terminal gave no name)</span>`
      : html`<span class="client-name">${input.clientName}</span>`
  const body = html`<p class="lead">A terminal asks to sign in to the registry as you.</p>
<dl class="request">
<dt>Code</dt><dd class="shown-code">${input.userCode}</dd>
<dt>Terminal</dt><dd>${client}<span class="unverified">The name the terminal gave itself — not verified</span></dd>
<dt>Requested</dt><dd>${formatAge(input.requestedAt, input.now)} <span class="secondary">(${formatUtc(Math.floor(input.requestedAt / 1000))})</span></dd>
<dt>From address</dt><dd><code>${input.requestedFrom}</code></dd>
</dl>
<aside class="callout" role="note">
<p><strong>Continue only if you started this sign-in yourself, just now.</strong> Check that the code matches the one in your terminal.</p>
<p>If someone sent you this code or link, cancel: whoever holds that terminal would act as you in the registry.</p>
</aside>
<div class="decision">
<form method="post" action="${checked(input.confirmUrl)}">
${hidden}
<button type="submit" class="primary">Continue and sign in</button>
</form>
<form method="post" action="${checked(input.cancelUrl)}">
${hidden}
<button type="submit" class="quiet">Cancel</button>
</form>
</div>`
  return renderDocument({
    title: 'Confirm the sign-in · MCP Registry',
    body: card('Is this your sign-in?', '', body),
    referrer: 'same-origin',
  })
}

/**
 * Sends the browser on to the identity provider. A page, not a redirect: the form that
 * confirmed may only submit to this service (Content-Security-Policy form-action), and browsers
 * that apply form-action to redirects too would stop the redirect to the provider and every
 * redirect the provider makes on its own side.
 */
export function renderDeviceContinuePage(authorizationUrl: string): string {
  const target = checked(authorizationUrl)
  const body = html`<p class="lead">Taking you to your identity provider to sign in…</p>
<p class="actions"><a class="button" href="${target}">Continue to sign in</a></p>`
  return renderDocument({
    title: 'Signing in · MCP Registry',
    body: card('Signing in', '', body),
    head: html`<meta http-equiv="refresh" content="0; url=${target}">`,
  })
}

/** The end of a device login in the browser: the terminal picks up the result. */
export function renderDeviceDonePage(outcome: 'approved' | 'cancelled'): string {
  if (outcome === 'approved') {
    const body = html`<p class="lead">Go back to your terminal: it receives its registry token within a few seconds.</p>
<p class="small muted">You can close this page.</p>`
    return renderDocument({
      title: 'Signed in · MCP Registry',
      body: card(
        'Signed in — go back to your terminal',
        html`<span class="badge badge-ok">${icons.check}</span>`,
        body,
      ),
    })
  }
  const body = html`<p class="lead">The terminal that asked gets no token. If you did want to sign it in, start the login there again.</p>
<p class="small muted">You can close this page.</p>`
  return renderDocument({
    title: 'Sign-in cancelled · MCP Registry',
    body: card(
      'Sign-in cancelled',
      html`<span class="badge badge-error">${icons.alert}</span>`,
      body,
    ),
  })
}
