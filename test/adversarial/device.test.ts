// The device login (RFC 8628) under attack: guessed user codes, replayed and guessed device
// codes, terminals that poll too fast, confirmations forged from other sites, unknown codes on
// the page, client names full of markup, and malformed bodies. Every refusal answers in the
// documented format and is logged once; no device code, user code or token is ever logged.

import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import {
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'
import { TestBrowser } from '../helpers/browser.js'
import {
  approveInBrowser,
  continueUrlOf,
  openConfirmation,
  pollDeviceToken,
  requestDeviceLogin,
  submitDecision,
} from '../helpers/device.js'

const stages: RealStage[] = []
async function stage(env: Record<string, string> = {}) {
  const created = await startRealStage(env)
  stages.push(created)
  return created
}

const main = await stage()
const base = main.base

/** A device login whose codes the final log check looks for. */
async function deviceLogin(s: RealStage = main, body: Record<string, string> = {}) {
  const device = await requestDeviceLogin(s.base, body)
  s.secrets.add(device.device_code)
  return device
}

function post(path: string, body: string, contentType = 'application/json', s = main) {
  return fetch(`${s.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/json' },
    body,
  })
}

t.test('ten wrong codes from one address: 429 for any code until the window ends', async (t) => {
  // Addresses come from X-Forwarded-For, believed from the loopback proxy.
  const guarded = await stage({ MCP_REGISTRY_OIDC_TRUST_PROXY: '127.0.0.1' })
  const device = await deviceLogin(guarded)
  const from = (address: string) => ({ accept: 'application/json', 'x-forwarded-for': address })
  const page = (code: string, address: string) =>
    fetch(`${guarded.base}/v0/auth/oidc/device/confirm?user_code=${encodeURIComponent(code)}`, {
      headers: from(address),
    })
  const wrong = ['BCDF-GHJK', 'bcdfghjl', 'XXXX-XXXX', 'not a code', '', 'BCDF-GHJA']
  for (let i = 0; i < 10; i++) {
    const guess = wrong[i % wrong.length] as string
    t.match(
      await refusal(guarded.service, () => page(guess, '198.51.100.7')),
      refused(400, 'user_code_invalid', /unknown/),
      `wrong code ${i + 1}`,
    )
  }
  t.match(
    await refusal(guarded.service, () => page(device.user_code, '198.51.100.7')),
    refused(429, 'rate_limited', /10 wrong user codes/),
    'the right code too, from that address',
  )
  const browser = guarded.browser()
  const confirmation = await openConfirmation(guarded.base, device.user_code, browser)
  t.equal(confirmation.response.status, 200, 'another address is not limited')
  const forged = await submitDecision(
    guarded.base,
    confirmation,
    'confirm',
    {},
    {
      'x-forwarded-for': '198.51.100.7',
      accept: 'application/json',
    },
  )
  t.equal(forged.status, 429, 'nor can the limited address confirm with a page it got elsewhere')

  // IPv6 clients are counted by their /64, as the rate limit counts them.
  for (let i = 0; i < 10; i++) await (await page('BCDF-GHJK', `2001:db8:1:2::${i + 1}`)).text()
  t.equal((await page(device.user_code, '2001:db8:1:2:ffff::1')).status, 429, 'the whole /64')
  t.equal((await page(device.user_code, '2001:db8:1:3::1')).status, 200, 'not the next /64')
})

t.test(
  "another site cannot spend an address's wrong codes: its GETs get the entry page",
  async (t) => {
    const guarded = await stage({ MCP_REGISTRY_OIDC_TRUST_PROXY: '127.0.0.1' })
    const device = await deviceLogin(guarded)
    const address = '203.0.113.9'
    // undici's request, not fetch: fetch always sends its own Sec-Fetch-Mode (cors).
    const page = async (code: string, fetchMetadata: Record<string, string>) => {
      const url = `${guarded.base}/v0/auth/oidc/device/confirm?user_code=${encodeURIComponent(code)}`
      const response = await request(url, {
        headers: { accept: 'text/html', 'x-forwarded-for': address, ...fetchMetadata },
      })
      return { status: response.statusCode, text: () => response.body.text() }
    }
    const notThePersonsOwn: Record<string, Record<string, string>> = {
      '<img> on another site': {
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'no-cors',
        'sec-fetch-dest': 'image',
      },
      'a link on another site': {
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'document',
      },
      'a link on a sibling subdomain': {
        'sec-fetch-site': 'same-site',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'document',
      },
      '<img> on this origin': {
        'sec-fetch-site': 'same-origin',
        'sec-fetch-mode': 'no-cors',
        'sec-fetch-dest': 'image',
      },
      'a frame': {
        'sec-fetch-site': 'same-origin',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'iframe',
      },
      'only Sec-Fetch-Site, cross-site': { 'sec-fetch-site': 'cross-site' },
    }
    for (const [what, headers] of Object.entries(notThePersonsOwn)) {
      for (let i = 0; i < 3; i++) {
        const response = await page('BCDF-GHJK', headers)
        const text = await response.text()
        t.equal(response.status, 200, `${what}: 200`)
        t.match(text, 'value="BCDF-GHJK"', `${what}: the entry page, the code filled in`)
        t.notMatch(text, 'Is this your sign-in?')
      }
      const right = await (await page(device.user_code, headers)).text()
      t.notMatch(right, 'Is this your sign-in?', `${what}: even the right code is not looked up`)
    }
    const own = await page(device.user_code, {
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    })
    t.equal(own.status, 200, '18 cross-site wrong codes counted nothing: no 429')
    t.match(
      await own.text(),
      'Is this your sign-in?',
      "the person's own Continue shows the request",
    )
    const typed = await page(device.user_code, {
      'sec-fetch-site': 'none',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    })
    t.match(await typed.text(), 'Is this your sign-in?', 'typed or opened from a QR code: shown')
  },
)

t.test('an unknown or malformed code on the page: an error page, 4xx', async (t) => {
  const response = await fetch(`${base}/v0/auth/oidc/device/confirm?user_code=BCDF-GHJK`, {
    headers: { accept: 'text/html' },
  })
  t.equal(response.status, 400)
  t.equal(response.headers.get('cache-control'), 'no-store')
  t.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/)
  const page = await response.text()
  t.match(page, 'user_code_invalid')
  t.match(
    page,
    /href="http:\/\/127\.0\.0\.1:\d+\/v0\/auth\/oidc\/device"/,
    'a way back to the entry page',
  )
  const entry = await fetch(`${base}/v0/auth/oidc/device?user_code=%3Cscript%3E`)
  t.equal(entry.status, 200, 'the entry page shows an empty field for what is not a code')
  t.notMatch(await entry.text(), /<script>/)
  t.match(
    await refusal(main.service, () =>
      fetch(`${base}/v0/auth/oidc/device/confirm`, { headers: { accept: 'application/json' } }),
    ),
    refused(400, 'invalid_request'),
    'no code at all',
  )
})

t.test('device codes: replayed, guessed, malformed', async (t) => {
  const device = await deviceLogin()
  const done = await approveInBrowser(base, device.user_code, main.browser())
  t.equal(done.status, 200)
  const granted = await pollDeviceToken(base, device.device_code)
  t.equal(granted.status, 200)
  main.secrets.add(granted.body.registry_token as string)
  for (const prefix of ['/v0', '/v0.1']) {
    t.match(
      await refusal(main.service, () =>
        post(
          `${prefix}/auth/oidc/device/token`,
          JSON.stringify({ device_code: device.device_code }),
        ),
      ),
      refused(400, 'invalid_grant', /already redeemed/),
      `replayed under ${prefix}`,
    )
  }
  const guessed = randomBytes(32).toString('base64url')
  t.match(
    await refusal(main.service, () =>
      post('/v0/auth/oidc/device/token', JSON.stringify({ device_code: guessed })),
    ),
    refused(400, 'invalid_grant', /unknown/),
  )
  for (const malformed of ['x', `${device.device_code}=`, 'a'.repeat(256), '../../etc/passwd']) {
    t.match(
      await refusal(main.service, () =>
        post('/v0/auth/oidc/device/token', JSON.stringify({ device_code: malformed })),
      ),
      refused(400, 'invalid_grant', /malformed/),
    )
  }
  t.equal(
    (await approveInBrowser(base, device.user_code, main.browser()).catch((error: Error) => error))
      .toString()
      .includes('400'),
    true,
    'the user code is spent as well',
  )
})

t.test('a terminal polling too fast hears slow_down, each time 5 s longer', async (t) => {
  const device = await deviceLogin()
  await pollDeviceToken(base, device.device_code)
  const intervals: string[] = []
  for (let i = 0; i < 5; i++) {
    const answer = await pollDeviceToken(base, device.device_code)
    t.equal(answer.body.error, 'slow_down')
    intervals.push(/Wait (\d+) seconds/.exec(answer.body.error_description ?? '')?.[1] ?? '')
  }
  t.same(intervals, ['10', '15', '20', '25', '30'])
  const done = await approveInBrowser(base, device.user_code, main.browser())
  t.equal(done.status, 200)
  const early = await pollDeviceToken(base, device.device_code)
  t.equal(early.body.error, 'slow_down', 'a grant waits for a poll that keeps the interval')
})

t.test('confirmations from another site never start a login', async (t) => {
  const device = await deviceLogin()
  const browser = main.browser()
  const confirmation = await openConfirmation(base, device.user_code, browser)
  t.equal(confirmation.response.status, 200)
  const json = { accept: 'application/json' }
  const attempts: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['Origin of another site', { ...json, origin: 'https://evil.example' }, {}],
    ['Origin null', { ...json, origin: 'null' }, {}],
    ['Origin of another port', { ...json, origin: 'http://127.0.0.1:1' }, {}],
    ['Sec-Fetch-Site cross-site', { ...json, 'sec-fetch-site': 'cross-site' }, {}],
    ['Sec-Fetch-Site same-site', { ...json, 'sec-fetch-site': 'same-site' }, {}],
    ['Sec-Fetch-Site none', { ...json, 'sec-fetch-site': 'none' }, {}],
    ['no anti-forgery value', json, { _csrf: '' }],
    ['a wrong anti-forgery value', json, { _csrf: 'AAAAAAAA-notavalidtokenvalue' }],
  ]
  for (const decision of ['confirm', 'cancel'] as const) {
    for (const [name, headers, fields] of attempts) {
      const cookiesBefore = [...browser.cookies(base).keys()]
      const answer = await refusal(main.service, () =>
        submitDecision(base, confirmation, decision, fields, headers),
      )
      t.match(answer, refused(403, 'cross_site_request'), `${decision}: ${name}`)
      t.same([...browser.cookies(base).keys()], cookiesBefore, 'no flow cookie was set')
    }
  }
  const noCookie = await refusal(main.service, () =>
    submitDecision(base, confirmation, 'confirm', {}, { ...json, cookie: '' }),
  )
  t.match(noCookie, refused(403, 'cross_site_request'), 'the value without its cookie')
  const otherBrowser = await openConfirmation(base, device.user_code, main.browser())
  const mixed = await refusal(main.service, () =>
    submitDecision(base, { ...confirmation, page: otherBrowser.page }, 'confirm', {}, json),
  )
  t.match(mixed, refused(403, 'cross_site_request'), "another browser's value")
  const foreignCookie = await refusal(main.service, () =>
    submitDecision(base, confirmation, 'confirm', {}, { ...json, cookie: 'mcp_oidc_csrf=forged' }),
  )
  t.match(foreignCookie, refused(403, 'cross_site_request'), 'an unsigned cookie')

  const poll = await pollDeviceToken(base, device.device_code)
  t.equal(poll.body.error, 'authorization_pending', 'nothing was decided')
  const confirmed = await submitDecision(base, confirmation, 'confirm')
  t.equal(confirmed.status, 200, 'the page itself still confirms')
  t.equal(continueUrlOf(await confirmed.text()).origin, main.provider.issuer)
})

t.test('client names are bounded, printable and shown escaped', async (t) => {
  const markup = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
  const device = await deviceLogin(main, { client_name: markup })
  const { page } = await openConfirmation(base, device.user_code, main.browser())
  t.notMatch(page, /<script>alert|<img src=x/)
  t.match(page, 'The name the terminal gave itself — not verified', 'labelled as unverified')
  t.match(page, '<span class="client-name">', 'in its own clipped box')
  t.match(page, /just now <span class="secondary">\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)/)
  t.match(
    page,
    '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;',
  )
  t.equal(
    (await post('/v0/auth/oidc/device', JSON.stringify({ client_name: '😀'.repeat(64) }))).status,
    200,
    '64 characters, each outside the BMP',
  )
  const refusedNames = {
    'too long': 'a'.repeat(65),
    empty: '',
    'a line break': 'my\nlaptop',
    'an escape sequence': 'laptop\u001b[31m',
    'a right-to-left override': 'laptop\u202egnp.exe',
    'a zero-width space': 'lap\u200btop',
    'a line separator': 'lap\u2028top',
    'Hangul fillers, which render blank': '\u3164\u3164\u3164',
    'blank Braille patterns': '\u2800\u2800',
    'ideographic spaces': '\u3000'.repeat(64),
    'lone combining marks': '\u0301'.repeat(64),
    'stacked combining marks': `A${'\u0301'.repeat(60)}`,
    'a Cyrillic look-alike among Latin letters': 'mcp-publіsher (official CLI)',
    'spaces to fake another row': 'mcp-registry-oidc on laptop    From address: 127.0.0.1',
    'not NFC': 'Ku\u0308che',
  }
  for (const [name, clientName] of Object.entries(refusedNames)) {
    t.match(
      await refusal(main.service, () =>
        post('/v0/auth/oidc/device', JSON.stringify({ client_name: clientName })),
      ),
      refused(400, 'invalid_request'),
      name,
    )
  }
})

t.test('hostile bodies', async (t) => {
  const form = 'application/x-www-form-urlencoded'
  const grant = 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code'
  const cases: Array<[string, string, string, string, number, string]> = [
    ['device', '/v0/auth/oidc/device', '[]', 'application/json', 400, 'invalid_request'],
    [
      'device',
      '/v0/auth/oidc/device',
      '{"client_name":1}',
      'application/json',
      400,
      'invalid_request',
    ],
    [
      'device',
      '/v0/auth/oidc/device',
      '{"client_id":"x"}',
      'application/json',
      400,
      'invalid_request',
    ],
    ['device', '/v0/auth/oidc/device', 'client_name=a&client_name=b', form, 400, 'invalid_request'],
    ['device', '/v0/auth/oidc/device', '__proto__=x', form, 400, 'invalid_request'],
    [
      'device',
      '/v0/auth/oidc/device',
      'client_name=a',
      'text/plain',
      415,
      'unsupported_media_type',
    ],
    [
      'device',
      '/v0/auth/oidc/device',
      `client_name=${'a'.repeat(17_000)}`,
      form,
      413,
      'payload_too_large',
    ],
    ['token', '/v0/auth/oidc/device/token', 'device_code=abc', form, 400, 'invalid_request'],
    [
      'token',
      '/v0/auth/oidc/device/token',
      `${grant}&grant_type=x&device_code=a`,
      form,
      400,
      'invalid_request',
    ],
    [
      'token',
      '/v0/auth/oidc/device/token',
      'grant_type=authorization_code&device_code=a',
      form,
      400,
      'invalid_request',
    ],
    [
      'token',
      '/v0/auth/oidc/device/token',
      '{"device_code":["a"]}',
      'application/json',
      400,
      'invalid_request',
    ],
    ['token', '/v0/auth/oidc/device/token', '{}', 'application/json', 400, 'invalid_request'],
    [
      'token',
      '/v0/auth/oidc/device/token',
      '{"device_code":"a"',
      'application/json',
      400,
      'invalid_request',
    ],
  ]
  for (const [, path, body, type, status, error] of cases) {
    t.match(
      await refusal(main.service, () => post(path, body, type)),
      refused(status, error),
      `${path}: ${body.slice(0, 60)} (${type})`,
    )
  }
  const formPoll = await post(
    '/v0/auth/oidc/device/token',
    `${grant}&device_code=${'A'.repeat(43)}`,
    form,
  )
  t.equal(
    ((await formPoll.json()) as { error: string }).error,
    'invalid_grant',
    'the form spelling reaches the poll',
  )
  const decision = await refusal(main.service, () =>
    post('/v0/auth/oidc/device/confirm', 'user_code=BCDF-GHJK&user_code=BCDF-GHJL&_csrf=x', form),
  )
  t.match(decision, refused(400, 'invalid_request'), 'a decision with two codes')
  const wrongMethod = await fetch(`${base}/v0/auth/oidc/device/token`, {
    headers: { accept: 'application/json' },
  })
  t.equal(wrongMethod.status, 405)
  t.equal(wrongMethod.headers.get('allow'), 'POST')
  const put = await fetch(`${base}/v0/auth/oidc/device`, { method: 'PUT' })
  t.equal(put.status, 405)
  t.equal(put.headers.get('allow'), 'GET, HEAD, POST')
})

t.test(
  'a device request cannot end as a browser login, nor a browser login as a device',
  async (t) => {
    // A flow cookie is signed; a device's user key cannot be added to a browser login's cookie, and
    // a confirmed device login's callback shows no token to the browser (see device.test.ts).
    const device = await deviceLogin()
    const browser = new TestBrowser()
    const confirmation = await openConfirmation(base, device.user_code, browser)
    const confirmed = await submitDecision(base, confirmation, 'confirm')
    const { url } = await browser.followUntil(continueUrlOf(await confirmed.text()), (next) =>
      next.pathname.endsWith('/auth/oidc/callback'),
    )
    const json = await browser.request(url, { headers: { accept: 'application/json' } })
    t.equal(json.status, 200)
    t.notMatch(await json.text(), /eyJ/, 'a JSON client at the callback gets no token either')
  },
)

t.test('device requests count against the login rate limit, polls do not', async (t) => {
  const limited = await stage({
    MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '3',
    MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS: '60',
  })
  const device = await deviceLogin(limited)
  const polls = []
  for (let i = 0; i < 8; i++)
    polls.push((await pollDeviceToken(limited.base, device.device_code)).status)
  t.same(polls, Array(8).fill(400), 'eight polls: never 429')
  await (await fetch(`${limited.base}/v0/auth/oidc/device`)).text()
  await (await fetch(`${limited.base}/v0.1/auth/oidc/device`)).text()
  t.match(
    await refusal(limited.service, () =>
      post('/v0/auth/oidc/device', '{}', 'application/json', limited),
    ),
    refused(429, 'rate_limited'),
    'the fourth request of the budget',
  )
})

t.test(
  'property: whatever the cookies, codes and bodies, never a 5xx and never a login start',
  async (t) => {
    const s = await stage()
    const { app } = s.service
    const headerText = fc.string({
      unit: fc.oneof(
        fc.constantFrom(...'=;, "\\%\t'),
        fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
      ),
      maxLength: 120,
    })
    const cookie = fc.oneof(
      headerText,
      headerText.map((value) => `mcp_oidc_csrf=${value}`),
      headerText.map((value) => `__Host-mcp_oidc_csrf=${value}; mcp_oidc_csrf=${value}`),
    )
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({
        unit: fc.constantFrom(...'BCDFGHJKLMNPQRSTVWXZbcdf- \u017f\u212a'),
        maxLength: 12,
      }),
    )
    const formBody = fc.dictionary(
      fc.constantFrom(
        'user_code',
        '_csrf',
        'client_name',
        'device_code',
        'grant_type',
        '__proto__',
      ),
      text,
    )
    const request = fc.record({
      route: fc.constantFrom(
        { method: 'POST' as const, path: '/v0/auth/oidc/device' },
        { method: 'POST' as const, path: '/v0/auth/oidc/device/token' },
        { method: 'POST' as const, path: '/v0/auth/oidc/device/confirm' },
        { method: 'POST' as const, path: '/v0/auth/oidc/device/cancel' },
        { method: 'GET' as const, path: '/v0/auth/oidc/device/confirm' },
        { method: 'GET' as const, path: '/v0/auth/oidc/device' },
      ),
      cookie,
      code: text,
      body: formBody,
      json: fc.boolean(),
      origin: fc.constantFrom(undefined, s.base, 'null', 'https://evil.example'),
    })
    await fc.assert(
      fc.asyncProperty(
        request,
        async ({ route: { method, path }, cookie, code, body, json, origin }) => {
          const headers: Record<string, string> = { cookie }
          if (origin !== undefined) headers.origin = origin
          const payload =
            method === 'GET'
              ? undefined
              : json
                ? JSON.stringify(body)
                : new URLSearchParams(Object.entries(body)).toString()
          if (payload !== undefined) {
            headers['content-type'] = json
              ? 'application/json'
              : 'application/x-www-form-urlencoded'
          }
          const url = method === 'GET' ? `${path}?user_code=${encodeURIComponent(code)}` : path
          const answer = await app.inject({ method, url, headers, payload })
          const setCookies = [answer.headers['set-cookie'] ?? []].flat()
          return (
            answer.statusCode < 500 &&
            !setCookies.some((line) => line.includes('mcp_oidc_flow_')) &&
            answer.headers.location === undefined
          )
        },
      ),
      { seed: 20_261_130, numRuns: Number(process.env.FC_RUNS ?? 1500), endOnFailure: true },
    )
    t.pass('no answer was a 5xx, set a flow cookie or redirected')
  },
)

checkLogsLast(stages)
