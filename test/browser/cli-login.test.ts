// The CLI's `login --no-browser` with Chromium following the URL it prints: through the
// development provider's form, back to the CLI's loopback listener, and into the token file that
// mcp-publisher reads. And `login --device`, with Chromium as the browser on "another device": it
// opens the printed page, types the printed code, confirms on the page that names the terminal's
// request, and signs in at the development provider. Either way the token must verify the way the
// registry verifies it. The device login's output is kept in .tap/device-login-output.txt
// (beside the screenshots) for the record.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { deviceClientName } from '../../src/cli/device-login.js'
import { chromiumMissing, launchChromium, screenshot, watchedPage } from '../helpers/chromium.js'
import { startDevStack } from '../helpers/dev-stack.js'
import { registryPublicKey } from '../helpers/registry-key.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { testSigningSeedHex } from '../helpers/service.js'

const TRANSCRIPT = fileURLToPath(new URL('../../.tap/device-login-output.txt', import.meta.url))

await whenToolPresent(t, chromiumMissing(), run)

async function run(): Promise<void> {
  const { service } = await startDevStack(t)
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const home = await mkdtemp(join(tmpdir(), 'mcp-oidc-home-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))

  t.test('login --no-browser, a browser follows the URL, the token file is written', async (t) => {
    const cli = spawn(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(new URL('../../src/cli.ts', import.meta.url)),
        'login',
        '--url',
        service.baseUrl,
        '--no-browser',
        '--no-device',
        '--timeout',
        '60',
      ],
      { env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const exited = once(cli, 'exit')
    let stdout = ''
    let stderr = ''
    cli.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    const startUrl = await new Promise<string>((resolve, reject) => {
      cli.stderr.on('data', (chunk) => {
        stderr += chunk
        const url = /http:\/\/\S+\/v0\/auth\/oidc\/start\?\S+/.exec(stderr)?.[0]
        if (url !== undefined) resolve(url)
      })
      cli.once('exit', () => reject(new Error(`the CLI exited early:\n${stderr}`)))
    })
    const redirectUri = new URL(startUrl).searchParams.get('redirect_uri') ?? ''
    t.match(redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/, 'a loopback listener waits')

    const { page, problems } = await watchedPage(browser)
    await page.goto(startUrl)
    await page.fill('#username', 'publisher-bot')
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(redirectUri)),
      page.click('button.primary'),
    ])
    t.equal(await page.textContent('h1'), 'Signed in', 'the loopback page says so')
    t.same(await problems(), [], 'the loopback page: no console errors, no CSP violations')
    await screenshot(page, 'cli-login-done')
    await page.close()

    const [code] = await exited
    t.equal(code, 0, 'the CLI exits 0')
    const tokenPath = join(home, '.mcp_publisher_token')
    t.match(stdout, `saved to ${tokenPath}`, 'the CLI says where the token went')
    t.match(
      stdout,
      /expires at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 5 minutes\)/,
      'and when it expires',
    )
    t.equal((await stat(tokenPath)).mode & 0o777, 0o600, 'readable by its owner only')
    const login = JSON.parse(await readFile(tokenPath, 'utf8')) as Record<string, string>
    t.same(Object.keys(login), ['token', 'method', 'registry'])
    t.equal(login.method, 'oidc')
    t.equal(login.registry, service.baseUrl)
    t.equal(
      await readFile(join(home, '.config/mcp-publisher/token.json'), 'utf8'),
      await readFile(tokenPath, 'utf8'),
      'newer mcp-publisher releases read the same login from ~/.config',
    )
    const claims = await verifyRegistryToken(
      login.token as string,
      registryPublicKey(testSigningSeedHex),
    )
    t.equal(claims.auth_method_sub, 'publisher-bot', 'the registry would accept it')
  })

  t.test('login --device: the code entered in Chromium, the token file written', async (t) => {
    const argv = ['login', '--url', service.baseUrl, '--device']
    const cli = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(new URL('../../src/cli.ts', import.meta.url)), ...argv],
      { env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const exited = once(cli, 'exit')
    // Both streams as a terminal shows them, in the order they came.
    let terminal = ''
    let stdout = ''
    cli.stdout.on('data', (chunk) => {
      stdout += chunk
      terminal += chunk
    })
    const printed = await new Promise<RegExpExecArray>((resolve, reject) => {
      cli.stderr.on('data', (chunk) => {
        terminal += chunk
        const match =
          /^ {2}(http:\S+\/v0\/auth\/oidc\/device)\n\nand enter the code {2}([A-Z]{4}-[A-Z]{4})\n/m.exec(
            terminal,
          )
        if (match !== null) resolve(match)
      })
      cli.once('exit', () => reject(new Error(`the CLI exited early:\n${terminal}`)))
    })
    const [, page, userCode] = printed as unknown as [string, string, string]
    t.equal(page, `${service.baseUrl}/v0/auth/oidc/device`, 'the service’s code-entry page')
    t.match(terminal, `${page}?user_code=${userCode}`, 'and the link that fills the code in')
    const clientName = deviceClientName(hostname())
    t.match(terminal, `The page names this request "${clientName}"`)

    const { page: tab, problems } = await watchedPage(browser)
    await tab.goto(page)
    await tab.fill('#user-code', userCode.toLowerCase().replace('-', ''))
    await screenshot(tab, 'cli-device-login-entry')
    await Promise.all([tab.waitForNavigation(), tab.click('button.primary')])
    t.match(await tab.textContent('main'), clientName, 'the confirmation names the terminal')
    await screenshot(tab, 'cli-device-login-confirm')
    // Confirming starts the ordinary browser login: on to the provider's sign-in form.
    await tab.click('button.primary')
    await tab.fill('#username', 'device-publisher')
    await Promise.all([
      tab.waitForURL((url) => url.href.startsWith(service.baseUrl)),
      tab.click('button.primary'),
    ])
    await tab.waitForSelector('h1')
    t.match(await tab.textContent('h1'), 'Signed in', 'the page says so')
    t.match(await tab.textContent('main'), 'go back to your terminal')
    t.same(await problems(), [], 'no console errors, no CSP violations')
    await screenshot(tab, 'cli-device-login-done')

    const [code] = await exited
    t.equal(code, 0, 'the CLI exits 0')
    await mkdir(dirname(TRANSCRIPT), { recursive: true })
    await writeFile(
      TRANSCRIPT,
      `$ mcp-registry-oidc ${argv.join(' ')}\n${terminal.replaceAll(home, '~')}`,
    )

    const tokenPath = join(home, '.mcp_publisher_token')
    t.match(stdout, `saved to ${tokenPath}`, 'the CLI says where the token went')
    t.equal((await stat(tokenPath)).mode & 0o777, 0o600, 'readable by its owner only')
    const login = JSON.parse(await readFile(tokenPath, 'utf8')) as Record<string, string>
    t.same(Object.keys(login), ['token', 'method', 'registry'])
    t.equal(login.registry, service.baseUrl)
    t.notMatch(await tab.content(), login.token as string, 'the browser never saw the token')
    t.notMatch(terminal, login.token as string, 'nor did the terminal')
    const claims = await verifyRegistryToken(
      login.token as string,
      registryPublicKey(testSigningSeedHex),
    )
    t.equal(claims.auth_method_sub, 'device-publisher', 'the registry would accept it')
    await tab.close()
  })
}
