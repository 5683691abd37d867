import { createHash } from 'node:crypto'

/**
 * Shared building blocks for the HTML pages (token page, error page).
 *
 * Pages are complete, self-contained documents: one inline stylesheet, at most
 * one inline script (the copy buttons), no external assets, no web fonts, no
 * inline event handlers and no style="" attributes. The Content-Security-Policy
 * allows exactly that stylesheet and that script by their SHA-256 hashes, so no
 * 'unsafe-inline' is ever needed.
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
}

/** Escapes text for use in HTML element content and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return String(value).replace(/[&<>"'`]/g, (ch) => HTML_ESCAPES[ch] ?? ch)
}

/** The one inline stylesheet used by every page (the development provider's pages build on it). */
export const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f3f4f6;
  --card: #ffffff;
  --text: #1c2128;
  --muted: #5b6570;
  --border: #dde2e8;
  --subtle: #f6f7f9;
  --code-bg: #f3f5f8;
  --accent: #2f5fd0;
  --accent-hover: #244db0;
  --accent-text: #ffffff;
  --accent-soft: #e9effc;
  --ok: #1c7c4f;
  --ok-soft: #e3f3ea;
  --warn-bg: #fdf7e7;
  --warn-border: #ecd9a2;
  --warn-text: #5a4508;
  --danger: #b4322a;
  --danger-soft: #fbe9e7;
  --shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 8px 24px rgb(16 24 40 / 6%);
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans",
    "Liberation Sans", Arial, sans-serif;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono",
    "DejaVu Sans Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216;
    --card: #171b21;
    --text: #e4e8ed;
    --muted: #9ba5b0;
    --border: #2c333c;
    --subtle: #1c2128;
    --code-bg: #0f1318;
    --accent: #7ea2ff;
    --accent-hover: #a0bbff;
    --accent-text: #0d1526;
    --accent-soft: #1c2740;
    --ok: #5cc98f;
    --ok-soft: #15301f;
    --warn-bg: #2a2412;
    --warn-border: #54461c;
    --warn-text: #ecd9a2;
    --danger: #ff8a80;
    --danger-soft: #3a1c1a;
    --shadow: 0 1px 2px rgb(0 0 0 / 30%), 0 8px 24px rgb(0 0 0 / 25%);
  }
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  padding: 48px 16px;
  background: var(--bg);
  color: var(--text);
  font-family: var(--sans);
  font-size: 16px;
  line-height: 1.55;
}
.card {
  max-width: 720px;
  margin: 0 auto;
  padding: 40px 44px;
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: 14px;
  box-shadow: var(--shadow);
}
.brand {
  display: flex;
  align-items: center;
  gap: 8px;
  margin: 0 0 24px;
  color: var(--muted);
  font-size: 13px;
  font-weight: 600;
  letter-spacing: 0.04em;
  text-transform: uppercase;
}
.brand svg { width: 18px; height: 18px; color: var(--accent); }
.title-row { display: flex; align-items: center; gap: 14px; }
.badge {
  flex: none;
  display: inline-flex;
  align-items: center;
  justify-content: center;
  width: 40px;
  height: 40px;
  border-radius: 50%;
}
.badge svg { width: 22px; height: 22px; }
.badge-ok { background: var(--ok-soft); color: var(--ok); }
.badge-error { background: var(--danger-soft); color: var(--danger); }
h1 { margin: 0; font-size: 28px; line-height: 1.2; font-weight: 650; letter-spacing: -0.01em; }
h1.error-title { font-size: 24px; }
h2 { margin: 0; font-size: 17px; line-height: 1.3; font-weight: 650; }
h3 { margin: 0 0 4px; font-size: 15px; font-weight: 600; }
p { margin: 0 0 12px; }
.lead { margin: 14px 0 0; color: var(--muted); font-size: 17px; }
.lead strong { color: var(--text); font-weight: 600; overflow-wrap: anywhere; }
section { margin-top: 36px; }
.section-head {
  display: flex;
  align-items: center;
  justify-content: space-between;
  gap: 12px;
  margin-bottom: 12px;
}
.muted { color: var(--muted); }
.small { font-size: 14px; }
code, pre, textarea, .mono { font-family: var(--mono); font-size: 13.5px; }
:not(pre) > code {
  padding: 1px 5px;
  border-radius: 5px;
  background: var(--code-bg);
  border: 1px solid var(--border);
  overflow-wrap: anywhere;
}
.token {
  display: block;
  width: 100%;
  min-height: 8.5em;
  margin: 0;
  padding: 14px 16px;
  resize: vertical;
  border: 1px solid var(--border);
  border-radius: 10px;
  background: var(--code-bg);
  color: var(--text);
  line-height: 1.5;
  overflow-wrap: anywhere;
  word-break: break-all;
  field-sizing: content;
}
.token:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
.expiry { display: flex; flex-wrap: wrap; gap: 4px 10px; margin: 10px 0 0; font-size: 14px; }
.expiry-label { color: var(--muted); }
.expiry time { font-weight: 600; }
.expired-note { margin: 10px 0 0; color: var(--danger); font-size: 14px; font-weight: 600; }
button.copy {
  flex: none;
  appearance: none;
  min-width: 76px;
  padding: 6px 14px;
  border: 1px solid transparent;
  border-radius: 8px;
  background: var(--accent);
  color: var(--accent-text);
  font: inherit;
  font-size: 14px;
  font-weight: 600;
  line-height: 1.4;
  cursor: pointer;
}
button.copy:hover { background: var(--accent-hover); }
button.copy:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
button.copy.secondary {
  background: var(--card);
  border-color: var(--border);
  color: var(--text);
}
button.copy.secondary:hover { background: var(--subtle); }
button.copy.is-done, button.copy.secondary.is-done {
  background: var(--ok-soft);
  border-color: transparent;
  color: var(--ok);
}
table { width: 100%; border-collapse: collapse; font-size: 14.5px; }
th, td { padding: 9px 12px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--border); }
th {
  color: var(--muted);
  font-size: 12.5px;
  font-weight: 600;
  letter-spacing: 0.04em;
  text-transform: uppercase;
}
td:first-child, th:first-child { width: 7.5em; padding-left: 0; }
td code { overflow-wrap: anywhere; }
.pill {
  display: inline-block;
  padding: 1px 9px;
  border-radius: 999px;
  background: var(--accent-soft);
  color: var(--accent);
  font-size: 13px;
  font-weight: 600;
}
.note {
  padding: 12px 14px;
  border: 1px dashed var(--border);
  border-radius: 10px;
  color: var(--muted);
  font-size: 14.5px;
}
.steps { display: grid; gap: 24px; margin-top: 4px; }
.step p { color: var(--muted); font-size: 14.5px; margin-bottom: 8px; }
.step p.after { margin: 8px 0 0; }
.snippet {
  position: relative;
  border: 1px solid var(--border);
  border-radius: 10px;
  background: var(--code-bg);
}
.snippet pre {
  margin: 0;
  padding: 12px 96px 12px 16px;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  line-height: 1.5;
}
.snippet.break-all pre { word-break: break-all; }
.snippet button.copy { position: absolute; top: 7px; right: 7px; min-width: 72px; padding: 4px 10px; font-size: 13px; }
.callout {
  margin-top: 32px;
  padding: 14px 16px;
  border: 1px solid var(--warn-border);
  border-radius: 10px;
  background: var(--warn-bg);
  color: var(--warn-text);
  font-size: 14.5px;
}
.callout p { margin: 0; }
.callout p + p { margin-top: 6px; }
.error-code {
  display: flex;
  flex-wrap: wrap;
  gap: 6px 16px;
  margin-top: 24px;
  padding: 12px 14px;
  border: 1px solid var(--border);
  border-radius: 10px;
  background: var(--subtle);
  font-size: 14px;
}
.error-code code { border: 0; background: none; padding: 0; font-weight: 600; }
.description {
  margin: 20px 0 0;
  white-space: pre-line;
  overflow-wrap: anywhere;
}
.hint { margin: 12px 0 0; color: var(--muted); }
.actions { margin-top: 28px; }
a.button {
  display: inline-block;
  padding: 9px 18px;
  border-radius: 8px;
  background: var(--accent);
  color: var(--accent-text);
  font-weight: 600;
  text-decoration: none;
}
a.button:hover { background: var(--accent-hover); }
a.button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
footer { max-width: 720px; margin: 18px auto 0; color: var(--muted); font-size: 12.5px; text-align: center; }
@media (max-width: 560px) {
  body { padding: 16px 10px; }
  .card { padding: 24px 18px; border-radius: 12px; }
  h1 { font-size: 24px; }
  h1.error-title { font-size: 21px; }
  .lead { font-size: 16px; }
  section { margin-top: 30px; }
  .snippet pre { padding: 12px 14px 4px; }
  .snippet.break-all pre { word-break: break-all; }
.snippet button.copy { position: static; display: block; margin: 0 8px 8px auto; }
  td:first-child, th:first-child { width: 6em; }
}
`

/**
 * The one inline script: copy buttons and the live expiry countdown.
 * Buttons are `[data-copy-target="<element id>"]`, hidden until this runs.
 * The countdown is `[data-expires-at="<unix seconds>"]`, with an optional
 * `#token-expired` note revealed once the time has passed.
 */
const SCRIPT = `
(() => {
  'use strict'
  const timers = new WeakMap()
  const textOf = (el) =>
    el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement ? el.value : el.textContent || ''
  const select = (el) => {
    if (el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement) {
      el.focus()
      el.select()
      return
    }
    const range = document.createRange()
    range.selectNodeContents(el)
    const selection = window.getSelection()
    if (selection) {
      selection.removeAllRanges()
      selection.addRange(range)
    }
  }
  const show = (button, label, done) => {
    if (!button.dataset.label) button.dataset.label = button.textContent || 'Copy'
    button.textContent = label
    button.classList.toggle('is-done', done)
    clearTimeout(timers.get(button))
    timers.set(
      button,
      setTimeout(() => {
        button.textContent = button.dataset.label || 'Copy'
        button.classList.remove('is-done')
      }, 2000),
    )
  }
  const fallback = (button, target) => {
    select(target)
    let copied = false
    try {
      copied = document.execCommand('copy')
    } catch {
      copied = false
    }
    show(button, copied ? 'Copied' : 'Selected', copied)
  }
  for (const button of document.querySelectorAll('button[data-copy-target]')) {
    const target = document.getElementById(button.dataset.copyTarget || '')
    if (!target) continue
    button.hidden = false
    button.addEventListener('click', () => {
      const text = textOf(target)
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          () => show(button, 'Copied', true),
          () => fallback(button, target),
        )
      } else {
        fallback(button, target)
      }
    })
  }
  for (const el of document.querySelectorAll('textarea[readonly]')) {
    el.addEventListener('focus', () => el.select())
  }
  const countdown = document.querySelector('[data-expires-at]')
  if (countdown) {
    const expiresAt = Number(countdown.getAttribute('data-expires-at'))
    const note = document.getElementById('token-expired')
    const update = () => {
      const left = expiresAt - Date.now() / 1000
      if (!(left > 0)) {
        countdown.textContent = '(expired)'
        if (note) note.hidden = false
        return false
      }
      if (left < 60) {
        countdown.textContent = '(in less than a minute)'
      } else {
        const minutes = Math.round(left / 60)
        countdown.textContent = '(in ' + minutes + (minutes === 1 ? ' minute)' : ' minutes)')
      }
      return true
    }
    if (Number.isFinite(expiresAt) && update()) {
      const id = setInterval(() => {
        if (!update()) clearInterval(id)
      }, 5000)
    }
  }
})()
`

/** A CSP source expression allowing exactly this inline text. */
export function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

/**
 * The Content-Security-Policy for every page rendered here. It allows exactly
 * the inline stylesheet and script above (by hash) and nothing else.
 */
export const pageContentSecurityPolicy: string = [
  "default-src 'none'",
  `style-src ${sha256Source(STYLE)}`,
  `script-src ${sha256Source(SCRIPT)}`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** An inline SVG icon (decorative). */
export const icons = {
  logo: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 2 3 6.5v5.1c0 5.2 3.8 9.4 9 10.4 5.2-1 9-5.2 9-10.4V6.5L12 2Zm0 2.2 7 3.5v3.9c0 4.1-2.9 7.6-7 8.5-4.1-.9-7-4.4-7-8.5V7.7l7-3.5Z"/></svg>',
  check:
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M9.5 16.2 5.3 12l-1.4 1.4 5.6 5.6L20.1 8.4 18.7 7 9.5 16.2Z"/></svg>',
  alert:
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M11 7h2v7h-2V7Zm0 9h2v2h-2v-2Zm1-14C6.5 2 2 6.5 2 12s4.5 10 10 10 10-4.5 10-10S17.5 2 12 2Zm0 18c-4.4 0-8-3.6-8-8s3.6-8 8-8 8 3.6 8 8-3.6 8-8 8Z"/></svg>',
} as const

export interface DocumentInput {
  /** Plain text; escaped here. */
  title: string
  /** Trusted HTML: every user-supplied value in it must already be escaped. */
  body: string
  /** Include the copy-button script (the only inline script). */
  script?: boolean
  /**
   * A second stylesheet after the shared one (the development provider's form controls). The
   * service's own pages never use it: their CSP allows the shared stylesheet only.
   */
  extraStyle?: string
  /** Plain text; escaped here. */
  footer?: string
}

/** Wraps a page body into a complete HTML document with the shared stylesheet. */
export function renderDocument({
  title,
  body,
  script = false,
  extraStyle,
  footer = 'mcp-registry-oidc',
}: DocumentInput): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
${extraStyle === undefined ? '' : `<style>${extraStyle}</style>\n`}</head>
<body>
${body}
<footer>${escapeHtml(footer)}</footer>
${script ? `<script>${SCRIPT}</script>\n` : ''}</body>
</html>
`
}
