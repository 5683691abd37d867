// The development provider's pages: the login form and its error page. They reuse the service's
// document and stylesheet (one look for the whole demo), add a stylesheet for the form controls,
// and run no script at all: their Content-Security-Policy allows those two stylesheets by hash.

import { escapeHtml, icons, renderDocument, STYLE, sha256Source } from '../src/pages/html.js'
import type { LoginValues } from './login-form.js'

const FORM_STYLE = `
.brand .dev-tag {
  margin-left: auto;
  padding: 2px 8px;
  border-radius: 999px;
  background: var(--warn-bg);
  border: 1px solid var(--warn-border);
  color: var(--warn-text);
  font-size: 11.5px;
  letter-spacing: 0.03em;
}
.card.narrow { max-width: 560px; }
form { display: grid; gap: 18px; margin-top: 28px; }
.field { display: grid; gap: 6px; align-content: start; }
.field label, .field .label { font-size: 14.5px; font-weight: 600; }
.field .help { color: var(--muted); font-size: 13.5px; }
.field input[type="text"], .field input[type="email"], .field textarea {
  width: 100%;
  padding: 9px 12px;
  border: 1px solid var(--border);
  border-radius: 8px;
  background: var(--card);
  color: var(--text);
  font: inherit;
  font-size: 15px;
}
.field textarea { min-height: 4.5em; font-family: var(--mono); font-size: 13.5px; resize: vertical; }
.field input:focus, .field textarea:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
.check { display: flex; align-items: center; gap: 8px; font-size: 14.5px; }
.check input { width: 16px; height: 16px; accent-color: var(--accent); }
fieldset { margin: 0; padding: 16px; border: 1px solid var(--border); border-radius: 10px; display: grid; gap: 16px; }
legend { padding: 0 6px; color: var(--muted); font-size: 12.5px; font-weight: 600; letter-spacing: 0.04em; text-transform: uppercase; }
.problem {
  margin: 20px 0 0;
  padding: 10px 14px;
  border-radius: 10px;
  background: var(--danger-soft);
  color: var(--danger);
  font-size: 14.5px;
  font-weight: 600;
}
.policy { margin-top: 20px; font-size: 14px; }
.policy p { margin: 0; }
.policy .var { font-family: var(--mono); font-size: 12.5px; overflow-wrap: anywhere; }
.policy pre {
  margin: 8px 0;
  padding: 8px 10px;
  border: 1px solid var(--border);
  border-radius: 8px;
  background: var(--code-bg);
  color: var(--text);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}
button.primary {
  appearance: none;
  padding: 10px 18px;
  border: 0;
  border-radius: 8px;
  background: var(--accent);
  color: var(--accent-text);
  font: inherit;
  font-weight: 600;
  cursor: pointer;
}
button.primary:hover { background: var(--accent-hover); }
button.primary:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
@media (max-width: 560px) { .row { grid-template-columns: 1fr; } }
`

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
      `style-src ${sha256Source(STYLE)} ${sha256Source(FORM_STYLE)}`,
      'img-src data:',
      `form-action 'self' ${formTargets.join(' ')}`.trim(),
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  }
}

function document(title: string, body: string): string {
  return renderDocument({
    title,
    body,
    extraStyle: FORM_STYLE,
    footer: 'mcp-registry-oidc · development OpenID provider · never use it in production',
  })
}

const brand = `<p class="brand">${icons.logo}<span>Development OpenID provider</span><span class="dev-tag">dev only</span></p>`

export interface LoginPageInput {
  /** The form posts back to this path (the interaction's own URL). */
  action: string
  /** Who asked for the login, e.g. `mcp-registry-oidc at http://127.0.0.1:8090`. */
  client: string
  values: LoginValues
  /** Claim names the "other claims" box accepts; without any, the box is not shown. */
  extraClaimNames: readonly string[]
  /** The service's MCP_REGISTRY_OIDC_EXTRA_CLAIMS, shown so the person knows what is checked. */
  policy?: string
  problem?: string
}

function textField(
  name: string,
  label: string,
  value: string,
  help: string,
  attributes = '',
): string {
  return `<div class="field">
<label for="${name}">${escapeHtml(label)}</label>
<input type="text" id="${name}" name="${name}" value="${escapeHtml(value)}" autocomplete="off" spellcheck="false" ${attributes}>
<span class="help">${help}</span>
</div>`
}

/** The login form: a user name and the claims policies look at. */
export function renderLoginPage(input: LoginPageInput): string {
  const { values } = input
  const policy =
    input.policy === undefined || input.policy.trim() === ''
      ? '<div class="note policy"><p><strong>No claim policy.</strong> <span class="var">MCP_REGISTRY_OIDC_EXTRA_CLAIMS</span> is not set, so every sign-in gets a token.</p></div>'
      : `<div class="note policy">
<p><strong>The service requires these claims</strong> (<span class="var">MCP_REGISTRY_OIDC_EXTRA_CLAIMS</span>):</p>
<pre><code>${escapeHtml(input.policy)}</code></pre>
<p>The form starts with values that pass; change one to see the service refuse.</p>
</div>`
  const other =
    input.extraClaimNames.length === 0
      ? ''
      : `<div class="field">
<label for="other_claims">Other claims</label>
<textarea id="other_claims" name="other_claims" spellcheck="false">${escapeHtml(values.otherClaims)}</textarea>
<span class="help">A JSON object; this provider adds ${input.extraClaimNames.map((name) => `<code>${escapeHtml(name)}</code>`).join(', ')}.</span>
</div>`

  const body = `<main class="card narrow">
${brand}
<header>
<h1>Sign in</h1>
<p class="lead">to continue to <strong>${escapeHtml(input.client)}</strong></p>
</header>
${input.problem === undefined ? '' : `<p class="problem" role="alert">${escapeHtml(input.problem)}</p>`}
${policy}
<form method="post" action="${escapeHtml(input.action)}">
${textField('username', 'User name', values.username, 'Any name signs in; it becomes the token’s subject (<code>sub</code>).', 'required autofocus placeholder="alice"')}
<fieldset>
<legend>Claims in the ID token</legend>
${textField('email', 'Email', values.email, 'Blank: <code>&lt;user name&gt;@&lt;domain&gt;</code>.', 'placeholder="alice@example.com"')}
<label class="check"><input type="checkbox" name="email_verified"${values.emailVerified ? ' checked' : ''}> Email verified</label>
<div class="row">
${textField('hd', 'Domain (hd)', values.hd, 'Blank: no <code>hd</code> claim.')}
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
  const body = `<main class="card narrow">
${brand}
<header>
<div class="title-row"><span class="badge badge-error">${icons.alert}</span><h1 class="error-title">The sign-in cannot continue</h1></div>
</header>
<p class="description">${escapeHtml(description)}</p>
<p class="hint">Go back to the application and start the sign-in again.</p>
<p class="error-code"><span class="muted">Error code <code>${escapeHtml(error)}</code></span></p>
</main>`
  return document('Sign-in error · Development OpenID provider', body)
}
