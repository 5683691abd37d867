// A device login with a real browser on the person's side: Chromium opens the link a terminal
// shows, continues to the confirmation page, confirms, signs in at the development provider's
// form and ends on "Signed in — go back to your terminal"; the terminal's poll then gets a token
// that verifies the way the registry verifies it. The pages must work under their own
// Content-Security-Policy (form-action 'self', and the way on to the provider after the POST).

import { createServer } from 'node:http'
import t from 'tap'
import { chromiumMissing, launchChromium, screenshot, watchedPage } from '../helpers/chromium.js'
import { startDevStack } from '../helpers/dev-stack.js'
import { pollDeviceToken, requestDeviceLogin } from '../helpers/device.js'
import { registryPublicKey } from '../helpers/registry-key.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { testSigningSeedHex } from '../helpers/service.js'
import { listenOnLoopback } from '../helpers/test-provider.js'

await whenToolPresent(t, chromiumMissing(), run)

async function run(): Promise<void> {
  const { service } = await startDevStack(t)
  const browser = await launchChromium()
  t.teardown(() => browser.close())

  t.test('the link, the code, the confirmation, the sign-in, the token', async (t) => {
    const markup = '<img src=x onerror=alert(1)> "dev box" & <b>'
    const device = await requestDeviceLogin(service.baseUrl, { client_name: markup })

    const { page, problems } = await watchedPage(browser)
    await page.goto(device.verification_uri_complete)
    t.equal(await page.inputValue('#user-code'), device.user_code, 'pre-filled from the link')
    t.same(await problems(), [], 'entry page: no console errors, no CSP violations')
    await screenshot(page, 'device-entry')

    await Promise.all([page.waitForURL(/\/device\/confirm\?/), page.click('button.primary')])
    t.equal(await page.textContent('h1'), 'Is this your sign-in?')
    t.equal(await page.textContent('dd.shown-code'), device.user_code)
    t.equal(
      await page.textContent('dl.request .client-name'),
      markup,
      'the client name is shown as the text it is',
    )
    t.match(
      await page.textContent('dl.request dd:nth-of-type(2)'),
      'The name the terminal gave itself — not verified',
    )
    t.same(
      await page.locator('dl.request .client-name').evaluate((name) => {
        const style = name.ownerDocument.defaultView?.getComputedStyle(name)
        return [style?.overflow, style?.whiteSpace]
      }),
      ['hidden', 'nowrap'],
      'clipped to one line of its own',
    )
    t.match(await page.textContent('dl.request dd:nth-of-type(3)'), /^just now \(.* UTC\)$/)
    t.equal(await page.locator('dl.request img, dl.request b').count(), 0, 'and never as markup')
    t.match(await page.textContent('.callout'), 'Continue only if you started this sign-in')
    t.same(await problems(), [], 'confirmation page: no console errors, no CSP violations')
    await screenshot(page, 'device-confirm')

    await Promise.all([page.waitForURL(/\/interaction\//), page.click('button.primary')])
    await page.fill('#username', 'device-user')
    await Promise.all([page.waitForURL(/\/auth\/oidc\/callback/), page.click('button.primary')])
    t.equal(await page.textContent('h1'), 'Signed in — go back to your terminal')
    t.notMatch(await page.content(), /eyJ/, 'the browser never sees the token')
    t.same(await problems(), [], 'last page: no console errors, no CSP violations')
    await screenshot(page, 'device-done')
    await page.close()

    const granted = await pollDeviceToken(service.baseUrl, device.device_code)
    t.equal(granted.status, 200)
    const claims = await verifyRegistryToken(
      granted.body.registry_token as string,
      registryPublicKey(testSigningSeedHex),
    )
    t.equal(claims.auth_method_sub, 'device-user', 'the registry would accept it')
  })

  t.test('a form on another site cannot confirm, even with the victim signed in', async (t) => {
    const device = await requestDeviceLogin(service.baseUrl, { client_name: 'attacker terminal' })
    // The victim has the confirmation page's cookie already (opened earlier in this browser).
    const { page } = await watchedPage(browser)
    await page.goto(`${device.verification_uri}/confirm?user_code=${device.user_code}`)
    const attacker = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end(
        `<form method="post" action="${service.baseUrl}/v0/auth/oidc/device/confirm">
<input name="user_code" value="${device.user_code}"><input name="_csrf" value="guessed">
<button id="go">Win a prize</button></form>`,
      )
    })
    const attackerPort = await listenOnLoopback(attacker)
    t.teardown(
      () =>
        new Promise<void>((resolve) => {
          attacker.close(() => resolve())
          attacker.closeAllConnections()
        }),
    )
    // localhost is another site than 127.0.0.1; another port of 127.0.0.1 the same site.
    for (const origin of [`http://localhost:${attackerPort}`, `http://127.0.0.1:${attackerPort}`]) {
      await page.goto(origin)
      const [answer] = await Promise.all([
        page.waitForResponse((response) => response.url().endsWith('/device/confirm')),
        page.click('#go'),
      ])
      t.equal(answer.status(), 403, `from ${origin}: refused`)
      t.match(await page.textContent('.error-code'), 'cross_site_request')
    }
    const cookies = await browser.context.cookies(service.baseUrl)
    t.notOk(
      cookies.some((cookie) => cookie.name.includes('mcp_oidc_flow_')),
      'no login was started',
    )
    await page.close()
    const poll = await pollDeviceToken(service.baseUrl, device.device_code)
    t.equal(poll.body.error, 'authorization_pending', 'and nothing decided')
  })
}
