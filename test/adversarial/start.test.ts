// Open-redirect tricks and oversized input at GET /start: refused with 400, no redirect and no
// cookie, so nothing leaves for the provider. (test/login/redirect-target.test.ts judges many more
// spellings directly; these go through HTTP, as a browser or a CLI would send them.)

import { connect } from 'node:net'
import t from 'tap'
import {
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'
import { loginUntilCallback } from '../helpers/login.js'

const stage: RealStage = await startRealStage({
  MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST: 'https://app.example.com/after-login',
})

const tricks: Array<[string, string]> = [
  ['scheme-relative', '//evil.example/cb'],
  ['backslash', '/\\evil.example/cb'],
  ['no slashes after the scheme', 'https:evil.example/cb'],
  ['allow-listed host as userinfo', 'https://app.example.com@evil.example/after-login'],
  ['loopback as userinfo', 'http://127.0.0.1:8085@evil.example/cb'],
  ['javascript:', 'javascript:alert(document.cookie)'],
  ['data:', 'data:text/html,<script>alert(1)</script>'],
  ['percent-encoded slashes in the path', 'http://127.0.0.1:8085/%2F%2Fevil.example/cb'],
  ['percent-encoded scheme separator', 'http:%2F%2Fevil.example/cb'],
  ['percent-encoded whole URL', 'https%3A%2F%2Fevil.example%2Fcb'],
  ['CR/LF', 'http://127.0.0.1:8085/cb\r\nLocation: https://evil.example/'],
  ['percent-encoded CR/LF', 'http://127.0.0.1:8085/cb%0d%0aLocation:%20https://evil.example/'],
  ['127.0.0.2', 'http://127.0.0.2:8085/cb'],
  ['127.1', 'http://127.1:8085/cb'],
  ['0.0.0.0', 'http://0.0.0.0:8085/cb'],
  ['2130706433', 'http://2130706433:8085/cb'],
  ['0x7f000001', 'http://0x7f000001:8085/cb'],
  ['[::ffff:127.0.0.1]', 'http://[::ffff:127.0.0.1]:8085/cb'],
  ['localhost.evil.com', 'http://localhost.evil.com:8085/cb'],
  ['port 0', 'http://127.0.0.1:0/cb'],
  ['port 65536', 'http://127.0.0.1:65536/cb'],
  ['no port', 'http://127.0.0.1/cb'],
  ['https loopback (RFC 8252 loopback is http)', 'https://127.0.0.1:8085/cb'],
  ['allow-listed URL with a fragment', 'https://app.example.com/after-login#x'],
  ['allow-listed URL with another path', 'https://app.example.com/after-login/../admin'],
  ['oversized (2049 characters)', `http://127.0.0.1:8085/${'a'.repeat(2049 - 22)}`],
]

async function start(query: string, prefix = '/v0') {
  return refusal(stage.service, () =>
    fetch(`${stage.base}${prefix}/auth/oidc/start?${query}`, { redirect: 'manual' }),
  )
}

t.test('open-redirect tricks', async (t) => {
  for (const [name, target] of tricks) {
    t.test(name, async (t) => {
      for (const prefix of ['/v0', '/v0.1']) {
        const result = await start(`redirect_uri=${encodeURIComponent(target)}`, prefix)
        t.match(result, refused(400, 'redirect_uri_not_allowed'), prefix)
        t.equal(result.headers.get('location'), null, 'no redirect')
        t.equal(result.headers.get('set-cookie'), null, 'no cookie')
      }
    })
  }
  t.test('CR/LF sent raw ends the request line: nothing after it is reflected', async (t) => {
    // fetch will not send it. A raw CR/LF cannot be part of a URL: the HTTP parser ends the
    // request target there, so the service judges only what came before it.
    const socket = connect(Number(new URL(stage.base).port), '127.0.0.1')
    socket.write(
      'GET /v0/auth/oidc/start?redirect_uri=http://127.0.0.1:8085/cb\r\nLocation: https://evil.example/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    )
    const answer = await new Promise<string>((resolve) => {
      let text = ''
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1')
      })
      socket.on('close', () => resolve(text))
      socket.on('error', () => resolve(text))
    })
    t.match(answer, /^HTTP\/1\.1 (302|400) /)
    t.notMatch(answer, /evil\.example/, 'no injected header or target')
  })
})

t.test('repeated or oversized parameters', async (t) => {
  const loopback = encodeURIComponent('http://127.0.0.1:8085/cb')
  t.match(
    await start(
      `redirect_uri=${loopback}&redirect_uri=${encodeURIComponent('https://evil.example/')}`,
    ),
    refused(400, 'redirect_uri_not_allowed', /given once/),
    'redirect_uri twice',
  )
  t.match(
    await start(`redirect_uri=${loopback}&redirect_uri=${loopback}`),
    refused(400, 'redirect_uri_not_allowed', /given once/),
    'redirect_uri twice, same value',
  )
  t.match(
    await start(`state=${'s'.repeat(513)}`),
    refused(400, 'invalid_request', /state/),
    'state of 513 characters',
  )
  t.match(await start(`state=a&state=b`), refused(400, 'invalid_request', /state/), 'state twice')
  t.match(
    await start(`state=${encodeURIComponent('line\nbreak')}`),
    refused(400, 'invalid_request', /state/),
    'state with a control character',
  )
  t.match(
    await start(`state=${encodeURIComponent('é'.repeat(10))}`),
    refused(400, 'invalid_request', /state/),
    'state outside printable ASCII',
  )
})

t.test('the largest accepted request still fits its cookie and completes', async (t) => {
  const target = `http://127.0.0.1:8085/${'a'.repeat(2048 - 22)}`
  t.equal(target.length, 2048)
  const challenge = `code_challenge=${'c'.repeat(128)}&code_challenge_method=S256`
  const startUrl = `${stage.base}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(target)}&state=${'~'.repeat(512)}&${challenge}`
  const first = await fetch(startUrl, { redirect: 'manual' })
  const cookie = first.headers.get('set-cookie') ?? ''
  t.ok(
    cookie.length <= 4096,
    `the flow cookie is ${cookie.length} bytes with its attributes, within the 4096 browsers keep`,
  )

  const login = await loginUntilCallback(startUrl, stage.browser())
  stage.secrets.add(login.callbackUrl.searchParams.get('code') ?? '')
  const done = await login.browser.request(login.callbackUrl)
  t.equal(done.status, 302)
  const location = new URL(done.headers.get('location') ?? '')
  t.equal(`${location.origin}${location.pathname}`, target)
  t.equal(location.searchParams.get('state'), '~'.repeat(512))
})

t.test('allowed targets still redirect to the provider', async (t) => {
  for (const target of [
    'http://127.0.0.1:8085/cb',
    'http://[::1]:8085/cb',
    'http://localhost:8085/cb',
    'https://app.example.com/after-login',
  ]) {
    const challenge = `code_challenge=${'c'.repeat(43)}&code_challenge_method=S256`
    const response = await fetch(
      `${stage.base}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(target)}&${challenge}`,
      { redirect: 'manual' },
    )
    t.equal(response.status, 302, target)
    t.match(response.headers.get('location'), stage.provider.issuer)
  }
})

checkLogsLast([stage])
