// The development provider behind the real service, driven without a browser: its login form,
// the claims a person picks reaching the service's policy, and its strict CSP.

import { createHash } from 'node:crypto'
import t from 'tap'
import { TestBrowser } from '../helpers/browser.js'
import { startDevStack } from '../helpers/dev-stack.js'

const policy = '[{"groups":"platform"},{"tenant":["t1","t2"]}]'
const { provider, service } = await startDevStack(t, policy)
const start = `${service.baseUrl}/v0/auth/oidc/start`

/** Follows the login to the provider's form; returns the form's URL and page. */
async function openForm(browser: TestBrowser): Promise<{ url: URL; response: Response }> {
  const { url, response } = await browser.followUntil(start, () => false)
  if (response === undefined) throw new Error('no page')
  return { url, response }
}

/** Posts the form; returns the service's JSON answer at the end of the redirects. */
async function signIn(browser: TestBrowser, form: URL, fields: Record<string, string>) {
  const posted = await browser.request(form, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  })
  const location = posted.headers.get('location')
  if (posted.status !== 303 || location === null) return posted
  const { url } = await browser.followUntil(new URL(location, form), (next) =>
    next.pathname.endsWith('/auth/oidc/callback'),
  )
  return browser.request(url, { headers: { accept: 'application/json' } })
}

t.test('the login form: prefilled from the policy, strict CSP', async (t) => {
  const { url, response } = await openForm(new TestBrowser())
  t.equal(url.origin, provider.issuer)
  t.equal(response.status, 200)
  const html = await response.text()
  t.match(html, 'name="username"')
  t.match(html, 'value="platform"', 'groups prefilled to pass the policy')
  t.match(html, '{&quot;tenant&quot;:&quot;t1&quot;}', 'and the other claims')
  t.match(html, '[{&quot;groups&quot;:&quot;platform&quot;}', 'the policy is shown')
  const csp = response.headers.get('content-security-policy') ?? ''
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(
    ([, style]) =>
      `'sha256-${createHash('sha256')
        .update(style ?? '')
        .digest('base64')}'`,
  )
  t.equal(styles.length, 2, 'the shared stylesheet and the form’s')
  t.same(csp.split('; '), [
    "default-src 'none'",
    `style-src ${styles.join(' ')}`,
    'img-src data:',
    `form-action 'self' ${service.baseUrl} http://127.0.0.1:* http://localhost:*`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ])
  t.notMatch(html, '<script', 'no script at all')
  t.equal(response.headers.get('cache-control'), 'no-store')
  t.equal(response.headers.get('x-content-type-options'), 'nosniff')
})

t.test('the claims picked on the form reach the service’s policy', async (t) => {
  const browser = new TestBrowser()
  const fields = { username: 'alice', groups: 'platform', other_claims: '{"tenant":"t2"}' }
  const allowed = await signIn(browser, (await openForm(browser)).url, fields)
  t.equal(allowed.status, 200)
  t.ok(((await allowed.json()) as { registry_token?: string }).registry_token)

  // the same browser, another user: the form shows again, the old session does not get in the way
  const refused = await signIn(browser, (await openForm(browser)).url, {
    ...fields,
    username: 'mallory',
    other_claims: '{"tenant":"t3"}',
  })
  t.equal(refused.status, 403)
  t.match(await refused.json(), { error: 'claims_not_allowed' })
})

t.test('a form that cannot sign in is shown again with the problem', async (t) => {
  const browser = new TestBrowser()
  const { url } = await openForm(browser)
  const again = await signIn(browser, url, { username: '', groups: 'platform' })
  t.equal(again.status, 400)
  const html = await again.text()
  t.match(html, 'Enter a user name: any name will do.')
  t.match(html, 'value="platform"', 'what was typed stays')
  const unknown = await signIn(browser, url, { username: 'eve', other_claims: '{"role":"x"}' })
  t.match(await unknown.text(), '&quot;role&quot; is not a claim this provider adds')
})

t.test('an unknown or finished sign-in gets the provider’s error page', async (t) => {
  const response = await fetch(`${provider.issuer}/interaction/unknown-interaction`)
  t.equal(response.status, 400)
  t.match(response.headers.get('content-security-policy'), "default-src 'none'")
  t.match(await response.text(), 'The sign-in cannot continue')
  const bad = await fetch(`${provider.issuer}/auth?client_id=nobody`)
  t.equal(bad.status, 400)
  t.match(await bad.text(), 'Error code <code>invalid_client</code>')
})
