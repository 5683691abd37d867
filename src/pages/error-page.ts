import { icons, renderDocument } from './html.js'
import { html, safeUrl } from './html-template.js'

export interface ErrorPageInput {
  status: number
  /** Stable error code, e.g. `state_mismatch`. */
  error: string
  /** Human-readable explanation (may come from the identity provider). */
  description: string
  /** Where "Start again" leads, e.g. the login start URL. */
  startUrl?: string
}

interface ErrorCopy {
  title: string
  hint?: string
}

const RESTART_HINT = 'Start the sign-in again from the beginning, in the same browser.'

/** Human titles (and a hint on what to do) for the service's stable error codes. */
const ERROR_COPY: Readonly<Record<string, ErrorCopy>> = {
  flow_cookie_missing: {
    title: 'Your sign-in session was not found',
    hint: 'The sign-in has to finish in the same browser it started in, with cookies enabled. Start again from the beginning.',
  },
  flow_cookie_invalid: {
    title: 'Your sign-in session is not valid',
    hint: RESTART_HINT,
  },
  flow_expired: {
    title: 'Your sign-in took too long',
    hint: 'Sign-in links are valid for a few minutes only. Start again and finish within that time.',
  },
  state_mismatch: {
    title: 'This sign-in does not match your session',
    hint: 'This can happen when several sign-ins run in parallel or an old tab is reused. Start again from the beginning.',
  },
  idp_error: {
    title: 'Your identity provider refused the sign-in',
    hint: 'If you cancelled by mistake, or want to use another account, start again.',
  },
  id_token_invalid: {
    title: 'Your identity could not be verified',
    hint: RESTART_HINT,
  },
  token_exchange_failed: {
    title: 'The identity provider did not answer',
    hint: 'This is usually temporary. Wait a moment and start again.',
  },
  provider_unavailable: {
    title: 'Sign-in is temporarily unavailable',
    hint: 'The identity provider cannot be reached right now. Wait a moment and try again.',
  },
  claims_not_allowed: {
    title: 'Your account is not allowed to use this registry',
    hint: 'Sign in with a different account, or ask the registry operator for access.',
  },
  namespace_blocked: {
    title: 'This namespace is blocked',
    hint: 'Ask the registry operator about the namespaces you may publish to.',
  },
  redirect_uri_not_allowed: {
    title: 'That redirect address is not allowed',
    hint: 'The tool that started the sign-in asked to return to an address this service does not trust.',
  },
  user_code_invalid: {
    title: 'That code did not work',
    hint: 'Enter the code your terminal shows now. Codes expire after 10 minutes; if yours has, start the login in the terminal again.',
  },
  cross_site_request: {
    title: 'This confirmation was refused',
    hint: 'Only the confirmation page of this service can confirm a sign-in. If you did not mean to confirm anything, you can close this page.',
  },
  store_unavailable: {
    title: 'Terminal sign-in is temporarily unavailable',
    hint: 'Wait a moment and try again, or sign in with a browser on the machine that needs the token.',
  },
  rate_limited: {
    title: 'Too many attempts',
    hint: 'Wait a few minutes before you try again.',
  },
  oidc_disabled: {
    title: 'Sign-in is turned off',
    hint: 'OpenID Connect sign-in is disabled on this registry.',
  },
}

function fallbackTitle(status: number): string {
  if (status === 404) return 'Not found'
  if (status === 401 || status === 403) return 'Access denied'
  if (status >= 500) return 'Something went wrong'
  return 'Sign-in failed'
}

/** The page shown when a login (or another browser-facing request) fails. */
export function renderErrorPage(input: ErrorPageInput): string {
  const { status, error, description } = input
  const copy = ERROR_COPY[error]
  const title = copy?.title ?? fallbackTitle(status)
  const startUrl = safeUrl(input.startUrl)

  const body = html`<main class="card">
<p class="brand">${icons.logo}<span>MCP Registry</span></p>
<header>
<div class="title-row"><span class="badge badge-error">${icons.alert}</span><h1 class="error-title">${title}</h1></div>
</header>
${description.trim() === '' ? '' : html`<p class="description">${description}</p>`}
${copy?.hint ? html`<p class="hint">${copy.hint}</p>` : ''}
${startUrl === undefined ? '' : html`<p class="actions"><a class="button" href="${startUrl}">Start again</a></p>`}
<p class="error-code"><span class="muted">Error code <code>${error}</code></span>${Number.isInteger(status) ? html`<span class="muted">HTTP status <code>${status}</code></span>` : ''}</p>
<p class="small muted">If this keeps happening, send the error code to the registry operator.</p>
</main>`

  return renderDocument({ title: `${title} · MCP Registry`, body })
}
