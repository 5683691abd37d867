// The development provider's pages: the login form and its error page. They reuse the service's
// document and stylesheet (one look for the whole demo), add a stylesheet for the form controls,
// and run no script at all: their Content-Security-Policy allows those two stylesheets by hash.

import { readFileSync } from 'node:fs'
import { icons, pageStyle, renderDocument } from '../src/pages/html.js'
import { type Html, html, rawText, safeUrl } from '../src/pages/html-template.js'
import { sha256Source } from '../src/pages/page-assets.js'
import type { LoginValues } from './login-form.js'

/** The form controls' stylesheet, next to this file (`npm run build:dev` copies it to build/dev/). */
const formStyle = readFileSync(new URL('assets/login-form.css', import.meta.url), 'utf8')
const formStyleElement = rawText('style', formStyle)

/**
 * Headers for every page of the provider. `formTargets` are the origins a login form's submission
 * may end at: Chrome applies form-action to every redirect that follows the POST (to the client's
 * redirect URI, and from there to a CLI's loopback listener).
 */
export function pageHeaders(formTargets: readonly string[]): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy': [
      "default-src 'none'",
      `style-src ${sha256Source(pageStyle)} ${sha256Source(formStyle)}`,
      'img-src data:',
      `form-action 'self' ${formTargets.join(' ')}`.trim(),
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  }
}

function document(title: string, body: Html): string {
  return renderDocument({
    title,
    body,
    extraStyle: formStyleElement,
    footer: 'mcp-registry-oidc · development OpenID provider · never use it in production',
  })
}

const brand = html`<p class="brand">${icons.logo}<span>Development OpenID provider</span><span class="dev-tag">dev only</span></p>`

export interface LoginPageInput {
  /** The form posts back to this path (the interaction's own URL). */
  action: string
  /** Who asked for the login, e.g. `mcp-registry-oidc at http://127.0.0.1:8090`. */
  client: string
  values: LoginValues
  /** Claim names the "other claims" box accepts; without any, the box is not shown. */
  extraClaimNames: readonly string[]
  /** The service's MCP_REGISTRY_OIDC_EXTRA_CLAIMS (or its rules), shown so the person knows what is checked. */
  policy?: string
  /** Where `policy` comes from: a variable's name or a policy file; default MCP_REGISTRY_OIDC_EXTRA_CLAIMS. */
  policySource?: string
  problem?: string
}

function textField(
  name: string,
  label: string,
  value: string,
  help: Html | string,
  attributes: Html = html``,
): Html {
  return html`<div class="field">
<label for="${name}">${label}</label>
<input type="text" id="${name}" name="${name}" value="${value}" autocomplete="off" spellcheck="false" ${attributes}>
<span class="help">${help}</span>
</div>`
}

/** The login form: a user name and the claims policies look at. */
export function renderLoginPage(input: LoginPageInput): string {
  const { values } = input
  const action = safeUrl(input.action)
  if (action === undefined) throw new TypeError('the login form posts to a path of this provider')
  const policy =
    input.policy === undefined || input.policy.trim() === ''
      ? html`<div class="note policy"><p><strong>No claim policy.</strong> <span class="var">MCP_REGISTRY_OIDC_EXTRA_CLAIMS</span> is not set, so every sign-in gets a token.</p></div>`
      : html`<div class="note policy">
<p><strong>The service checks these claims</strong> (<span class="var">${input.policySource ?? 'MCP_REGISTRY_OIDC_EXTRA_CLAIMS'}</span>):</p>
<pre><code>${input.policy}</code></pre>
<p>The form starts with values that pass; change one to see the service refuse.</p>
</div>`
  const claimList = input.extraClaimNames.map(
    (name, index) => html`${index === 0 ? '' : ', '}<code>${name}</code>`,
  )
  const other =
    input.extraClaimNames.length === 0
      ? ''
      : html`<div class="field">
<label for="other_claims">Other claims</label>
<textarea id="other_claims" name="other_claims" spellcheck="false">${values.otherClaims}</textarea>
<span class="help">A JSON object; this provider adds ${claimList}.</span>
</div>`

  const body = html`<main class="card narrow">
${brand}
<header>
<h1>Sign in</h1>
<p class="lead">to continue to <strong>${input.client}</strong></p>
</header>
${input.problem === undefined ? '' : html`<p class="problem" role="alert">${input.problem}</p>`}
${policy}
<form method="post" action="${action}">
${textField('username', 'User name', values.username, html`Any name signs in; it becomes the token’s subject (<code>sub</code>).`, html`required autofocus placeholder="alice"`)}
<fieldset>
<legend>Claims in the ID token</legend>
${textField('email', 'Email', values.email, html`Blank: <code>&lt;user name&gt;@&lt;domain&gt;</code>.`, html`placeholder="alice@example.com"`)}
<label class="check"><input type="checkbox" name="email_verified"${values.emailVerified ? html` checked` : ''}> Email verified</label>
<div class="row">
${textField('hd', 'Domain (hd)', values.hd, html`Blank: no <code>hd</code> claim.`)}
${textField('groups', 'Groups', values.groups, 'Comma-separated.')}
</div>
${other}
</fieldset>
<button type="submit" class="primary">Sign in</button>
</form>
</main>`
  return document('Sign in · Development OpenID provider', body)
}

/** The provider's own error page (an expired sign-in, a bad request from a client). */
export function renderProviderErrorPage(error: string, description: string): string {
  const body = html`<main class="card narrow">
${brand}
<header>
<div class="title-row"><span class="badge badge-error">${icons.alert}</span><h1 class="error-title">The sign-in cannot continue</h1></div>
</header>
<p class="description">${description}</p>
<p class="hint">Go back to the application and start the sign-in again.</p>
<p class="error-code"><span class="muted">Error code <code>${error}</code></span></p>
</main>`
  return document('Sign-in error · Development OpenID provider', body)
}
