// The CLI's `login --no-browser` with Chromium following the URL it prints: through the
// development provider's form, back to the CLI's loopback listener, and into the token file that
// mcp-publisher reads. The token must verify the way the registry verifies it.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { chromiumMissing, launchChromium, screenshot, watchedPage } from '../helpers/chromium.js'
import { startDevStack } from '../helpers/dev-stack.js'
import { registryPublicKey } from '../helpers/registry-key.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { testSigningSeedHex } from '../helpers/service.js'

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
}
