// The CLI's login against the real service and provider, with a scripted browser: what it writes,
// what it refuses, how it ends; the same for the device login (--device), whose polls take real
// time, since the service answers slow_down to a poll sooner than its interval.
// (test/browser/cli-login.test.ts and cli-device-login.test.ts do the same in Chromium.)

import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { runCli } from '../../src/cli/run.js'
import { TestBrowser } from '../helpers/browser.js'
import { cliRun, printedStartUrl, printedUserCode } from '../helpers/cli.js'
import { approveInBrowser, openConfirmation, submitDecision } from '../helpers/device.js'
import { registryPublicKey } from '../helpers/registry-key.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { callbackUrlFor, startService, testSigningSeedHex } from '../helpers/service.js'
import { freePort, startTestProvider } from '../helpers/test-provider.js'

const port = await freePort()
const provider = await startTestProvider({ redirectUris: [callbackUrlFor(port)] })
t.teardown(() => provider.close())
const service = await startService(provider, port)
t.teardown(() => service.close())
const base = service.baseUrl

/** Logs in through the service and the provider; returns the loopback URL the service sent back. */
async function loginUntilLoopback(startUrl: URL): Promise<URL> {
  const loopback = new URL(startUrl.searchParams.get('redirect_uri') as string)
  const { url } = await new TestBrowser().followUntil(
    startUrl,
    (next) => next.origin === loopback.origin,
  )
  return url
}

t.test('login saves the token where mcp-publisher reads it', async (t) => {
  const run = await cliRun(t)
  // an older file with a loose mode is replaced, not reused
  await writeFile(join(run.home, '.mcp_publisher_token'), 'old', { mode: 0o644 })
  const exit = runCli(
    ['login', '--url', `${base}/`, '--registry', 'https://registry.example.com/'],
    run.io,
  )
  const startUrl = await printedStartUrl(run)
  t.equal(run.opened[0], startUrl.href, 'the browser is opened at the printed URL')
  t.equal(`${startUrl.origin}${startUrl.pathname}`, `${base}/v0/auth/oidc/start`)
  const state = startUrl.searchParams.get('state') as string
  t.match(state, /^[\w-]{43}$/, '32 random bytes of state')

  const loopback = new URL(startUrl.searchParams.get('redirect_uri') as string)
  const favicon = await fetch(new URL('/favicon.ico', loopback))
  t.equal(favicon.status, 404, 'other paths do not count as the callback')

  const callback = await loginUntilLoopback(startUrl)
  t.equal(callback.searchParams.get('state'), state)
  const page = await fetch(callback)
  t.equal(page.status, 200)
  t.equal(page.headers.get('cache-control'), 'no-store')
  t.match(page.headers.get('content-security-policy'), "default-src 'none'")
  t.match(await page.text(), 'You can close this tab')
  t.equal(await exit, 0)

  const legacy = join(run.home, '.mcp_publisher_token')
  const config = join(run.home, '.config', 'mcp-publisher', 'token.json')
  t.equal((await stat(legacy)).mode & 0o777, 0o600)
  t.equal((await stat(config)).mode & 0o777, 0o600)
  t.equal((await stat(join(run.home, '.config', 'mcp-publisher'))).mode & 0o777, 0o700)
  const login = JSON.parse(await readFile(legacy, 'utf8')) as Record<string, string>
  t.same(Object.keys(login), ['token', 'method', 'registry'])
  t.equal(login.method, 'oidc')
  t.equal(login.registry, 'https://registry.example.com', 'the --registry value, without the slash')
  t.equal(await readFile(config, 'utf8'), await readFile(legacy, 'utf8'))
  const claims = await verifyRegistryToken(
    login.token as string,
    registryPublicKey(testSigningSeedHex),
  )
  t.equal(claims.auth_method_sub, 'alice')
  t.match(
    run.out.stdout,
    `Signed in as alice. Permissions: publish com.example/*, edit com.example/*.`,
  )
  t.match(run.out.stdout, `saved to ${legacy}`)
  t.notMatch(run.out.stdout + run.out.stderr, login.token as string, 'the token is never printed')
  await t.rejects(fetch(callback), 'the listener took its one request and closed')
})

t.test('--print writes the token to stdout and no file', async (t) => {
  const run = await cliRun(t)
  const exit = runCli(['login', '--url', base, '--no-browser', '--print'], run.io)
  const startUrl = await printedStartUrl(run)
  t.same(run.opened, [], '--no-browser opens nothing')
  t.match(run.out.stderr, 'Open this URL in a browser to sign in')
  await fetch(await loginUntilLoopback(startUrl))
  t.equal(await exit, 0)
  const token = run.out.stdout.trim()
  t.equal(
    (await verifyRegistryToken(token, registryPublicKey(testSigningSeedHex))).iss,
    'mcp-registry',
  )
  t.same(await readdir(run.home), [], 'nothing written')
  t.match(run.out.stderr, /The token expires at .* UTC/)
})

t.test('a callback with the wrong state fails the login and is not saved', async (t) => {
  const run = await cliRun(t)
  const exit = runCli(['login', '--url', base, '--no-browser'], run.io)
  const startUrl = await printedStartUrl(run)
  const callback = await loginUntilLoopback(startUrl)
  callback.searchParams.set('state', 'someone-elses-login')
  const page = await fetch(callback)
  t.equal(page.status, 400)
  t.match(await page.text(), 'Sign-in not completed')
  t.equal(await exit, 1)
  t.match(run.out.stderr, 'The sign-in failed: the callback carried the wrong state')
  t.same(await readdir(run.home), [])
})

t.test('a callback under another Host name fails the login', async (t) => {
  const run = await cliRun(t)
  const exit = runCli(['login', '--url', base, '--no-browser'], run.io)
  const callback = await loginUntilLoopback(await printedStartUrl(run))
  const status = await new Promise<number | undefined>((resolve, reject) => {
    request(callback, { headers: { host: `rebound.example:${callback.port}` } }, (response) => {
      response.resume()
      resolve(response.statusCode)
    })
      .on('error', reject)
      .end()
  })
  t.equal(status, 400)
  t.equal(await exit, 1)
  t.match(run.out.stderr, 'unexpected Host header')
})

t.test('no sign-in within the timeout ends with a clear message', async (t) => {
  const run = await cliRun(t, async () => {
    throw new Error('no display')
  })
  t.equal(await runCli(['login', '--url', base, '--timeout', '1'], run.io), 1)
  t.match(run.out.stderr, 'No browser could be started: open the URL above yourself.')
  t.match(
    run.out.stderr,
    'No sign-in came back within 1 second: the browser was closed or the sign-in was not finished.',
  )
})

t.test('usage errors exit 2, help exits 0', async (t) => {
  const cases: Array<[string[], number, string]> = [
    [[], 2, 'No command given.'],
    [['publish'], 2, 'Unknown command: publish'],
    [['help', 'publish'], 2, 'Unknown command: publish'],
    [['login'], 2, '--url is required'],
    [['login', '--url', 'http://registry.example.com'], 2, 'must be an https URL'],
    [['login', '--url', 'https://user:pw@registry.example.com'], 2, 'without credentials'],
    [['login', '--url', 'https://registry.example.com?x=1'], 2, 'without credentials, query'],
    [['login', '--url', 'not a url'], 2, 'is not a URL'],
    [
      ['login', '--url', 'https://r.example', '--registry', 'ftp://r.example'],
      2,
      '--registry must',
    ],
    [['login', '--url', 'https://r.example', '--timeout', '0'], 2, '--timeout must'],
    [['login', '--url', 'https://r.example', '--timeout', '1.5'], 2, '--timeout must'],
    [['login', '--url', 'https://r.example', 'extra'], 2, 'Unexpected argument'],
    [['login', '--url'], 2, "Option '--url <value>' argument missing"],
    [['login', '--browser'], 2, "Unknown option '--browser'"],
    [['keygen', '--json'], 2, "Unknown option '--json'"],
    [['--help'], 0, 'Usage: mcp-registry-oidc <command>'],
    [['-h'], 0, 'Usage: mcp-registry-oidc <command>'],
    [['help'], 0, 'Usage: mcp-registry-oidc <command>'],
    [['help', 'login'], 0, 'Usage: mcp-registry-oidc login'],
    [['login', '--help'], 0, 'Usage: mcp-registry-oidc login'],
    [['login', '-h', '--url', 'http://anything'], 0, 'Usage: mcp-registry-oidc login'],
    [['keygen', '--help'], 0, 'Usage: mcp-registry-oidc keygen'],
  ]
  for (const [argv, code, text] of cases) {
    const run = await cliRun(t)
    t.equal(await runCli(argv, run.io), code, `${argv.join(' ') || '(nothing)'} exits ${code}`)
    t.match(code === 0 ? run.out.stdout : run.out.stderr, text)
    if (code === 2 && argv[0] === 'login' && !text.startsWith('Usage')) {
      t.match(run.out.stderr, 'Run "mcp-registry-oidc login --help" for its options.')
    }
  }
})

t.test('--device, approved in the browser: the token files are written', async (t) => {
  const run = await cliRun(t, undefined, { hostname: 'devbox' })
  const exit = runCli(['login', '--url', base, '--device'], run.io)
  const callback = await approveInBrowser(base, await printedUserCode(run))
  t.equal(callback.status, 200)
  t.match(await callback.text(), 'go back to your terminal')
  t.equal(await exit, 0)
  const login = JSON.parse(await readFile(`${run.home}/.mcp_publisher_token`, 'utf8'))
  const claims = await verifyRegistryToken(login.token, registryPublicKey(testSigningSeedHex))
  t.equal(claims.auth_method_sub, 'alice')
  t.match(run.out.stdout, 'Signed in as alice.')
})

t.test(
  '--device, cancelled on the confirmation page: access_denied, nothing written',
  async (t) => {
    const run = await cliRun(t, undefined, { hostname: 'devbox' })
    const exit = runCli(['login', '--url', base, '--device'], run.io)
    const confirmation = await openConfirmation(base, await printedUserCode(run))
    t.match(confirmation.page, 'mcp-registry-oidc on devbox', 'the page names the terminal')
    t.equal((await submitDecision(base, confirmation, 'cancel')).status, 200)
    t.equal(await exit, 1)
    t.match(run.out.stderr, 'The sign-in failed: the sign-in was refused')
    t.same(await readdir(run.home), [])
  },
)
