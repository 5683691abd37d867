// What every HTML page shares: the document around its body, the stylesheet and script (see
// page-assets.ts), the icons, and the Content-Security-Policy that allows exactly that stylesheet
// and that script. Pages are complete, self-contained documents: no external assets, no web
// fonts, no inline event handlers, no style="" attributes, so no 'unsafe-inline' is ever needed.

import { type Html, html, rawText } from './html-template.js'
import { readPageAssets, sha256Source } from './page-assets.js'

const assets = readPageAssets()

/** The stylesheet of every page, as text (the development provider's policy hashes it too). */
export const pageStyle: string = assets.style
const style = rawText('style', assets.style)
const script = rawText('script', assets.script)

function contentSecurityPolicy(formAction: string): string {
  return [
    "default-src 'none'",
    `style-src ${sha256Source(assets.style)}`,
    `script-src ${sha256Source(assets.script)}`,
    'img-src data:',
    "base-uri 'none'",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
  ].join('; ')
}

/** The Content-Security-Policy of every page rendered here, except those with a form. */
export const pageContentSecurityPolicy: string = contentSecurityPolicy("'none'")

/** The same for the device login's pages, whose forms submit to this service and nowhere else. */
export const formPageContentSecurityPolicy: string = contentSecurityPolicy("'self'")

/** Inline SVG icons (decorative). */
export const icons = {
  logo: html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 2 3 6.5v5.1c0 5.2 3.8 9.4 9 10.4 5.2-1 9-5.2 9-10.4V6.5L12 2Zm0 2.2 7 3.5v3.9c0 4.1-2.9 7.6-7 8.5-4.1-.9-7-4.4-7-8.5V7.7l7-3.5Z"/></svg>`,
  check: html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M9.5 16.2 5.3 12l-1.4 1.4 5.6 5.6L20.1 8.4 18.7 7 9.5 16.2Z"/></svg>`,
  alert: html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M11 7h2v7h-2V7Zm0 9h2v2h-2v-2Zm1-14C6.5 2 2 6.5 2 12s4.5 10 10 10 10-4.5 10-10S17.5 2 12 2Zm0 18c-4.4 0-8-3.6-8-8s3.6-8 8-8 8 3.6 8 8-3.6 8-8 8Z"/></svg>`,
} as const

export interface DocumentInput {
  title: string
  body: Html
  /** Include the page script (the token page's Copy buttons and countdown). */
  script?: boolean
  /**
   * A second stylesheet after the shared one (the development provider's form controls), made
   * with rawText(). The service's own pages never use it: their CSP allows the shared one only.
   */
  extraStyle?: Html
  /** More elements for the head (the device login's refresh to the provider). */
  head?: Html
  /**
   * The page's referrer policy, which must agree with its Referrer-Policy header. A page whose
   * form POSTs here says `same-origin`: under `no-referrer` browsers send `Origin: null` with the
   * POST, which the service cannot tell from another site's.
   */
  referrer?: 'no-referrer' | 'same-origin'
  footer?: string
}

/** Wraps a page body into a complete HTML document with the shared stylesheet. */
export function renderDocument({
  title,
  body,
  script: withScript = false,
  extraStyle,
  head,
  referrer = 'no-referrer',
  footer = 'mcp-registry-oidc',
}: DocumentInput): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="${referrer}">
<meta name="robots" content="noindex, nofollow">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${style}</style>
${extraStyle === undefined ? '' : html`<style>${extraStyle}</style>\n`}${head === undefined ? '' : html`${head}\n`}</head>
<body>
${body}
<footer>${footer}</footer>
${withScript ? html`<script type="module">${script}</script>\n` : ''}</body>
</html>
`.toString()
}
