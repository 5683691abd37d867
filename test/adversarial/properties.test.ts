// Property-based: thousands of generated redirect_uri, state, PKCE parameters, Cookie headers and
// callback queries thrown at /start and /callback (in-process, through app.inject), and a few
// dozen whole loopback logins (over HTTP, through the real provider). Whatever the input:
//   - never a 5xx (the provider is up and never reached with a forged flow);
//   - never a Location outside the provider, loopback or the allow-list;
//   - never a Set-Cookie over 4096 bytes;
//   - never a token in a loopback URL.
//
// The seed is fixed, so CI runs the same inputs every time. To search longer or elsewhere:
//   FC_RUNS=50000 FC_SEED=$RANDOM npx tap --jobs=1 test/adversarial/properties.test.ts
// FC_RUNS scales every property (default 1500 requests per route, 20 whole logins); a failure
// prints the seed and the shrunk input that reproduces it.

import { createHash } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { checkLogsLast, type RealStage, startRealStage } from '../helpers/adversarial.js'
import { loginUntilCallback } from '../helpers/login.js'

const runs = Number(process.env.FC_RUNS ?? 1500)
const seed = Number(process.env.FC_SEED ?? 20_261_130)
const parameters = (numRuns: number) => ({ seed, numRuns, endOnFailure: true })

const allowlist = ['https://app.example.com/after-login', 'https://tools.example.com/cb/*']
const stage: RealStage = await startRealStage({
  MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST: allowlist.join(','),
})
const { app } = stage.service
const providerOrigin = new URL(stage.provider.issuer).origin

const LOOPBACK_ORIGIN = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):[1-9][0-9]{0,4}$/
const TOKEN = /registry_token|eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/

// ---- generators ---------------------------------------------------------------------------

/** Characters a header may carry (what Node's HTTP parser lets through). */
const headerText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.constantFrom(...'=;, "\\%\t'),
      fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
      fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
    ),
    maxLength,
  })

const anyText = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: fc.constantFrom(...'"\\%#?/@:.~ \r\n\x00'), maxLength }),
  )

const loopbackHosts = ['127.0.0.1', '[::1]', 'localhost']
const lookAlikes = [
  '127.0.0.2',
  '127.1',
  '0.0.0.0',
  '2130706433',
  '0x7f000001',
  '[::ffff:127.0.0.1]',
  'localhost.evil.com',
  'LOCALHOST',
  'evil.example',
  'app.example.com',
  'tools.example.com',
  'app.example.com.evil.example',
]

const redirectUri = fc.oneof(
  fc
    .record({
      scheme: fc.constantFrom('http', 'https', 'HTTP', 'javascript', ''),
      slashes: fc.constantFrom('//', '/', '\\\\', '/\\', ''),
      userinfo: fc.constantFrom('', 'user@', '127.0.0.1:80@', 'app.example.com@'),
      host: fc.constantFrom(...loopbackHosts, ...lookAlikes),
      port: fc.oneof(
        fc.constant(''),
        fc.integer({ min: 0, max: 70_000 }).map((p) => `:${p}`),
      ),
      path: fc.oneof(fc.webPath(), anyText(40), fc.constantFrom('/after-login', '/cb/x/../y')),
      query: fc.oneof(
        fc.constant(''),
        anyText(2100).map((q) => `?${q}`),
      ),
    })
    .map((u) => `${u.scheme}:${u.slashes}${u.userinfo}${u.host}${u.port}${u.path}${u.query}`),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.constantFrom(...allowlist.map((entry) => entry.replace('*', 'deeper/path'))),
  anyText(2100),
)

const challenge = fc.oneof(
  fc.base64String({ minLength: 40, maxLength: 132 }).map((s) => s.replace(/[+/=]/g, '_')),
  fc.constant(createHash('sha256').update('v'.repeat(43)).digest('base64url')),
  anyText(140),
)

const startQuery = fc
  .record(
    {
      redirect_uri: fc.oneof(redirectUri, fc.array(redirectUri, { maxLength: 2 })),
      state: fc.oneof(anyText(600), fc.array(anyText(20), { maxLength: 2 })),
      code_challenge: challenge,
      code_challenge_method: fc.oneof(fc.constantFrom('S256', 'plain', 's256'), anyText(10)),
    },
    { requiredKeys: [] },
  )
  .map(toQuery)

const ownFlowName = fc
  .stringMatching(/^[A-Za-z0-9_-]{16}$/)
  .map((digest) => `mcp_oidc_flow_${digest}`)

const cookieHeader = fc
  .array(
    fc.tuple(
      fc.oneof(
        ownFlowName,
        headerText(20).map((name) => `mcp_oidc_flow_${name}`),
        headerText(20),
        fc.constantFrom('__proto__', 'constructor', '__Host-mcp_oidc_flow_x', ''),
      ),
      fc.oneof(headerText(200), fc.constant('x'.repeat(3000))),
    ),
    { maxLength: 30 },
  )
  .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join('; '))

const callbackQuery = fc
  .record(
    {
      code: anyText(100),
      state: fc.oneof(anyText(60), fc.array(anyText(10), { maxLength: 3 })),
      iss: anyText(60),
      error: fc.oneof(fc.constantFrom('access_denied', 'login_required'), anyText(300)),
      error_description: anyText(1100),
      session_state: anyText(20),
    },
    { requiredKeys: [] },
  )
  .map(toQuery)

function toQuery(fields: Record<string, string | string[] | undefined>): string {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      query.append(name, item)
    }
  }
  return query.toString()
}

// ---- invariants ---------------------------------------------------------------------------

function locationAllowed(location: string): boolean {
  let url: URL
  try {
    url = new URL(location)
  } catch {
    return false
  }
  if (url.origin === providerOrigin) return true
  if (LOOPBACK_ORIGIN.test(url.origin)) return !TOKEN.test(location)
  return allowlist.some((entry) =>
    entry.endsWith('*') ? location.startsWith(entry.slice(0, -1)) : location.startsWith(entry),
  )
}

interface Answer {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
}

function invariantsHold(answer: Answer): boolean {
  const location = answer.headers.location
  const setCookie = answer.headers['set-cookie'] ?? []
  const cookies = Array.isArray(setCookie) ? setCookie : [String(setCookie)]
  return (
    answer.statusCode < 500 &&
    (location === undefined || locationAllowed(String(location))) &&
    cookies.every((line) => Buffer.byteLength(line) <= 4096)
  )
}

async function inject(url: string, cookie: string): Promise<Answer> {
  const answer = await app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} })
  if (!invariantsHold(answer)) {
    throw new Error(`${answer.statusCode} ${JSON.stringify(answer.headers)} ${answer.body}`)
  }
  return answer
}

// ---- properties ---------------------------------------------------------------------------

/** Runs `path?query` with a Cookie header for every generated pair; returns how often each status came. */
async function statusesOver(
  path: string,
  query: fc.Arbitrary<string>,
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>()
  await fc.assert(
    fc.asyncProperty(query, cookieHeader, async (generated, cookie) => {
      const answer = await inject(`${path}?${generated}`, cookie)
      statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1)
    }),
    parameters(runs),
  )
  return statuses
}

t.test('/start: any query, any Cookie header', async (t) => {
  const statuses = await statusesOver('/v0/auth/oidc/start', startQuery)
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.ok(statuses.get(302), 'some inputs start a login')
  t.ok(statuses.get(400), 'some are refused')
})

t.test('/callback: any query, any Cookie header', async (t) => {
  const statuses = await statusesOver('/v0/auth/oidc/callback', callbackQuery)
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)
})

t.test('whole loopback logins: a code and the state arrive, never a token', async (t) => {
  const loopbackTarget = fc
    .record({
      host: fc.constantFrom(...loopbackHosts),
      port: fc.integer({ min: 1, max: 65_535 }),
      path: fc.webPath(),
      query: fc.option(fc.webQueryParameters(), { nil: undefined }),
    })
    .map(
      (u) =>
        `http://${u.host}:${u.port}${u.path || '/'}${u.query === undefined ? '' : `?${u.query}`}`,
    )
  const callerState = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 512,
  })
  const verifier = 'v'.repeat(43)
  const code_challenge = createHash('sha256').update(verifier).digest('base64url')
  let delivered = 0
  await fc.assert(
    fc.asyncProperty(loopbackTarget, callerState, async (target, state) => {
      const query = toQuery({
        redirect_uri: target,
        state,
        code_challenge,
        code_challenge_method: 'S256',
      })
      const start = await app.inject({ method: 'GET', url: `/v0/auth/oidc/start?${query}` })
      if (!invariantsHold(start)) throw new Error(`start: ${start.statusCode} ${start.body}`)
      if (start.statusCode !== 302) return
      const login = await loginUntilCallback(
        `${stage.base}/v0/auth/oidc/start?${query}`,
        stage.browser(),
      )
      const answer = await login.browser.request(login.callbackUrl)
      const location = answer.headers.get('location') ?? ''
      const headers = { location, 'set-cookie': answer.headers.getSetCookie() }
      if (!invariantsHold({ statusCode: answer.status, headers })) {
        throw new Error(`callback: ${answer.status} ${location}`)
      }
      const arrived = new URL(location).searchParams
      if (arrived.get('state') !== state || !arrived.get('code')) throw new Error(location)
      stage.secrets.add(arrived.get('code') ?? '')
      delivered++
    }),
    parameters(Math.max(1, Math.round(runs / 75))),
  )
  t.ok(delivered > 0, `${delivered} logins delivered a code to their loopback target`)
})

checkLogsLast([stage])
