// `npm run demo` in a real browser: the demo runner (from source) starts the development provider
// and the service; Chromium signs in through the login form, copies the token, and meets the
// policy's refusal. Screenshots of each page go to .tap/screenshots/.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { createRemoteJWKSet } from 'jose'
import t from 'tap'
import {
  chromiumMissing,
  launchChromium,
  screenshot,
  type TestChromium,
  watchedPage,
} from '../helpers/chromium.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { freePort } from '../helpers/test-provider.js'

await whenToolPresent(t, chromiumMissing(), run)

/** Starts the demo and resolves once it printed its banner; rejects if it exits first. */
async function startDemo(
  port: number,
  providerPort: number,
): Promise<{ demo: ChildProcess; output: () => string }> {
  const entry = fileURLToPath(new URL('../../dev/demo.ts', import.meta.url))
  const demo = spawn(
    process.execPath,
    [...process.execArgv, entry, '--port', String(port), '--provider-port', String(providerPort)],
    {
      // process.env carries the TypeScript loader's settings; the policy is the deployer's own.
      env: { ...process.env, MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '[{"hd":"example.com"}]' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let text = ''
  demo.stdout?.on('data', (chunk) => {
    text += chunk
  })
  demo.stderr?.on('data', (chunk) => {
    text += chunk
  })
  await new Promise<void>((resolve, reject) => {
    const check = () => text.includes('Press Ctrl-C to stop.') && resolve()
    demo.stdout?.on('data', check)
    demo.once('exit', (code) => reject(new Error(`the demo exited (${code}):\n${text}`)))
  })
  return { demo, output: () => text }
}

async function run(): Promise<void> {
  const [port, providerPort] = [await freePort(), await freePort()]
  const base = `http://127.0.0.1:${port}`
  const { demo, output } = await startDemo(port, providerPort)
  t.teardown(() => {
    if (demo.exitCode === null) demo.kill('SIGKILL')
  })
  const browser: TestChromium = await launchChromium()
  t.teardown(() => browser.close())

  t.match(output(), `Sign in:      ${base}/v0/auth/oidc/start`, 'the banner shows where to sign in')
  t.match(output(), 'MCP_REGISTRY_OIDC_EXTRA_CLAIMS=[{"hd":"example.com"}]', 'and the policy')

  t.test('start → login form → token page, and the copy button', async (t) => {
    const { page, problems } = await watchedPage(browser)
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })

    await page.goto(`${base}/v0/auth/oidc/start`)
    t.equal(new URL(page.url()).port, String(providerPort), 'the provider shows its login form')
    t.equal(await page.textContent('h1'), 'Sign in')
    t.equal(await page.inputValue('#hd'), 'example.com', 'prefilled to pass the policy')
    t.match(await page.textContent('.policy'), '[{"hd":"example.com"}]')
    t.same(await problems(), [], 'the login form: no console errors, no CSP violations')
    await screenshot(page, 'demo-login-form')

    await page.fill('#username', 'alice')
    await page.fill('#groups', 'registry-publishers, platform')
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/v0/auth/oidc/callback'),
      page.click('button.primary'),
    ])
    t.equal(await page.textContent('h1'), 'Signed in')
    t.match(await page.textContent('.lead'), 'Signed in as alice')
    const token = await page.inputValue('#registry-token')
    const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`))
    const claims = await verifyRegistryToken(token, await jwks({ alg: 'EdDSA' }))
    t.equal(claims.auth_method_sub, 'alice', 'the token verifies and names the user')
    t.same(claims.permissions, [
      { action: 'publish', resource: 'com.example/*' },
      { action: 'edit', resource: 'com.example/*' },
    ])

    const copy = page.locator('button[data-copy-target="registry-token"]')
    await copy.click()
    await copy.filter({ hasText: 'Copied' }).waitFor()
    t.equal(
      await page.evaluate('navigator.clipboard.readText()'),
      token,
      'the token is on the clipboard',
    )
    t.same(await problems(), [], 'the token page: no console errors, no CSP violations')
    await copy.filter({ hasText: /^Copy$/ }).waitFor()
    await page.mouse.move(0, 0)
    await screenshot(page, 'demo-token-page')
    await page.close()
  })

  t.test('a user outside the policy sees the error page', async (t) => {
    const { page, problems } = await watchedPage(browser)
    await page.goto(`${base}/v0/auth/oidc/start`)
    await page.fill('#username', 'mallory')
    await page.fill('#hd', 'elsewhere.test')
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${base}/v0/auth/oidc/callback`)),
      page.click('button.primary'),
    ])
    t.equal(response.status(), 403)
    t.equal(await page.textContent('h1'), 'Your account is not allowed to use this registry')
    t.match(await page.textContent('.error-code'), 'claims_not_allowed')
    t.same(await problems(), [], 'the error page: no console errors, no CSP violations')
    await screenshot(page, 'demo-error-page')
    await page.close()
  })

  t.test('the demo tells what happened and Ctrl-C stops both servers', async (t) => {
    t.match(output(), /service {2}info {2}login completed {2}sub=alice/)
    t.match(output(), /request refused {2}error=claims_not_allowed/)
    demo.kill('SIGINT')
    const [code] = await once(demo, 'exit')
    t.equal(code, 0)
    t.match(output(), 'Stopped.')
    for (const url of [
      `${base}/healthz`,
      `http://127.0.0.1:${providerPort}/.well-known/openid-configuration`,
    ]) {
      await t.rejects(fetch(url), `nothing listens at ${url} any more`)
    }
  })
}
