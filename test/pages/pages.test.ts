import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { renderErrorPage } from '../../src/pages/error-page.js'
import { pageContentSecurityPolicy, renderDocument } from '../../src/pages/html.js'
import { html } from '../../src/pages/html-template.js'
import {
  formatRelative,
  formatUtc,
  renderTokenPage,
  shellQuote,
  type TokenPageInput,
  tokenSnippets,
} from '../../src/pages/token-page.js'
import { decodeHtml } from '../helpers/html.js'

const NOW = 1_767_225_600 // 2026-01-01 00:00:00 UTC
const TOKEN =
  'eyJhbGciOiJFZERTQSIsImtpZCI6ImFiYyIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJtY3AtcmVnaXN0cnkifQ.c2lnbmF0dXJlX2J5dGVzX2hlcmVfXy0tX18'

const base: TokenPageInput = {
  token: TOKEN,
  expiresAt: NOW + 300,
  permissions: [
    { action: 'publish', resource: 'com.example/*' },
    { action: 'edit', resource: 'io.github.example/*' },
  ],
  subject: 'alice@example.com',
  registryUrl: 'https://registry.example.com',
}

const HOSTILE = `"><script>alert(1)</script>'\`</textarea></pre></code><img src=x onerror=alert(1)>`

const hostile: TokenPageInput = {
  token: `${TOKEN}'$(touch /tmp/pwned-by-token)\`id\`</textarea><script>alert(1)</script>`,
  expiresAt: NOW + 600,
  permissions: [{ action: 'publish', resource: HOSTILE }],
  subject: HOSTILE,
  registryUrl: `https://evil.example/'; touch /tmp/pwned; echo '"$HOME\\${HOSTILE}`,
}

/** The decoded text of `<pre id="…"><code>…</code></pre>`, i.e. what Copy copies. */
function snippetText(html: string, id: string): string {
  const match = html.match(new RegExp(`<pre id="${id}"><code>([^<]*)</code></pre>`))
  if (!match?.[1]) throw new Error(`snippet ${id} not found`)
  return decodeHtml(match[1])
}

function inlineBlocks(html: string, tag: 'style' | 'script'): string[] {
  return [...html.matchAll(new RegExp(`<${tag}(?: [^>]*)?>([\\s\\S]*?)</${tag}>`, 'g'))].map(
    (m) => m[1] ?? '',
  )
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64')
}

const ALLOWED_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'link',
  'style',
  'script',
  'body',
  'main',
  'header',
  'footer',
  'section',
  'aside',
  'div',
  'span',
  'p',
  'h1',
  'h2',
  'h3',
  'strong',
  'code',
  'pre',
  'textarea',
  'button',
  'time',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'a',
  'svg',
  'path',
])

/**
 * Scans every tag of a rendered page. Outside <style>/<script>, every `<` must
 * start a well-formed tag with double-quoted attribute values that contain no
 * raw `"`, `<` or `>`: an escaping mistake shows up as a tag that fails to
 * parse, an unexpected tag, or an unexpected attribute.
 */
function scanTags(html: string): { tags: string[]; attributes: string[] } {
  const stripped = html
    .replace(/^<!doctype html>/i, '')
    .replace(/<style>[\s\S]*?<\/style>/g, '<style></style>')
    .replace(/<script type="module">[\s\S]*?<\/script>/g, '<script></script>')
  const tags: string[] = []
  const attributes: string[] = []
  const tagRe = /^<\/?([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z][a-zA-Z0-9-]*(?:="[^"<>]*")?)*)\s*\/?>/
  for (let i = stripped.indexOf('<'); i !== -1; i = stripped.indexOf('<', i + 1)) {
    const match = tagRe.exec(stripped.slice(i))
    if (!match) throw new Error(`malformed markup at: ${stripped.slice(i, i + 80)}`)
    tags.push((match[1] ?? '').toLowerCase())
    for (const attr of (match[2] ?? '').matchAll(/([a-zA-Z][a-zA-Z0-9-]*)(?:="[^"]*")?/g)) {
      attributes.push((attr[1] ?? '').toLowerCase())
    }
  }
  return { tags, attributes }
}

/** Everything wrong with a page's markup; empty when it is safe. */
function markupProblems(html: string, scripts: 0 | 1): string[] {
  const problems: string[] = []
  let scan: { tags: string[]; attributes: string[] }
  try {
    scan = scanTags(html)
  } catch (error) {
    return [(error as Error).message]
  }
  const { tags, attributes } = scan
  const count = (tag: string) => tags.filter((name) => name === tag).length
  for (const tag of tags) if (!ALLOWED_TAGS.has(tag)) problems.push(`unexpected <${tag}>`)
  if (count('style') !== 2) problems.push('not exactly one <style> element')
  if (count('script') !== scripts * 2) problems.push('unexpected number of <script> elements')
  if (count('textarea') !== scripts * 2) problems.push('unexpected number of <textarea> elements')
  for (const attr of attributes) {
    if (attr.startsWith('on')) problems.push(`event handler attribute ${attr}`)
    if (attr === 'style' || attr === 'src' || attr === 'srcdoc') problems.push(`attribute ${attr}`)
  }
  return problems
}

t.test('interpolated text is escaped', async (t) => {
  const asText = (text: string) => html`${text}`.toString()
  t.equal(
    asText(`<a href="x" title='y'>\`&`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&#96;&amp;',
  )
  t.equal(asText('plain text'), 'plain text')
  t.equal(asText('&amp;'), '&amp;amp;', 'escapes already escaped text again')
})

t.test('shellQuote', async (t) => {
  t.equal(shellQuote('abc'), `'abc'`)
  t.equal(shellQuote(`it's`), `'it'\\''s'`)
  t.equal(shellQuote(''), `''`)
})

t.test('time formatting', async (t) => {
  t.equal(formatUtc(NOW + 300), '2026-01-01 00:05:00 UTC')
  t.equal(formatUtc(Number.NaN), 'unknown time')
  t.equal(formatRelative(NOW + 300, NOW), 'in 5 minutes')
  t.equal(formatRelative(NOW + 60, NOW), 'in 1 minute')
  t.equal(formatRelative(NOW + 59, NOW), 'in less than a minute')
  t.equal(formatRelative(NOW, NOW), 'expired')
  t.equal(formatRelative(NOW - 10, NOW), 'expired')
})

t.test('token page content', async (t) => {
  const html = renderTokenPage(base, NOW)
  t.ok(html.startsWith('<!doctype html>'), 'complete document')
  t.match(html, /<h1>Signed in<\/h1>/)
  t.match(html, 'alice@example.com', 'shows the subject')
  t.match(
    html,
    /<textarea id="registry-token"[^>]*readonly[^>]*>eyJ[^<]+<\/textarea>/,
    'read-only token box',
  )
  t.ok(html.includes(`>${TOKEN}</textarea>`), 'token in the box, verbatim')
  t.match(html, 'data-copy-target="registry-token"', 'copy button for the token')

  t.match(html, '<time datetime="2026-01-01T00:05:00.000Z">2026-01-01 00:05:00 UTC</time>')
  t.match(html, '(in 5 minutes)')
  t.match(html, `data-expires-at="${NOW + 300}"`)
  t.match(html, /<p class="expired-note" id="token-expired" hidden>/, 'expired note hidden')

  t.match(
    html,
    /<td><span class="pill">publish<\/span><\/td><td><code>com\.example\/\*<\/code><\/td>/,
  )
  t.match(
    html,
    /<td><span class="pill">edit<\/span><\/td><td><code>io\.github\.example\/\*<\/code><\/td>/,
  )
  t.notMatch(html, 'no permissions')

  const exportLine = snippetText(html, 'snippet-export')
  t.equal(exportLine, `export MCP_REGISTRY_TOKEN='${TOKEN}'`)
  t.ok(html.includes(`export MCP_REGISTRY_TOKEN=&#39;${TOKEN}&#39;`), 'export line in the page')

  const fileCommand = snippetText(html, 'snippet-token-file')
  const json = `{"token":"${TOKEN}","method":"oidc","registry":"https://registry.example.com"}`
  t.ok(fileCommand.includes(`printf '%s\\n' '${json}'`), 'prints the token JSON')
  t.match(fileCommand, 'umask 077')
  t.match(fileCommand, /tee ~\/\.mcp_publisher_token /)
  t.match(fileCommand, 'chmod 600 ~/.mcp_publisher_token')
  t.match(html, 'mcp-publisher publish')

  const curl = snippetText(html, 'snippet-curl')
  t.match(curl, `curl -X POST 'https://registry.example.com/v0/publish'`)
  t.match(curl, '-H "Authorization: Bearer $MCP_REGISTRY_TOKEN"')
  t.match(curl, '--data @server.json')
  t.ok(
    html.includes('-H &quot;Authorization: Bearer $MCP_REGISTRY_TOKEN&quot;'),
    'curl header line in the page',
  )

  for (const id of ['snippet-export', 'snippet-token-file', 'snippet-curl']) {
    t.match(html, `data-copy-target="${id}"`, `copy button for ${id}`)
  }
  t.match(html, /credential/)
  t.match(html, /Close this page/)
  t.same(snippetText(html, 'snippet-token-file'), tokenSnippets(base).tokenFileCommand)
})

t.test('token page edge cases', async (t) => {
  const none = renderTokenPage({ ...base, permissions: [] }, NOW)
  t.match(none, 'no permissions', 'explicit note when there are no permissions')
  t.notMatch(none, '<table>')

  const expired = renderTokenPage({ ...base, expiresAt: NOW - 1 }, NOW)
  t.match(expired, '(expired)')
  t.match(expired, /<p class="expired-note" id="token-expired">/, 'expired note visible')

  const slash = renderTokenPage({ ...base, registryUrl: 'https://registry.example.com/' }, NOW)
  t.match(snippetText(slash, 'snippet-curl'), `'https://registry.example.com/v0/publish'`)
  t.match(snippetText(slash, 'snippet-token-file'), '"registry":"https://registry.example.com"}')
})

t.test('token page escapes hostile input', async (t) => {
  const html = renderTokenPage(hostile, NOW)
  t.same(markupProblems(html, 1), [], 'markup is well-formed and safe')
  t.equal(html.match(/<script/g)?.length, 1, 'only the page script')
  t.equal(html.match(/<\/textarea>/g)?.length, 1, 'token cannot close the textarea')
  t.equal(html.match(/<img/g), null)
  t.match(html, '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;&#96;', 'subject escaped')
  t.ok(html.includes(`&lt;/textarea&gt;&lt;script&gt;`), 'token escaped in the box')

  // What the Copy buttons copy is exactly the intended text.
  const snippets = tokenSnippets(hostile)
  t.equal(snippetText(html, 'snippet-export'), snippets.exportLine)
  t.equal(snippetText(html, 'snippet-token-file'), snippets.tokenFileCommand)
  t.equal(snippetText(html, 'snippet-curl'), snippets.curlCommand)
  t.match(snippets.curlCommand, `'https://evil.example/'\\''; touch /tmp/pwned; echo '\\''`)
})

const shell = '/bin/sh'

t.test(
  'shell snippets are safe to run',
  { skip: !existsSync(shell) && 'no /bin/sh' },
  async (t) => {
    for (const input of [base, hostile]) {
      const home = mkdtempSync(join(tmpdir(), 'pages-home-'))
      t.teardown(() => rmSync(home, { recursive: true, force: true }))
      const env = { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin' }
      const { exportLine, tokenFileCommand } = tokenSnippets(input)

      execFileSync(shell, ['-c', tokenFileCommand], { env })
      for (const file of ['.mcp_publisher_token', '.config/mcp-publisher/token.json']) {
        const path = join(home, file)
        t.same(JSON.parse(readFileSync(path, 'utf8')), {
          token: input.token,
          method: 'oidc',
          registry: input.registryUrl.replace(/\/+$/, ''),
        })
        t.equal(statSync(path).mode & 0o777, 0o600, `${file} is 0600`)
      }
      const printed = execFileSync(
        shell,
        ['-c', `${exportLine}; printf '%s' "$MCP_REGISTRY_TOKEN"`],
        {
          env,
        },
      ).toString()
      t.equal(printed, input.token, 'export sets exactly the token')
    }
  },
)

t.test('content security policy', async (t) => {
  const csp = pageContentSecurityPolicy
  t.match(csp, "default-src 'none'")
  t.match(csp, "frame-ancestors 'none'")
  t.match(csp, "base-uri 'none'")
  t.match(csp, "form-action 'none'")
  t.match(csp, 'img-src data:')
  t.notMatch(csp, 'unsafe-inline')
  t.notMatch(csp, 'unsafe-eval')

  const token = renderTokenPage(base, NOW)
  const error = renderErrorPage({ status: 400, error: 'state_mismatch', description: 'x' })
  const [tokenStyle] = inlineBlocks(token, 'style')
  const [errorStyle] = inlineBlocks(error, 'style')
  const [script] = inlineBlocks(token, 'script')
  t.ok(tokenStyle && script, 'token page has its style and script')
  t.equal(tokenStyle, errorStyle, 'one stylesheet shared by all pages')
  t.equal(inlineBlocks(error, 'script').length, 0, 'error page has no script')
  t.match(csp, `style-src 'sha256-${sha256(tokenStyle ?? '')}'`)
  t.match(csp, `script-src 'sha256-${sha256(script ?? '')}'`)
})

t.test('renderDocument', async (t) => {
  const page = renderDocument({ title: '<b>"x"</b>', body: html`<main></main>` })
  t.match(page, '<title>&lt;b&gt;&quot;x&quot;&lt;/b&gt;</title>')
  t.notMatch(page, '<script')
  t.match(page, '<meta name="referrer" content="no-referrer">')
  t.match(page, '<body>\n<main></main>\n<footer>')
  t.match(renderDocument({ title: 't', body: html``, script: true }), '<script type="module">')
})

t.test('error page', async (t) => {
  const html = renderErrorPage({
    status: 400,
    error: 'state_mismatch',
    description: 'The state does not match.',
    startUrl: '/v0/auth/oidc/start?redirect_uri=http%3A%2F%2F127.0.0.1%3A1234%2F&state=a&b',
  })
  t.same(markupProblems(html, 0), [], 'markup is well-formed and safe')
  t.match(html, /<h1 class="error-title">This sign-in does not match your session<\/h1>/)
  t.match(html, 'The state does not match.')
  t.match(html, '<code>state_mismatch</code>')
  t.match(html, '<code>400</code>')
  t.match(
    html,
    '<a class="button" href="/v0/auth/oidc/start?redirect_uri=http%3A%2F%2F127.0.0.1%3A1234%2F&amp;state=a&amp;b">Start again</a>',
  )

  const noLink = renderErrorPage({ status: 403, error: 'claims_not_allowed', description: 'No.' })
  t.notMatch(noLink, '<a ')
  t.match(noLink, 'Your account is not allowed')

  const unknown = renderErrorPage({ status: 500, error: 'internal_error', description: 'Boom.' })
  t.match(unknown, 'Something went wrong')
  t.match(unknown, '<code>internal_error</code>')
})

t.test('error page escapes hostile input', async (t) => {
  const html = renderErrorPage({
    status: 400,
    error: HOSTILE,
    description: HOSTILE,
    startUrl: `https://example.com/start?x="><script>alert(1)</script>`,
  })
  t.same(markupProblems(html, 0), [], 'markup is well-formed and safe')
  t.notMatch(html, '<script')
  t.notMatch(html, '<img')
  t.match(
    html,
    'href="https://example.com/start?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"',
  )
  t.match(html, '<code>&quot;&gt;&lt;script&gt;')

  for (const startUrl of [
    'javascript:alert(1)',
    ' JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '//evil.example/',
    '/\\evil.example',
    'vbscript:x',
  ]) {
    const page = renderErrorPage({ status: 400, error: 'flow_expired', description: 'd', startUrl })
    t.notMatch(page, '<a ', `no link for ${JSON.stringify(startUrl)}`)
  }
})
