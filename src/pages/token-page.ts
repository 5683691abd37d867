import { icons, renderDocument } from './html.js'
import { type Html, html } from './html-template.js'

export interface TokenPageInput {
  /** The registry JWT. */
  token: string
  /** Expiry of the token, unix seconds. */
  expiresAt: number
  permissions: ReadonlyArray<{ action: 'publish' | 'edit'; resource: string }>
  /** The names of the policy rules that granted the permissions. */
  rules?: readonly string[]
  /** The ID token's `sub` the registry token was minted for. */
  subject: string
  /** Base URL of the registry, e.g. https://registry.example.com */
  registryUrl: string
}

/** Where mcp-publisher (before and after it moved its config) reads its login. */
const LEGACY_TOKEN_FILE = '~/.mcp_publisher_token'
const CONFIG_TOKEN_DIR = '~/.config/mcp-publisher'
const CONFIG_TOKEN_FILE = `${CONFIG_TOKEN_DIR}/token.json`

/**
 * Quotes a value for a POSIX shell: wraps it in single quotes, closing and
 * reopening them around every embedded single quote (`'\''`). Nothing inside
 * single quotes is interpreted by the shell.
 */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** `2025-01-31 14:05:00 UTC` */
export function formatUtc(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000)
  if (!Number.isFinite(unixSeconds) || Number.isNaN(date.getTime())) return 'unknown time'
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** `in 5 minutes`, `in less than a minute`, `expired` */
export function formatRelative(expiresAt: number, now: number): string {
  const left = expiresAt - now
  if (!(left > 0)) return 'expired'
  if (left < 60) return 'in less than a minute'
  const minutes = Math.round(left / 60)
  return `in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`
}

/** The registry URL without trailing slashes, so `${base}/v0/publish` is well-formed. */
function registryBase(registryUrl: string): string {
  return registryUrl.trim().replace(/\/+$/, '')
}

/** The shell snippets shown on the page (plain text, not yet HTML-escaped). */
export function tokenSnippets(input: Pick<TokenPageInput, 'token' | 'registryUrl'>): {
  exportLine: string
  tokenFileCommand: string
  tokenFileJson: string
  curlCommand: string
} {
  const base = registryBase(input.registryUrl)
  const tokenFileJson = JSON.stringify({ token: input.token, method: 'oidc', registry: base })
  const exportLine = `export MCP_REGISTRY_TOKEN=${shellQuote(input.token)}`
  // A subshell keeps `umask 077` from leaking into the user's shell. New files are
  // created 0600; chmod also tightens a file that already existed. Older
  // mcp-publisher releases read ~/.mcp_publisher_token, newer ones
  // ~/.config/mcp-publisher/token.json: write both.
  const tokenFileCommand = [
    `(umask 077 && mkdir -p ${CONFIG_TOKEN_DIR} &&`,
    `  printf '%s\\n' ${shellQuote(tokenFileJson)} |`,
    `  tee ${LEGACY_TOKEN_FILE} ${CONFIG_TOKEN_FILE} > /dev/null &&`,
    `  chmod 600 ${LEGACY_TOKEN_FILE} ${CONFIG_TOKEN_FILE})`,
  ].join('\n')
  const curlCommand = [
    `curl -X POST ${shellQuote(`${base}/v0/publish`)} \\`,
    '  -H "Authorization: Bearer $MCP_REGISTRY_TOKEN" \\',
    `  -H 'Content-Type: application/json' \\`,
    '  --data @server.json',
  ].join('\n')
  return { exportLine, tokenFileCommand, tokenFileJson, curlCommand }
}

function snippet(id: string, label: string, text: string, breakAll = false): Html {
  return html`<div class="snippet${breakAll ? ' break-all' : ''}">
<pre id="${id}"><code>${text}</code></pre>
<button type="button" class="copy secondary" data-copy-target="${id}" aria-label="${label}" hidden>Copy</button>
</div>`
}

function permissionsSection(permissions: TokenPageInput['permissions']): Html {
  if (permissions.length === 0) {
    return html`<p class="note">This token carries <strong>no permissions</strong>: it proves who you are, but it cannot publish or edit anything. Ask the registry operator to grant your account access.</p>`
  }
  const rows = permissions.map(
    (p) =>
      html`<tr><td><span class="pill">${p.action}</span></td><td><code>${p.resource}</code></td></tr>\n`,
  )
  return html`<table>
<thead><tr><th scope="col">Action</th><th scope="col">Resource</th></tr></thead>
<tbody>
${rows}</tbody>
</table>`
}

/** Which policy rules granted the permissions (names from the deployer's configuration). */
function grantedBySection(rules: TokenPageInput['rules']): Html | '' {
  if (rules === undefined || rules.length === 0) return ''
  const names = rules.map((rule, index) => html`${index === 0 ? '' : ', '}<code>${rule}</code>`)
  return html`<p class="muted granted-by">Granted by ${rules.length === 1 ? 'rule' : 'rules'} ${names}.</p>`
}

/**
 * The page shown after a successful login: the registry token, when it
 * expires, what it may do, and how to use it.
 */
export function renderTokenPage(
  input: TokenPageInput,
  now: number = Math.floor(Date.now() / 1000),
): string {
  const { token, expiresAt, permissions, subject } = input
  const base = registryBase(input.registryUrl)
  const { exportLine, tokenFileCommand, curlCommand } = tokenSnippets(input)
  const expiresUtc = formatUtc(expiresAt)
  const isoExpiry = Number.isFinite(expiresAt) ? new Date(expiresAt * 1000).toISOString() : ''
  const relative = formatRelative(expiresAt, now)
  const expired = relative === 'expired'
  const rows = Math.min(12, Math.max(3, Math.ceil(token.length / 72)))

  const body = html`<main class="card">
<p class="brand">${icons.logo}<span>MCP Registry</span></p>
<header>
<div class="title-row"><span class="badge badge-ok">${icons.check}</span><h1>Signed in</h1></div>
<p class="lead">Signed in as <strong>${subject}</strong>. Your registry token for <strong>${base}</strong> is ready.</p>
</header>

<section aria-labelledby="token-heading">
<div class="section-head">
<h2 id="token-heading">Registry token</h2>
<button type="button" class="copy" data-copy-target="registry-token" aria-label="Copy registry token" hidden>Copy</button>
</div>
<textarea id="registry-token" class="token" rows="${rows}" readonly spellcheck="false" autocomplete="off" autocapitalize="off" aria-labelledby="token-heading">${token}</textarea>
<p class="expiry"><span class="expiry-label">Expires</span> <time datetime="${isoExpiry}">${expiresUtc}</time> <span class="muted" data-expires-at="${expiresAt}">(${relative})</span></p>
<p class="expired-note" id="token-expired"${expired ? '' : html` hidden`}>This token has expired. Sign in again to get a new one.</p>
</section>

<section aria-labelledby="permissions-heading">
<div class="section-head"><h2 id="permissions-heading">Permissions</h2></div>
${permissionsSection(permissions)}
${grantedBySection(input.rules)}
</section>

<section aria-labelledby="usage-heading">
<div class="section-head"><h2 id="usage-heading">Use the token</h2></div>
<div class="steps">
<div class="step">
<h3>In your shell</h3>
<p>Set it for the current terminal session:</p>
${snippet('snippet-export', 'Copy export command', exportLine, true)}
</div>
<div class="step">
<h3>With mcp-publisher</h3>
<p>Save it where <code>mcp-publisher</code> looks for its login (<code>${LEGACY_TOKEN_FILE}</code>, readable only by you):</p>
${snippet('snippet-token-file', 'Copy command that saves the token file', tokenFileCommand)}
<p class="after">Then run <code>mcp-publisher publish</code> in the directory with your <code>server.json</code>.</p>
</div>
<div class="step">
<h3>With curl</h3>
<p>Call the registry API directly (after the <code>export</code> above):</p>
${snippet('snippet-curl', 'Copy curl command', curlCommand)}
</div>
</div>
</section>

<aside class="callout" role="note">
<p><strong>Keep this token secret.</strong> It is a credential: anyone who has it can act as you in the registry until it expires at ${expiresUtc}. Don't paste it into issues, chats or logs.</p>
<p>Close this page when you are done.</p>
</aside>
</main>`

  return renderDocument({ title: 'Signed in · MCP Registry', body, script: true })
}
