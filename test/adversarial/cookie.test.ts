// Tampered flow cookies at the callback: each is refused with 400 before the provider's token
// endpoint is asked, and the refusal names what went wrong.

import { sign } from '@fastify/cookie'
import t from 'tap'
import { decodeFlow, encodeFlow, type Flow } from '../../src/login/flow-cookie.js'
import {
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'
import type { PendingLogin } from '../helpers/login.js'
import { testCookieSecret } from '../helpers/service.js'

const oldSecret = 'an-older-cookie-secret-still-accepted-0123'
const stage: RealStage = await startRealStage({
  MCP_REGISTRY_OIDC_COOKIE_SECRET: `${testCookieSecret},${oldSecret}`,
})

/** The login's one flow cookie, as the browser holds it (URL-encoded). */
function flowCookieOf(login: PendingLogin): [name: string, value: string] {
  const entries = [...login.browser.cookies(stage.base)]
  if (entries.length !== 1) throw new Error(`expected one cookie, found ${entries.length}`)
  return entries[0] as [string, string]
}

function flowOf(value: string): Flow {
  const unsigned = stage.service.app.unsignCookie(decodeURIComponent(value))
  const flow = decodeFlow(unsigned.value ?? '')
  if (!flow) throw new Error('not a flow cookie')
  return flow
}

/** Signs `flow` with `secret`, as the browser would hold it. */
function signed(flow: Flow, secret: string): string {
  return encodeURIComponent(sign(encodeFlow(flow), secret))
}

async function callbackWithCookie(login: PendingLogin, cookieHeader: string) {
  const before = stage.provider.tokenRequests
  const result = await refusal(stage.service, () =>
    login.browser.request(login.callbackUrl, {
      headers: { cookie: cookieHeader, accept: 'application/json' },
    }),
  )
  return { result, tokenRequests: stage.provider.tokenRequests - before }
}

const now = () => Math.floor(Date.now() / 1000)

const tampered: Array<[string, (name: string, value: string) => string, string, RegExp]> = [
  [
    'one byte flipped',
    (name, value) =>
      `${name}=${value.slice(0, 20)}${value[20] === 'A' ? 'B' : 'A'}${value.slice(21)}`,
    'flow_cookie_invalid',
    /bad signature/,
  ],
  [
    'truncated',
    (name, value) => `${name}=${value.slice(0, Math.floor(value.length / 2))}`,
    'flow_cookie_invalid',
    /bad signature/,
  ],
  [
    'signature removed',
    (name, value) => `${name}=${decodeURIComponent(value).split('.')[0]}`,
    'flow_cookie_invalid',
    /bad signature/,
  ],
  [
    'signed with another secret',
    (name, value) => `${name}=${signed(flowOf(value), 'someone-elses-secret-0123456789abcdef')}`,
    'flow_cookie_invalid',
    /bad signature/,
  ],
  [
    'validly signed, older than its 600 s lifetime',
    (name, value) =>
      `${name}=${signed({ ...flowOf(value), createdAt: now() - 601 }, testCookieSecret)}`,
    'flow_expired',
    /older than its lifetime/,
  ],
  [
    'validly signed, made in the future',
    (name, value) =>
      `${name}=${signed({ ...flowOf(value), createdAt: now() + 120 }, testCookieSecret)}`,
    'flow_expired',
    /lifetime/,
  ],
  [
    'validly signed, for another state',
    (name, value) =>
      `${name}=${signed({ ...flowOf(value), state: 'x'.repeat(43) }, testCookieSecret)}`,
    'state_mismatch',
    /signed state differs/,
  ],
  [
    'two cookies of the same name, the real one first',
    (name, value) =>
      `${name}=${value}; ${name}=${signed({ ...flowOf(value), nonce: 'planted' }, testCookieSecret)}`,
    'flow_cookie_invalid',
    /sent twice/,
  ],
  [
    'two cookies of the same name, a planted one first',
    (name, value) =>
      `${name}=${signed({ ...flowOf(value), nonce: 'planted' }, testCookieSecret)}; ${name}=${value}`,
    'flow_cookie_invalid',
    /sent twice/,
  ],
  [
    'two identical cookies',
    (name, value) => `${name}=${value}; ${name}=${value}`,
    'flow_cookie_invalid',
    /sent twice/,
  ],
  ['no cookie at all', () => 'unrelated=1', 'flow_cookie_missing', /no flow cookie/],
]

for (const [name, tamper, code, reason] of tampered) {
  t.test(name, async (t) => {
    const login = await stage.login()
    const [cookieName, value] = flowCookieOf(login)
    const { result, tokenRequests } = await callbackWithCookie(login, tamper(cookieName, value))
    t.match(result, refused(400, code, reason))
    t.equal(tokenRequests, 0, 'the token endpoint was not asked')
    if (code === 'flow_cookie_missing') {
      t.match(String(result.description), /blocks? cookies.*different host.*10 minutes/)
    }
  })
}

t.test('a cookie signed with an older secret still in the list is accepted', async (t) => {
  const login = await stage.login()
  const [cookieName, value] = flowCookieOf(login)
  const response = await login.browser.request(login.callbackUrl, {
    headers: {
      cookie: `${cookieName}=${signed(flowOf(value), oldSecret)}`,
      accept: 'application/json',
    },
  })
  t.equal(response.status, 200)
})

t.test('the cookie of an https deployment is __Host- prefixed and Secure', async (t) => {
  // The service only needs to believe its public URL is https for this; no TLS is involved.
  const secure = await startRealStage({
    MCP_REGISTRY_OIDC_PUBLIC_URL: 'https://registry.example.com',
  })
  const response = await fetch(`${secure.base}/v0/auth/oidc/start`, { redirect: 'manual' })
  const setCookie = response.headers.get('set-cookie') ?? ''
  t.match(setCookie, /^__Host-mcp_oidc_flow_[\w-]{16}=/)
  t.match(setCookie, /; Secure/)
  t.match(setCookie, /; Path=\//)
  t.notMatch(setCookie, /Domain=/i)
})

checkLogsLast([stage])
