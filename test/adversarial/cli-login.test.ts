// Attacks on `mcp-registry-oidc login`: callbacks forged to its loopback listener, a service (or
// whatever answers at --url) handing out a token that does not verify, terminal escape sequences
// in what it prints, and directories planted where it writes the token. Each ends with exit 1
// and nothing written, or with nothing but printable text on the terminal.

import { createHash, randomBytes } from 'node:crypto'
import { chmod, chown, lchown, mkdir, readdir, symlink } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import t, { type Test } from 'tap'
import { runCli } from '../../src/cli/run.js'
import { checkLogsLast, type RealStage, startRealStage } from '../helpers/adversarial.js'
import { cliRun, printedStartUrl, type Run } from '../helpers/cli.js'

const stage: RealStage = await startRealStage()

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

/** Starts `login` against `url`; returns the run, its exit and the loopback callback URL. */
async function startLogin(t: Test, url: string) {
  const run = await cliRun(t)
  const exit = runCli(['login', '--url', url, '--no-browser', '--timeout', '60'], run.io)
  const startUrl = await printedStartUrl(run)
  const callback = new URL(startUrl.searchParams.get('redirect_uri') ?? '')
  const state = startUrl.searchParams.get('state') ?? ''
  return { run, exit, startUrl, callback, state }
}

async function nothingWritten(t: Test, run: Run) {
  t.same(await readdir(run.home), [], 'nothing written')
}

function forged(callback: URL, parameters: Record<string, string>): URL {
  const url = new URL(callback)
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value)
  return url
}

const attackerKeys = await generateKeyPair('EdDSA')

async function attackerToken(claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    iss: 'mcp-registry',
    auth_method: 'oidc',
    auth_method_sub: 'attacker',
    permissions: [{ action: 'publish', resource: '*' }],
    iat: now,
    nbf: now - 5,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .sign(attackerKeys.privateKey)
}

t.test('a forged callback to the listener ends the login: exit 1, nothing written', async (t) => {
  t.test('the token itself in the query, as the service once sent it', async (t) => {
    const { run, exit, callback, state } = await startLogin(t, stage.base)
    const token = await attackerToken()
    const page = await fetch(forged(callback, { state, registry_token: token, expires_at: '1' }))
    t.equal(page.status, 400)
    t.equal(await exit, 1)
    t.match(run.out.stderr, 'The sign-in failed: the callback carried no code')
    await nothingWritten(t, run)
  })

  t.test('a made-up code', async (t) => {
    const { run, exit, callback, state } = await startLogin(t, stage.base)
    const code = ['eyJhbGciOiJkaXIifQ', '', 'aXY', 'Y2lwaGVy', 'dGFn'].join('.')
    t.equal((await fetch(forged(callback, { state, code }))).status, 400)
    t.equal(await exit, 1)
    t.match(run.out.stderr, 'the service refused the code (400: invalid_grant)')
    await nothingWritten(t, run)
  })

  t.test("the attacker's own code, from a login it started with its own challenge", async (t) => {
    const verifier = randomBytes(32).toString('base64url')
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    const { run, exit, callback, state } = await startLogin(t, stage.base)
    // The attacker's login comes back to the victim's listener (login CSRF).
    const login = await stage.login(
      undefined,
      `${stage.base}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(callback.href)}&code_challenge=${challenge}&code_challenge_method=S256`,
    )
    const answer = await login.browser.request(login.callbackUrl)
    const code = new URL(answer.headers.get('location') ?? 'x:').searchParams.get('code') ?? ''
    stage.secrets.add(code)
    t.equal((await fetch(forged(callback, { state, code }))).status, 400)
    t.equal(await exit, 1)
    t.match(run.out.stderr, 'the service refused the code (400: invalid_grant)')
    await nothingWritten(t, run)
  })
})

interface FakeService {
  readonly url: string
  /** What POST /v0/auth/oidc/token answers. */
  answer: { status: number; body: unknown }
  /** What /.well-known/jwks.json serves. */
  keys: JWK[]
}

/** Something at --url that speaks the service's protocol and hands out what the test says. */
async function startFakeService(t: Test): Promise<FakeService> {
  const fake = {
    url: '',
    answer: { status: 200, body: {} as unknown },
    keys: [{ ...(await exportJWK(attackerKeys.publicKey)), kid: 'k', alg: 'EdDSA', use: 'sig' }],
  }
  const server: Server = createServer((request, response) => {
    request.resume()
    const [status, body] =
      request.url === '/.well-known/jwks.json'
        ? [200, { keys: fake.keys }]
        : [fake.answer.status, fake.answer.body]
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}

const someCode = ['eyJhbGciOiJkaXIifQ', '', 'aXY', 'Y2lwaGVy', 'dGFn'].join('.')

t.test('a token that does not verify against the JWKS is not written', async (t) => {
  const otherKey = await generateKeyPair('EdDSA')
  const cases: Array<[string, () => Promise<string>, (fake: FakeService) => Promise<void>]> = [
    [
      'signed by a key the JWKS does not hold',
      () => attackerToken(),
      async (fake) => {
        fake.keys = [{ ...(await exportJWK(otherKey.publicKey)), kid: 'k', alg: 'EdDSA' }]
      },
    ],
    ['issued by someone else', () => attackerToken({ iss: 'someone-else' }), async () => {}],
    [
      'expired an hour ago',
      () => attackerToken({ exp: Math.floor(Date.now() / 1000) - 3600 }),
      async () => {},
    ],
    ['not a JWT', async () => 'not-a-token', async () => {}],
  ]
  for (const [name, token, prepare] of cases) {
    t.test(name, async (t) => {
      const fake = await startFakeService(t)
      await prepare(fake)
      fake.answer = { status: 200, body: { registry_token: await token(), expires_at: 1 } }
      const { run, exit, callback, state } = await startLogin(t, fake.url)
      t.equal((await fetch(forged(callback, { state, code: someCode }))).status, 400)
      t.equal(await exit, 1)
      t.match(run.out.stderr, 'the token does not verify against')
      await nothingWritten(t, run)
    })
  }
})

t.test('what the CLI prints from outside carries no control characters', async (t) => {
  const hostile = '\x1b]0;pwned\x07\x1b[2K\x1b[1Aalice\x1b[31m\x9b2J\u202eevil\r\nSigned in as root'
  t.test('a sub with escape sequences', async (t) => {
    const fake = await startFakeService(t)
    const token = await attackerToken({
      auth_method_sub: hostile,
      permissions: [{ action: `publish${hostile}`, resource: '*' }],
    })
    fake.answer = { status: 200, body: { registry_token: token, expires_at: 1 } }
    const { run, exit, callback, state } = await startLogin(t, fake.url)
    await fetch(forged(callback, { state, code: someCode }))
    t.equal(await exit, 0, 'the token verifies against what this --url serves')
    t.notMatch(run.out.stdout.replaceAll('\n', ''), CONTROL, 'no control character printed')
    t.match(run.out.stdout, 'Signed in as aliceevilSigned in as root.')
  })
  t.test('an error code with escape sequences', async (t) => {
    const fake = await startFakeService(t)
    fake.answer = { status: 400, body: { error: `invalid_grant${hostile}` } }
    const { run, exit, callback, state } = await startLogin(t, fake.url)
    await fetch(forged(callback, { state, code: someCode }))
    t.equal(await exit, 1)
    t.notMatch(run.out.stderr.replaceAll('\n', ''), CONTROL, 'no control character printed')
    t.match(run.out.stderr, '(400: invalid_grantaliceevilSigned in as root)')
  })
})

t.test('the token directory is not followed where someone else points it', async (t) => {
  const cases: Array<[string, (home: string, elsewhere: string) => Promise<void>, RegExp]> = [
    [
      '~/.config/mcp-publisher is a symbolic link',
      async (home, elsewhere) => {
        await mkdir(join(home, '.config'), { mode: 0o755 })
        await symlink(elsewhere, join(home, '.config', 'mcp-publisher'))
      },
      /mcp-publisher is a symbolic link/,
    ],
    [
      '~/.config is writable by everyone',
      async (home) => {
        await mkdir(join(home, '.config'), { mode: 0o777 })
        await chmod(join(home, '.config'), 0o777)
      },
      /\.config is writable by other users/,
    ],
  ]
  if (process.getuid?.() === 0) {
    cases.push(
      [
        '~/.config/mcp-publisher belongs to another user',
        async (home) => {
          await mkdir(join(home, '.config', 'mcp-publisher'), { recursive: true, mode: 0o700 })
          await chown(join(home, '.config', 'mcp-publisher'), 65534, 65534)
        },
        /mcp-publisher belongs to another user/,
      ],
      [
        "~/.config is another user's symbolic link",
        async (home, elsewhere) => {
          await symlink(elsewhere, join(home, '.config'))
          await lchown(join(home, '.config'), 65534, 65534)
        },
        /\.config is a symbolic link this user did not make/,
      ],
    )
  }
  for (const [name, plant, reason] of cases) {
    t.test(name, async (t) => {
      const elsewhere = await cliRun(t)
      const { run, exit, startUrl } = await startLogin(t, stage.base)
      await plant(run.home, elsewhere.home)
      const login = await stage.login(undefined, startUrl.href)
      const answer = await login.browser.request(login.callbackUrl)
      await fetch(answer.headers.get('location') ?? '')
      t.equal(await exit, 1)
      t.match(run.out.stderr, reason)
      t.match(run.out.stderr, 'Use --print to get it on stdout')
      t.same(await readdir(elsewhere.home), [], 'nothing written where the link points')
      t.notOk(
        (await readdir(run.home)).includes('.mcp_publisher_token'),
        'not even the legacy token file',
      )
    })
  }
})

checkLogsLast([stage])
