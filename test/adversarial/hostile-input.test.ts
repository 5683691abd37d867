// Input that is not the service's own, sent the way an attacker would: cookies planted by a
// sibling sub-domain, a Cookie header stuffed with junk flow cookies, inputs whose flow cookie
// would outgrow what browsers keep, caller text in a provider error, X-Forwarded-For from a peer
// that is not a trusted proxy. None of them yields a 5xx, an oversized cookie or caller text in
// the log.

import { request as httpRequest } from 'node:http'
import t from 'tap'
import {
  callbackWith,
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'

const stage: RealStage = await startRealStage()
const stages = [stage]

interface RawAnswer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** A GET with a Cookie header sent byte for byte (latin1), which fetch would refuse or re-encode. */
function rawGet(url: string, cookie: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers: { cookie, accept: 'application/json' } }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => {
        body += chunk
      })
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      )
    })
      .on('error', reject)
      .end()
  })
}

const utf8AsLatin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1')
const ownName = (index: number) => `mcp_oidc_flow_${String(index).padStart(16, 'A')}`
const setCookies = (answer: RawAnswer) => (answer.headers['set-cookie'] ?? []) as string[]

/** Log lines written since `mark` at warn level or above, or naming an error. */
function troubleSince(mark: number) {
  return stage.service.logs
    .entries()
    .slice(mark)
    .filter((entry) => (entry.level as number) >= 40 || entry.error !== undefined)
}

t.test('cookies that are not the service own are ignored, whatever their names', async (t) => {
  const foreign: Array<[string, string]> = [
    ['a space in a flow-prefixed name', 'mcp_oidc_flow_a b=x'],
    ['a non-ASCII flow-prefixed name', utf8AsLatin1('mcp_oidc_flow_ü=x')],
    ['a non-ASCII value', utf8AsLatin1('mcp_oidc_flow_x=ü')],
    ['the bare prefix', 'mcp_oidc_flow_=x'],
    ['a flow-prefixed name one character too long', `${ownName(1)}A=x`],
    ['a name with a slash', 'mcp_oidc_flow_aaaaaaaa/aaaaaaa=x'],
    ['the __Host- prefix on http', `__Host-${ownName(1)}=x`],
    ['prototype names', '__proto__=x; constructor=y; toString=z; hasOwnProperty=w'],
    ['empty names and values', '=x; ==; ;;; a=; =; b'],
    ['a broken percent-escape in the value', 'a=%E0%A4%A'],
    ['quotes and separators', 'a="b; c=\\"d\\""; e=(f)'],
    ['high bytes', 'a\xffb=\xff\xfe'],
  ]
  for (const [name, cookie] of foreign) {
    const mark = stage.service.logs.lines.length
    const answer = await rawGet(`${stage.base}/v0/auth/oidc/start`, cookie)
    t.equal(answer.status, 302, `${name}: the login starts`)
    t.ok(
      setCookies(answer).every((line) => /^mcp_oidc_flow_[\w-]{16}=/.test(line)),
      `${name}: only the service's own cookies are set or cleared`,
    )
    t.same(troubleSince(mark), [], `${name}: nothing logged as a problem`)

    const callback = await rawGet(`${stage.base}/v0/auth/oidc/callback?state=x&code=y`, cookie)
    t.equal(callback.status, 400, `${name}: the callback refuses`)
    t.equal(JSON.parse(callback.body).error, 'flow_cookie_missing', `${name}: no login cookie`)
  }

  const mark = stage.service.logs.lines.length
  const junk = await rawGet(`${stage.base}/v0/auth/oidc/start`, `${ownName(2)}=%E0%A4%A`)
  t.equal(junk.status, 302, 'a junk value under a flow cookie name: the login starts')
  t.match(setCookies(junk)[0], `${ownName(2)}=;`, 'and the junk is cleared')
  t.same(troubleSince(mark), [], 'nothing logged as a problem')

  // A real login still completes with a foreign cookie beside its own.
  const login = await stage.login()
  const own = [...login.browser.cookies(stage.base)].map(([n, v]) => `${n}=${v}`).join('; ')
  const done = await rawGet(login.callbackUrl.href, `mcp_oidc_flow_a b=x; ${own}`)
  t.equal(done.status, 200, 'a login finishes beside a planted cookie')
  stage.secrets.add(JSON.parse(done.body).registry_token)
})

t.test('a Cookie header stuffed with junk flow cookies clears a bounded number', async (t) => {
  const junk = Array.from({ length: 400 }, (_, index) => `${ownName(index)}=junk`).join('; ')
  const answer = await rawGet(`${stage.base}/v0/auth/oidc/start`, junk)
  t.equal(answer.status, 302)
  t.equal(setCookies(answer).length, 11, '10 stale cookies cleared, and the new one set')
  const short = Array.from({ length: 700 }, (_, index) => `mcp_oidc_flow_${index}=x`).join('; ')
  const other = await rawGet(`${stage.base}/v0/auth/oidc/start`, short)
  t.equal(other.status, 302)
  t.equal(setCookies(other).length, 1, '700 cookies of other names: only the new one is set')
})

t.test('an input whose flow cookie would outgrow 4096 bytes is refused', async (t) => {
  const challenge = `code_challenge=${'c'.repeat(128)}&code_challenge_method=S256`
  const base = 'http://127.0.0.1:8085/cb?q='
  const cases: Array<[string, string]> = [
    // the WHATWG parser percent-encodes '"' in a query: 3 bytes each
    ['a 2048-character target whose query is all "', base + '"'.repeat(2048 - base.length)],
    [
      'a 2048-character target and a state of 512 backslashes (JSON escaping)',
      `${base}${'a'.repeat(2048 - base.length)}&state=${encodeURIComponent('\\'.repeat(512))}`,
    ],
  ]
  for (const [name, target] of cases) {
    const [uri, state] = target.split('&state=')
    const query = `redirect_uri=${encodeURIComponent(uri ?? '')}${state ? `&state=${state}` : ''}&${challenge}`
    const result = await refusal(stage.service, () =>
      fetch(`${stage.base}/v0/auth/oidc/start?${query}`, { redirect: 'manual' }),
    )
    t.match(result, refused(400, 'invalid_request', /^flow cookie of \d+ bytes$/), name)
    t.comment(`reason: ${String(result.reason)}`)
    t.equal(result.headers.get('set-cookie'), null, `${name}: no cookie`)
    t.equal(result.headers.get('location'), null, `${name}: no redirect`)
  }
})

t.test('a provider error is logged by its registered code only', async (t) => {
  const cases: Array<[string, string]> = [
    ['access_denied', 'provider error access_denied'],
    ['login_required', 'provider error login_required'],
    ['consent_required', 'provider error consent_required'],
    ['made_up', 'provider error other'],
    ['access_denied\nforged log line', 'provider error other'],
    ['<script>alert(1)</script>', 'provider error other'],
  ]
  for (const [error, reason] of cases) {
    const login = await stage.login()
    const state = login.callbackUrl.searchParams.get('state') ?? ''
    const result = await refusal(stage.service, () =>
      login.browser.request(callbackWith(login, { state, error }), {
        headers: { accept: 'application/json' },
      }),
    )
    t.match(result, { ...refused(400, 'idp_error'), reason }, JSON.stringify(error))
    t.match(result.description, 'The identity provider refused the login', 'shown to the user')
  }
})

t.test('X-Forwarded-For from a peer that is not trusted: one warning per instance', async (t) => {
  const untrusted = await startRealStage()
  const trusted = await startRealStage({ MCP_REGISTRY_OIDC_TRUST_PROXY: '127.0.0.1' })
  stages.push(untrusted, trusted)
  const warnings = (s: RealStage) =>
    s.service.logs
      .entries()
      .filter(
        (entry) =>
          entry.level === 40 && String(entry.msg).includes('MCP_REGISTRY_OIDC_TRUST_PROXY'),
      )
  for (const s of [untrusted, trusted, stage]) {
    for (const path of ['/v0/auth/oidc/start', '/healthz', '/v0/auth/oidc/start']) {
      await fetch(`${s.base}${path}`, {
        redirect: 'manual',
        headers: { 'x-forwarded-for': '198.51.100.7' },
      })
    }
  }
  t.equal(warnings(untrusted).length, 1, 'one warning for three requests')
  t.match(warnings(untrusted)[0], { peer: '127.0.0.1' })
  t.equal(warnings(stage).length, 1, 'another instance in the same process warns as well, once')
  t.equal(warnings(trusted).length, 0, 'no warning when the peer is a trusted proxy')
})

checkLogsLast(stages)
