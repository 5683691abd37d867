// A process squatting a loopback port, as any local process can: it tries to get a victim's
// registry token delivered to it. Without a PKCE challenge no login starts; with one, the squatter
// receives a sealed one-time code it cannot redeem without the verifier, and nothing it receives
// is a token. The token endpoint refuses every forged, altered, foreign, expired or misspelt code.

import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createLoopbackCodes } from '../../src/login/loopback-code.js'
import {
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'
import { testCookieSecret } from '../helpers/service.js'

const oldSecret = 'an-older-cookie-secret-still-accepted-0123'
const stage: RealStage = await startRealStage({
  MCP_REGISTRY_OIDC_COOKIE_SECRET: `${testCookieSecret},${oldSecret}`,
})

interface Squatter {
  readonly port: number
  /** Every request URL it received. */
  readonly received: string[]
}

async function startSquatter(): Promise<Squatter> {
  const received: string[] = []
  const server = createServer((request, response) => {
    received.push(request.url ?? '')
    response.end('thanks')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { port: (server.address() as AddressInfo).port, received }
}

const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

function redeem(body: Record<string, unknown> | string, contentType = 'application/json') {
  return fetch(`${stage.base}/v0/auth/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/** Follows the browser from `startUrl` through the login to wherever the service sends it. */
async function deliveredTo(startUrl: string): Promise<URL> {
  const login = await stage.login(undefined, startUrl)
  const answer = await login.browser.request(login.callbackUrl)
  t.equal(answer.status, 302, 'the callback redirects')
  return new URL(answer.headers.get('location') ?? 'x:')
}

t.test('a start link naming a squatted port without a challenge starts nothing', async (t) => {
  const squatter = await startSquatter()
  const target = encodeURIComponent(`http://127.0.0.1:${squatter.port}/x`)
  const cases: Array<[string, string, RegExp]> = [
    ['no challenge', `redirect_uri=${target}`, /without code_challenge/],
    [
      'a challenge but no method (plain by default)',
      `redirect_uri=${target}&code_challenge=${pkce().challenge}`,
      /not S256/,
    ],
    [
      'method plain',
      `redirect_uri=${target}&code_challenge=${pkce().challenge}&code_challenge_method=plain`,
      /not S256/,
    ],
    [
      'a challenge that is not base64url',
      `redirect_uri=${target}&code_challenge=${'%2B'.repeat(43)}&code_challenge_method=S256`,
      /malformed/,
    ],
    [
      'a challenge of 42 characters',
      `redirect_uri=${target}&code_challenge=${'a'.repeat(42)}&code_challenge_method=S256`,
      /malformed/,
    ],
  ]
  for (const [name, query, reason] of cases) {
    const browser = stage.browser()
    const result = await refusal(stage.service, () =>
      browser.request(`${stage.base}/v0/auth/oidc/start?${query}`, {
        headers: { accept: 'application/json' },
      }),
    )
    t.match(result, refused(400, 'invalid_request', reason), name)
    t.equal(result.headers.get('location'), null, `${name}: no redirect`)
    t.equal(result.headers.get('set-cookie'), null, `${name}: no cookie`)
  }
  t.same(squatter.received, [], 'the squatter received nothing')
})

t.test('with a challenge, the squatter receives a code it cannot redeem', async (t) => {
  const squatter = await startSquatter()
  const caller = pkce()
  const target = `http://127.0.0.1:${squatter.port}/x`
  const location = await deliveredTo(
    `${stage.base}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(target)}&state=caller-state&code_challenge=${caller.challenge}&code_challenge_method=S256`,
  )
  t.equal(`${location.origin}${location.pathname}`, target)
  await fetch(location)
  t.equal(squatter.received.length, 1, 'the squatter got its request')
  const received = new URL(squatter.received[0] ?? '', target)
  t.same([...received.searchParams.keys()], ['code', 'state'], 'a code and the state, nothing else')
  t.notMatch(received.href, JWT, 'no token in what it received')
  const code = received.searchParams.get('code') ?? ''
  stage.secrets.add(code)
  t.equal(code.split('.').length, 5, 'the code is a compact JWE')
  t.notMatch(
    Buffer.from(code.split('.')[3] ?? '', 'base64url').toString('latin1'),
    /eyJ/,
    'its content is encrypted, not merely encoded',
  )

  const guesses = [pkce().verifier, caller.challenge, 'a'.repeat(43), 'A'.repeat(128)]
  for (const guess of guesses) {
    t.match(
      await refusal(stage.service, () => redeem({ code, code_verifier: guess })),
      refused(400, 'invalid_grant', /^code verifier mismatch$/),
      'a guessed verifier',
    )
  }
  const owner = await redeem({ code, code_verifier: caller.verifier })
  t.equal(owner.status, 200, 'the caller who holds the verifier redeems it')
  const { registry_token } = (await owner.json()) as { registry_token: string }
  stage.secrets.add(registry_token)
})

t.test('codes that are forged, altered, foreign or expired are refused', async (t) => {
  const caller = pkce()
  const squatted = `http://127.0.0.1:${(await startSquatter()).port}/x`
  const location = await deliveredTo(
    `${stage.base}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(squatted)}&code_challenge=${caller.challenge}&code_challenge_method=S256`,
  )
  const code = location.searchParams.get('code') ?? ''
  stage.secrets.add(code)
  const parts = code.split('.')
  const flip = (part: string) => `${part.slice(0, 5)}${part[5] === 'A' ? 'B' : 'A'}${part.slice(6)}`
  const withPart = (index: number, value: string) =>
    parts.map((part, i) => (i === index ? value : part)).join('.')
  const issued = { registry_token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln', expires_at: 4_102_444_800 }
  const now = Math.floor(Date.now() / 1000)
  const sealedWith = (secrets: string[], audience = 'http://127.0.0.1') =>
    createLoopbackCodes(secrets, audience)
  const ownAudience = stage.base
  const cases: Array<[string, string, RegExp]> = [
    ['a made-up code', 'not-a-code', /not sealed by this service/],
    ['the ciphertext altered', withPart(3, flip(parts[3] ?? '')), /not sealed/],
    ['the tag altered', withPart(4, flip(parts[4] ?? '')), /not sealed/],
    ['the IV altered', withPart(2, flip(parts[2] ?? '')), /not sealed/],
    [
      'the header altered (kid)',
      withPart(0, Buffer.from('{"alg":"dir","enc":"A256GCM","kid":"x"}').toString('base64url')),
      /not sealed/,
    ],
    [
      'sealed by another deployment (another secret)',
      await sealedWith(['another-deployments-cookie-secret-0123456789'], ownAudience).seal(
        issued,
        caller.challenge,
      ),
      /not sealed/,
    ],
    [
      'sealed with this secret for another deployment (audience)',
      await sealedWith([testCookieSecret], 'https://elsewhere.example').seal(
        issued,
        caller.challenge,
      ),
      /not sealed/,
    ],
    [
      'made 91 s ago (60 s and 30 s of skew)',
      await sealedWith([testCookieSecret], ownAudience).seal(issued, caller.challenge, now - 91),
      /^code expired$/,
    ],
  ]
  for (const [name, forged, reason] of cases) {
    t.match(
      await refusal(stage.service, () => redeem({ code: forged, code_verifier: caller.verifier })),
      refused(400, 'invalid_grant', reason),
      name,
    )
  }
  const lateButInSkew = await sealedWith([testCookieSecret], ownAudience).seal(
    issued,
    caller.challenge,
    now - 80,
  )
  t.equal(
    (await redeem({ code: lateButInSkew, code_verifier: caller.verifier })).status,
    200,
    'made 80 s ago: within the 30 s allowed between replicas',
  )
  const rotated = await sealedWith([oldSecret], ownAudience).seal(issued, caller.challenge)
  t.equal(
    (await redeem({ code: rotated, code_verifier: caller.verifier })).status,
    200,
    'sealed with the older of the rotated secrets: still opens',
  )
  t.equal((await redeem({ code, code_verifier: caller.verifier })).status, 200, 'the real one')
})

t.test('a wrong shape is invalid_request', async (t) => {
  const { verifier } = pkce()
  const form = 'application/x-www-form-urlencoded'
  const cases: Array<[string, () => Promise<Response>, RegExp]> = [
    ['no verifier', () => redeem({ code: 'a.b.c.d.e' }), /code_verifier/],
    ['no code', () => redeem({ code_verifier: verifier }), /code/],
    [
      'a verifier of 42 characters',
      () => redeem({ code: 'x', code_verifier: 'a'.repeat(42) }),
      /pattern/,
    ],
    [
      'a verifier with a space',
      () => redeem({ code: 'x', code_verifier: `${'a'.repeat(42)} ` }),
      /pattern/,
    ],
    ['a number as code', () => redeem({ code: 7, code_verifier: verifier }), /string/],
    [
      'an unknown field',
      () => redeem({ code: 'x', code_verifier: verifier, scope: 'all' }),
      /additional/,
    ],
    [
      'grant_type refresh_token',
      () => redeem({ code: 'x', code_verifier: verifier, grant_type: 'refresh_token' }),
      /constant|const/,
    ],
    [
      'a form without grant_type',
      () => redeem(`code=x&code_verifier=${verifier}`, form),
      /grant_type is missing/,
    ],
    [
      'a form with the code twice',
      () => redeem(`grant_type=authorization_code&code=x&code=y&code_verifier=${verifier}`, form),
      /code is given twice/,
    ],
    [
      'a form with __proto__',
      () =>
        redeem(`grant_type=authorization_code&code=x&code_verifier=${verifier}&__proto__=x`, form),
      /additional/,
    ],
    ['JSON that is not an object', () => redeem('"code"'), /object/],
  ]
  for (const [name, act, reason] of cases) {
    t.match(await refusal(stage.service, act), refused(400, 'invalid_request', reason), name)
  }
  t.match(
    await refusal(stage.service, () => redeem('code=x', 'text/plain')),
    refused(415, 'unsupported_media_type'),
    'text/plain',
  )
  const get = await fetch(`${stage.base}/v0/auth/oidc/token`)
  t.equal(get.status, 405, 'GET is not a way to redeem')
  t.equal(get.headers.get('allow'), 'POST')
})

checkLogsLast([stage])
