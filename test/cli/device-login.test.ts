// `login --device` against a stand-in service that speaks the device login's HTTP contract and
// answers whatever each test scripts: the polling schedule (interval, slow_down), outages and
// refusals, and hostile answers (escape sequences, foreign links, absurd intervals). The clock is
// the test's: waits are recorded, not slept. (test/browser/cli-device-login.test.ts runs the real
// service, provider and Chromium.)

import { readdir, readFile } from 'node:fs/promises'
import fc from 'fast-check'
import Fastify from 'fastify'
import jsqr from 'jsqr'
import t, { type Test } from 'tap'
import {
  DeviceAnswerError,
  EXPIRES_IN_BOUNDS,
  INTERVAL_BOUNDS,
  readDeviceAuthorization,
} from '../../src/cli/device-authorization.js'
import { deviceClientName } from '../../src/cli/device-login.js'
import { chooseLoginFlow } from '../../src/cli/flow-choice.js'
import type { CliIo, Clock } from '../../src/cli/io.js'
import { runCli } from '../../src/cli/run.js'
import { createRegistryTokenSigner } from '../../src/registry/token.js'
import { cliRun, type Run } from '../helpers/cli.js'
import { registryPublicKey } from '../helpers/registry-key.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { testSigningSeedHex } from '../helpers/service.js'

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

const signer = await createRegistryTokenSigner(testSigningSeedHex, 300)
const otherSigner = await createRegistryTokenSigner('11'.repeat(32), 300)

interface Answer {
  readonly status: number
  readonly body: unknown
}
/** `drop`: the connection is closed without an answer; `token`: a fresh token of the service's. */
type PollScript = Answer | 'drop' | 'token'

interface StandIn {
  readonly url: string
  device: Answer | 'huge'
  /** What the polls get, one after another; the last one repeats. */
  polls: PollScript[]
  readonly received: { device: unknown[]; polls: unknown[] }
}

const pending: Answer = { status: 400, body: { error: 'authorization_pending' } }
const slowDown: Answer = { status: 400, body: { error: 'slow_down' } }
const storeDown: Answer = {
  status: 503,
  body: { error: 'store_unavailable', error_description: 'The store is unreachable.' },
}

function deviceAnswer(url: string, changes: Record<string, unknown> = {}): Answer {
  return {
    status: 200,
    body: {
      device_code: `dc-${'a'.repeat(43)}`,
      user_code: 'BCDF-GHJK',
      verification_uri: `${url}/v0/auth/oidc/device`,
      verification_uri_complete: `${url}/v0/auth/oidc/device?user_code=BCDF-GHJK`,
      expires_in: 600,
      interval: 5,
      ...changes,
    },
  }
}

async function startStandIn(t: Test): Promise<StandIn> {
  const app = Fastify()
  const standIn: StandIn = {
    url: '',
    device: { status: 500, body: {} },
    polls: [pending],
    received: { device: [], polls: [] },
  }
  app.post('/v0/auth/oidc/device', async (request, reply) => {
    standIn.received.device.push(request.body)
    if (standIn.device === 'huge') {
      return reply.type('application/json').send(`{"padding":"${'x'.repeat(200_000)}"}`)
    }
    return reply.code(standIn.device.status).send(standIn.device.body)
  })
  app.post('/v0/auth/oidc/device/token', async (request, reply) => {
    standIn.received.polls.push(request.body)
    const next = (standIn.polls.length > 1 ? standIn.polls.shift() : standIn.polls[0]) as PollScript
    if (next === 'drop') {
      reply.hijack()
      reply.raw.socket?.destroy()
      return
    }
    if (next === 'token')
      return signer.mint('alice', [{ action: 'publish', resource: 'com.example/*' }])
    return reply.code(next.status).send(next.body)
  })
  app.get('/.well-known/jwks.json', async () => ({ keys: [signer.publicJwk] }))
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  Object.assign(standIn, { url: address, device: deviceAnswer(address) })
  return standIn
}

/** A clock that moves on by each wait at once, and remembers the waits. */
function testClock(): { clock: Clock; waits: number[] } {
  let now = Date.now()
  const waits: number[] = []
  return {
    waits,
    clock: {
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms / 1000)
        now += ms
      },
    },
  }
}

async function deviceLogin(
  t: Test,
  standIn: StandIn,
  argv: string[] = [],
  overrides: Partial<CliIo> = {},
): Promise<{ code: number; run: Run; waits: number[] }> {
  const { clock, waits } = testClock()
  const run = await cliRun(t, undefined, { hostname: 'devbox', clock, ...overrides })
  const code = await runCli(['login', '--url', standIn.url, '--device', ...argv], run.io)
  return { code, run, waits }
}

async function savedToken(run: Run): Promise<Record<string, string>> {
  return JSON.parse(await readFile(`${run.home}/.mcp_publisher_token`, 'utf8'))
}

t.test(
  'prints the page and the code, polls at the interval, slows down, saves the token',
  async (t) => {
    const standIn = await startStandIn(t)
    standIn.polls = [pending, pending, slowDown, slowDown, pending, 'token']
    const { code, run, waits } = await deviceLogin(t, standIn, [
      '--registry',
      'https://registry.example.com',
    ])
    t.equal(code, 0)
    t.same(standIn.received.device, [{ client_name: 'mcp-registry-oidc on devbox' }])
    t.same(waits, [5, 5, 5, 10, 15, 15], 'every slow_down adds 5 seconds for the rest of the login')
    t.same(
      standIn.received.polls,
      Array(6).fill({ device_code: `dc-${'a'.repeat(43)}` }),
      'each poll sends the device code',
    )
    const err = run.out.stderr
    t.match(
      err,
      `Open this page in a browser, on this or any other device:\n\n  ${standIn.url}/v0/auth/oidc/device\n`,
    )
    t.match(err, 'and enter the code  BCDF-GHJK')
    t.match(err, `${standIn.url}/v0/auth/oidc/device?user_code=BCDF-GHJK`)
    t.match(err, 'The page names this request "mcp-registry-oidc on devbox"')
    t.match(err, 'the code expires in 10 minutes')
    t.notMatch(err, '▄', 'no QR code when the messages do not go to a terminal')
    t.notMatch(err, 'because', 'asked for: no reason given')

    const login = await savedToken(run)
    t.equal(login.registry, 'https://registry.example.com')
    const claims = await verifyRegistryToken(
      login.token as string,
      registryPublicKey(testSigningSeedHex),
    )
    t.equal(claims.auth_method_sub, 'alice')
    t.match(run.out.stdout, 'Signed in as alice. Permissions: publish com.example/*.')
    t.match(run.out.stdout, 'saved to')
    t.notMatch(run.out.stdout + err, login.token as string, 'the token is never printed')
  },
)

t.test('on a terminal, a QR code of the link that a phone reads back', async (t) => {
  const standIn = await startStandIn(t)
  standIn.polls = ['token']
  const stderr = { isTTY: true, text: '', write: (text: string) => (stderr.text += text) }
  const { code } = await deviceLogin(t, standIn, [], { stderr })
  t.equal(code, 0)
  const qr = stderr.text.split('\n').filter((line) => /^[█▀▄ ]+$/.test(line) && line.length > 20)
  t.ok(qr.length > 10, 'printed as half blocks')
  t.equal(decodeHalfBlocks(qr), `${standIn.url}/v0/auth/oidc/device?user_code=BCDF-GHJK`)

  const quiet = { isTTY: true, text: '', write: (text: string) => (quiet.text += text) }
  standIn.polls = ['token']
  t.equal((await deviceLogin(t, standIn, ['--no-qr'], { stderr: quiet })).code, 0)
  t.notMatch(quiet.text, '▄', '--no-qr')
})

/**
 * The picture a terminal shows (light blocks on a dark background: █ both halves light, ▀ the upper,
 * ▄ the lower), scaled up and read with jsQR, as a phone's camera would.
 */
function decodeHalfBlocks(lines: string[]): string | undefined {
  const light = lines.flatMap((line) => {
    const chars = [...line]
    return [chars.map((c) => c === '█' || c === '▀'), chars.map((c) => c === '█' || c === '▄')]
  })
  const scale = 4
  const margin = 4
  const width = ((light[0]?.length ?? 0) + 2 * margin) * scale
  const height = (light.length + 2 * margin) * scale
  const pixels = new Uint8ClampedArray(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const row = light[Math.floor(y / scale) - margin]
      const dark = row?.[Math.floor(x / scale) - margin] === false
      pixels.fill(dark ? 0 : 255, (y * width + x) * 4, (y * width + x) * 4 + 3)
      pixels[(y * width + x) * 4 + 3] = 255
    }
  }
  // jsqr is CommonJS: its function is the module's `default`.
  return jsqr.default(pixels, width, height)?.data
}

t.test('outages while polling: retried at the interval, said once each', async (t) => {
  const standIn = await startStandIn(t)
  const badGateway: Answer = { status: 502, body: { error: 'bad_gateway' } }
  standIn.polls = [pending, storeDown, storeDown, 'drop', 'drop', badGateway, pending, 'token']
  const { code, run, waits } = await deviceLogin(t, standIn)
  t.equal(code, 0)
  t.same(waits, Array(8).fill(5))
  const err = run.out.stderr
  t.equal(err.split('cannot reach its store').length - 1, 1, 'the store outage is said once')
  t.match(
    err,
    'The service cannot reach its store of device logins; trying again every 5 seconds until the code expires.',
  )
  t.match(err, 'The service could not be reached; trying again')
  t.match(err, 'The service answered 502: bad_gateway; trying again')
  t.match(err, 'The service answers again; still waiting for the sign-in.')
  t.ok((await savedToken(run)).token)
})

t.test('the login ends with a clear message, exit 1 and nothing written', async (t) => {
  const cases: Array<[string, PollScript[], string]> = [
    [
      'access_denied',
      [pending, { status: 400, body: { error: 'access_denied' } }],
      'the sign-in was refused: the account has no permission on this registry, or the request was cancelled',
    ],
    [
      'expired_token',
      [{ status: 400, body: { error: 'expired_token' } }],
      'the code expired before the sign-in was finished',
    ],
    [
      'invalid_grant',
      [{ status: 400, body: { error: 'invalid_grant' } }],
      'the service no longer accepts this login (invalid_grant)',
    ],
    [
      'an unknown error, with escape sequences',
      [
        {
          status: 400,
          body: { error: '\x1b[2Jodd', error_description: '\x1b]0;owned\x07Go to \u202eevil' },
        },
      ],
      'the service refused the poll (400: odd, Go to evil)',
    ],
    ['a 404', [{ status: 404, body: 'nothing here' }], 'the service refused the poll (404)'],
    [
      '200 without a token',
      [{ status: 200, body: { token: 'x' } }],
      'the service answered without a registry token',
    ],
  ]
  for (const [name, polls, message] of cases) {
    const standIn = await startStandIn(t)
    standIn.polls = polls
    const { code, run } = await deviceLogin(t, standIn)
    t.equal(code, 1, name)
    t.match(run.out.stderr, `The sign-in failed: ${message}`, name)
    t.notMatch(run.out.stderr, CONTROL, `${name}: nothing but printable text`)
    t.same(await readdir(run.home), [], `${name}: nothing written`)
  }
})

t.test("a token signed by another key than the service's is not saved", async (t) => {
  const standIn = await startStandIn(t)
  const forged = await otherSigner.mint('attacker', [{ action: 'publish', resource: '*' }])
  standIn.polls = [{ status: 200, body: forged }]
  const { code, run } = await deviceLogin(t, standIn)
  t.equal(code, 1)
  t.match(run.out.stderr, 'the token does not verify against')
  t.same(await readdir(run.home), [])
})

t.test('no sign-in before the code expires, or within --timeout', async (t) => {
  const standIn = await startStandIn(t)
  standIn.device = deviceAnswer(standIn.url, { expires_in: 60 })
  const expired = await deviceLogin(t, standIn)
  t.equal(expired.code, 1)
  t.same(expired.waits, Array(12).fill(5), 'polled until the code expired, then stopped')
  t.equal(standIn.received.polls.length, 11)
  t.match(expired.run.out.stderr, 'no sign-in was finished before the code expired')

  const timedOut = await deviceLogin(t, standIn, ['--timeout', '12'])
  t.equal(timedOut.code, 1)
  t.same(timedOut.waits, [5, 5, 5])
  t.match(timedOut.run.out.stderr, 'no sign-in was finished within 12 seconds')
})

t.test('the device request refused or unanswered: exit 1, no polling', async (t) => {
  const standIn = await startStandIn(t)
  const cases: Array<[StandIn['device'], string]> = [
    [storeDown, 'the service cannot take device logins right now (store_unavailable)'],
    [
      { status: 429, body: { error: 'too_many_requests' } },
      'the service refused the device login (429: too_many_requests)',
    ],
    [{ status: 404, body: {} }, 'the service refused the device login (404)'],
    ['huge', "the service's answer is not a device login: the answer is not a JSON object"],
  ]
  for (const [device, message] of cases) {
    standIn.device = device
    const { code, run } = await deviceLogin(t, standIn)
    t.equal(code, 1, message)
    t.match(run.out.stderr, message)
  }
  const unreachable = await cliRun(t, undefined, { clock: testClock().clock })
  t.equal(await runCli(['login', '--url', 'http://127.0.0.1:1', '--device'], unreachable.io), 1)
  t.match(unreachable.out.stderr, 'the service at http://127.0.0.1:1 could not be reached')
  t.same(standIn.received.polls, [])
})

t.test('hostile device answers are refused before anything is shown or polled', async (t) => {
  const standIn = await startStandIn(t)
  const url = standIn.url
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ user_code: '\x1b[2J\x1b[HBCDF-GHJK' }, 'user_code is not of the form XXXX-XXXX'],
    [{ user_code: 'AAAA-EEEE' }, 'user_code is not of the form'],
    [{ user_code: 'bcdf-ghjk' }, 'user_code is not of the form'],
    [{ user_code: 12345678 }, 'user_code is not of the form'],
    [{ device_code: 'short' }, 'device_code is missing or malformed'],
    [{ device_code: 'a b\x1b[1mcdefghijklmnop' }, 'device_code is missing or malformed'],
    [{ device_code: undefined }, 'device_code is missing'],
    [{ verification_uri: 'javascript:alert(1)' }, 'verification_uri is not on http://127.0.0.1'],
    [{ verification_uri: 'http://evil.example/device' }, 'verification_uri is not on'],
    [{ verification_uri: 'file:///etc/passwd' }, 'verification_uri is not on'],
    [
      { verification_uri: 'https://sso.example-login.com/v0/auth/oidc/device' },
      'verification_uri is not on http://127.0.0.1',
    ],
    [
      {
        verification_uri: `${url}/v0/auth/oidc/device`,
        verification_uri_complete: 'https://evil.example/v0/auth/oidc/device?user_code=BCDF-GHJK',
      },
      'verification_uri_complete is not on',
    ],
    [
      { verification_uri: `${url.replace('//', '//user:pw@')}/device` },
      'verification_uri carries credentials',
    ],
    [{ verification_uri: 'https://\x1b[31m.example/' }, 'verification_uri is not a URL'],
    [
      { verification_uri: `https://evil.example/${'a'.repeat(3000)}` },
      'verification_uri is not a URL',
    ],
    [{ verification_uri: undefined }, 'verification_uri is not a URL'],
    [
      { verification_uri_complete: `${url}/device?user_code=BCDF-GHJK` },
      'verification_uri_complete is not the verification page with this user_code',
    ],
    [
      { verification_uri_complete: `${url}/v0/auth/oidc/device?user_code=ZZZZ-ZZZZ` },
      'verification_uri_complete is not the verification page',
    ],
    [{ interval: 86_400 }, 'interval is not a whole number of seconds from 1 to 60'],
    [{ interval: 0 }, 'interval is not'],
    [{ interval: 2.5 }, 'interval is not'],
    [{ interval: '5' }, 'interval is not'],
    [{ interval: undefined }, 'interval is not'],
    [{ expires_in: 1e12 }, 'expires_in is not a whole number of seconds from 30 to 1800'],
    [{ expires_in: -600 }, 'expires_in is not'],
  ]
  for (const [changes, message] of cases) {
    standIn.device = deviceAnswer(url, changes)
    const { code, run } = await deviceLogin(t, standIn)
    const name = JSON.stringify(changes).slice(0, 80)
    t.equal(code, 1, name)
    t.match(
      run.out.stderr,
      `The sign-in failed: the service's answer is not a device login: ${message}`,
      name,
    )
    t.notMatch(run.out.stderr, CONTROL, `${name}: nothing but printable text`)
    t.notMatch(run.out.stderr, 'enter the code', `${name}: nothing of it shown`)
  }
  t.same(standIn.received.polls, [], 'never polled')
})

t.test('escape sequences a URL parser percent-encodes reach the terminal encoded', async (t) => {
  const standIn = await startStandIn(t)
  const page = `${standIn.url}/\x1b]0;owned\x07/device`
  standIn.device = deviceAnswer(standIn.url, {
    verification_uri: page,
    verification_uri_complete: `${page}?user_code=BCDF-GHJK`,
  })
  standIn.polls = ['token']
  const { code, run } = await deviceLogin(t, standIn)
  t.equal(code, 0)
  t.match(run.out.stderr, `${standIn.url}/%1B]0;owned%07/device`)
  t.notMatch(run.out.stderr, CONTROL)
})

t.test('whatever the device answer, it is refused or every field is safe', async (t) => {
  const origin = 'https://registry.example.com'
  const hostile = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.integer(),
    fc.double(),
    fc.constant(undefined),
    fc.webUrl(),
    fc.string({ unit: 'binary' }).map((text) => `${origin}/v0/auth/oidc/device${text}`),
  )
  const valid = deviceAnswer(origin).body as Record<string, unknown>
  const field = (name: string) => fc.oneof(fc.constant(valid[name]), hostile)
  const answers = fc.record({
    device_code: field('device_code'),
    user_code: fc.oneof(
      fc.constant('BCDF-GHJK'),
      fc.stringMatching(/^[A-Z]{4}-[A-Z]{4}$/),
      hostile,
    ),
    verification_uri: field('verification_uri'),
    verification_uri_complete: field('verification_uri_complete'),
    expires_in: field('expires_in'),
    interval: field('interval'),
  })
  fc.assert(
    fc.property(answers, (answer) => {
      let read: ReturnType<typeof readDeviceAuthorization>
      try {
        read = readDeviceAuthorization(answer, origin)
      } catch (error) {
        return error instanceof DeviceAnswerError
      }
      const shown = [read.userCode, read.verificationUri, read.verificationUriComplete ?? '']
      return (
        shown.every((text) => !CONTROL.test(text)) &&
        /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(read.userCode) &&
        new URL(read.verificationUri).origin === origin &&
        new URL(read.verificationUriComplete ?? origin).origin === origin &&
        read.intervalSeconds >= INTERVAL_BOUNDS.min &&
        read.intervalSeconds <= INTERVAL_BOUNDS.max &&
        read.expiresInSeconds >= EXPIRES_IN_BOUNDS.min &&
        read.expiresInSeconds <= EXPIRES_IN_BOUNDS.max
      )
    }),
    { seed: 13, numRuns: 3000 },
  )
  t.pass('3000 answers')
})

t.test('the client name: this machine, recognisable, within 64 printable characters', async (t) => {
  const cases: Array<[string, string]> = [
    ['devbox', 'mcp-registry-oidc on devbox'],
    ['build-7.eu-west.example.internal', 'mcp-registry-oidc on build-7.eu-west.example.internal'],
    ['\x1b[31mred\u202e', 'mcp-registry-oidc on 31mred'],
    ['<script>x</script>', 'mcp-registry-oidc on scriptxscript'],
    ['', 'mcp-registry-oidc'],
    ['\x07\x08', 'mcp-registry-oidc'],
    ['a'.repeat(300), `mcp-registry-oidc on ${'a'.repeat(43)}`],
  ]
  for (const [hostname, expected] of cases) {
    t.equal(deviceClientName(hostname), expected, JSON.stringify(hostname))
  }
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (hostname) =>
      /^[\x20-\x7e]{1,64}$/.test(deviceClientName(hostname)),
    ),
    { seed: 17, numRuns: 2000 },
  )
})

t.test('which login runs when not told', async (t) => {
  const none = { device: false, noDevice: false }
  const cases: Array<
    [string, typeof none, Record<string, string>, NodeJS.Platform, 'device' | 'loopback']
  > = [
    ['Linux desktop (X11)', none, { DISPLAY: ':0' }, 'linux', 'loopback'],
    ['Linux desktop (Wayland)', none, { WAYLAND_DISPLAY: 'wayland-0' }, 'linux', 'loopback'],
    ['Linux without a display', none, {}, 'linux', 'device'],
    ['empty DISPLAY', none, { DISPLAY: '' }, 'linux', 'device'],
    ['FreeBSD without a display', none, {}, 'freebsd', 'device'],
    ['WSL', none, { WSL_DISTRO_NAME: 'Ubuntu' }, 'linux', 'loopback'],
    ['macOS', none, {}, 'darwin', 'loopback'],
    ['Windows', none, {}, 'win32', 'loopback'],
    [
      'SSH session',
      none,
      { SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22', DISPLAY: ':0' },
      'linux',
      'device',
    ],
    ['SSH with a terminal, macOS', none, { SSH_TTY: '/dev/ttys001' }, 'darwin', 'device'],
    [
      '--no-device over SSH',
      { device: false, noDevice: true },
      { SSH_CONNECTION: 'x' },
      'linux',
      'loopback',
    ],
    ['--no-device without a display', { device: false, noDevice: true }, {}, 'linux', 'loopback'],
    [
      '--device on a desktop',
      { device: true, noDevice: false },
      { DISPLAY: ':0' },
      'darwin',
      'device',
    ],
  ]
  for (const [name, flags, env, platform, flow] of cases) {
    const choice = chooseLoginFlow(flags, env, platform, true)
    t.equal(choice.flow, flow, name)
    const told = flags.device || flags.noDevice
    t.equal(
      choice.reason === undefined,
      told || flow === 'loopback',
      `${name}: a reason when chosen`,
    )
  }
})

t.test('login chooses by itself, says why, and obeys --no-device and --device', async (t) => {
  const standIn = await startStandIn(t)
  standIn.polls = ['token']
  const ssh = await cliRun(t, undefined, {
    env: { SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22', DISPLAY: ':0' },
    hostname: 'devbox',
    clock: testClock().clock,
    interactive: true,
  })
  t.equal(await runCli(['login', '--url', standIn.url], ssh.io), 0)
  t.match(
    ssh.out.stderr,
    'Signing in with a code to enter in a browser elsewhere, because this is an SSH session. Use --no-device',
  )
  t.same(ssh.opened, [], 'no browser is started for a device login')

  const headless = await cliRun(t, undefined, {
    env: {},
    clock: testClock().clock,
    interactive: true,
  })
  t.equal(await runCli(['login', '--url', standIn.url, '--print'], headless.io), 0)
  t.match(
    headless.out.stderr,
    'because there is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set)',
  )
  t.equal(standIn.received.device.length, 2)

  const told = await cliRun(t, undefined, { env: { SSH_TTY: '/dev/pts/1' } })
  t.equal(
    await runCli(['login', '--url', standIn.url, '--no-device', '--timeout', '1'], told.io),
    1,
  )
  t.match(
    told.out.stderr,
    '/v0/auth/oidc/start?redirect_uri=',
    'the loopback login with --no-device',
  )
  t.equal(standIn.received.device.length, 2, 'no device request')

  const both = await cliRun(t)
  t.equal(await runCli(['login', '--url', standIn.url, '--device', '--no-device'], both.io), 2)
  t.match(both.out.stderr, '--device and --no-device exclude each other')
})

t.test('not at a terminal, login never picks the device login by itself', async (t) => {
  const ssh = { SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22' }
  for (const [name, env] of [
    ['CI over SSH', { ...ssh, CI: 'true' }],
    ['a headless runner', {}],
  ] as const) {
    t.throws(
      () => chooseLoginFlow({ device: false, noDevice: false }, env, 'linux', false),
      /not interactive .* Pass --device to do so anyway, or --no-device/,
      name,
    )
  }
  t.equal(
    chooseLoginFlow({ device: true, noDevice: false }, ssh, 'linux', false).flow,
    'device',
    '--device still works in CI',
  )
  t.equal(
    chooseLoginFlow({ device: false, noDevice: false }, { DISPLAY: ':0' }, 'linux', false).flow,
    'loopback',
    'a desktop: the browser on this machine, as before',
  )

  const standIn = await startStandIn(t)
  const ci = await cliRun(t, undefined, { env: { ...ssh, CI: 'true' }, interactive: false })
  t.equal(await runCli(['login', '--url', standIn.url], ci.io), 2, 'wrong usage')
  t.match(ci.out.stderr, 'Pass --device to do so anyway, or --no-device')
  t.same(standIn.received.device, [], 'no code was requested, none printed')
})

t.test('--client-name replaces the host name; a deceptive one is refused', async (t) => {
  const standIn = await startStandIn(t)
  standIn.polls = ['token']
  const named = await cliRun(t, undefined, { hostname: 'devbox', clock: testClock().clock })
  const args = ['login', '--device', '--print', '--url', standIn.url]
  t.equal(await runCli([...args, '--client-name', 'Ada’s build box'], named.io), 0)
  t.same(standIn.received.device, [{ client_name: 'Ada’s build box' }], 'sent instead of devbox')
  t.match(named.out.stderr, 'The page names this request "Ada’s build box"')

  for (const name of ['\u3164\u3164', 'laptop    From address: 127.0.0.1', 'a'.repeat(65)]) {
    const bad = await cliRun(t)
    t.equal(await runCli([...args, '--client-name', name], bad.io), 2, JSON.stringify(name))
    t.match(bad.out.stderr, '--client-name ')
  }
  t.equal(standIn.received.device.length, 1, 'nothing sent for a refused name')
})
