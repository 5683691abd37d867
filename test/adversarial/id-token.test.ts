// ID tokens a hostile provider (or a hostile caller of the exchange) might present. Each scenario
// runs through the browser login (the misbehaving provider's token endpoint answers the crafted
// token: openid-client's checks, then the service's own) and, where it does not depend on the
// login's nonce, through POST /v0/auth/oidc (the service's own checks alone). The logged reason
// shows which check refused it.

import t, { type Test } from 'tap'
import {
  checkLogsLast,
  type HostileStage,
  refusal,
  refused,
  startHostileStage,
} from '../helpers/adversarial.js'
import {
  createSigningKey,
  hmacJwt,
  publicKeyPem,
  type SigningKey,
  unsecuredJwt,
} from '../helpers/misbehaving-provider.js'

type Claims = (overrides?: Record<string, unknown>) => Record<string, unknown>

interface Scenario {
  readonly name: string
  /** Builds the token from valid claims for the login (or for the exchange: no nonce). */
  readonly token: (claims: Claims, stage: HostileStage) => Promise<string> | string
  /** undefined: accepted. */
  readonly refusedFor?: RegExp
  /** The scenario is about the login's nonce: the exchange has none. */
  readonly loginOnly?: boolean
}

const rsa = await createSigningKey('RS256')
const ec = await createSigningKey('ES256')
const secondRsa = await createSigningKey('RS256')
const attacker = await createSigningKey('RS256')

const stages: HostileStage[] = []
async function stage(env: Record<string, string> = {}, keys: SigningKey[] = [rsa, ec]) {
  const created = await startHostileStage(env, { keys })
  stages.push(created)
  return created
}

const main = await stage()

const now = () => Math.floor(Date.now() / 1000)

/** Flips one character in the middle of the signature, where every bit counts. */
function corruptSignature(jwt: string): string {
  const [header, payload, signature = ''] = jwt.split('.')
  const middle = Math.floor(signature.length / 2)
  const flipped = signature[middle] === 'A' ? 'B' : 'A'
  return `${header}.${payload}.${signature.slice(0, middle)}${flipped}${signature.slice(middle + 1)}`
}

function withPayload(jwt: string, claims: Record<string, unknown>): string {
  const [header, , signature] = jwt.split('.')
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
}

const scenarios: Scenario[] = [
  { name: 'a valid RS256 token', token: (claims, s) => s.provider.sign(claims()) },
  {
    name: 'a valid ES256 token',
    token: (claims, s) => s.provider.sign(claims(), { key: ec }),
  },
  {
    name: 'RS256 signature made by another key under the provider kid',
    token: (claims, s) => s.provider.sign(claims(), { key: attacker, header: { kid: rsa.kid } }),
    refusedFor: /signature/,
  },
  {
    name: 'RS256 payload changed after signing (sub: admin)',
    token: async (claims, s) =>
      withPayload(await s.provider.sign(claims()), claims({ sub: 'admin' })),
    refusedFor: /signature/,
  },
  {
    name: 'ES256 signature corrupted',
    token: async (claims, s) => corruptSignature(await s.provider.sign(claims(), { key: ec })),
    refusedFor: /signature/,
  },
  {
    name: 'alg none',
    token: (claims) => unsecuredJwt(claims(), { kid: rsa.kid }),
    refusedFor: /alg|algorithm/,
  },
  {
    name: 'HS256 keyed with the provider RSA public key (key confusion)',
    token: async (claims) => hmacJwt(claims(), await publicKeyPem(rsa), { kid: rsa.kid }),
    refusedFor: /alg|algorithm/,
  },
  {
    name: 'HS256 keyed with the client secret',
    token: (claims, s) => hmacJwt(claims(), s.provider.clientSecret),
    refusedFor: /alg|algorithm/,
  },
  {
    name: 'jku header pointing at the attacker key set',
    token: (claims, s) =>
      s.provider.sign(claims(), {
        key: attacker,
        header: { kid: attacker.kid, jku: s.provider.attackerJwksUrl },
      }),
    refusedFor: /key/,
  },
  {
    name: 'jwk header embedding the attacker key',
    token: (claims, s) =>
      s.provider.sign(claims(), {
        key: attacker,
        header: { kid: attacker.kid, jwk: attacker.publicJwk },
      }),
    refusedFor: /key/,
  },
  {
    name: 'x5u header pointing at the attacker, provider kid',
    token: (claims, s) =>
      s.provider.sign(claims(), {
        key: attacker,
        header: { kid: rsa.kid, x5u: s.provider.attackerJwksUrl },
      }),
    refusedFor: /signature/,
  },
  {
    name: 'a crit header the service does not understand',
    token: (claims, s) =>
      s.provider.sign(claims(), {
        header: { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true },
      }),
    refusedFor: /crit|Extension/,
  },
  {
    name: 'issuer with a trailing slash',
    token: (claims, s) => s.provider.sign(claims({ iss: `${s.provider.issuer}/` })),
    refusedFor: /iss/,
  },
  {
    name: "issuer off by a letter's case",
    token: (claims, s) =>
      s.provider.sign(claims({ iss: s.provider.issuer.replace('Test', 'test') })),
    refusedFor: /iss/,
  },
  {
    name: 'audience missing',
    token: (claims, s) => s.provider.sign(claims({ aud: undefined })),
    refusedFor: /aud/,
  },
  {
    name: 'audience of another client',
    token: (claims, s) => s.provider.sign(claims({ aud: 'another-client' })),
    refusedFor: /aud/,
  },
  {
    name: 'several audiences, no azp',
    token: (claims, s) => s.provider.sign(claims({ aud: [s.provider.clientId, 'another-client'] })),
    refusedFor: /aud|azp/,
  },
  {
    name: 'several audiences, azp of another client',
    token: (claims, s) =>
      s.provider.sign(
        claims({ aud: [s.provider.clientId, 'another-client'], azp: 'another-client' }),
      ),
    refusedFor: /azp/,
  },
  {
    name: 'several audiences, azp = this client',
    token: (claims, s) =>
      s.provider.sign(
        claims({ aud: [s.provider.clientId, 'another-client'], azp: s.provider.clientId }),
      ),
  },
  {
    name: 'sub missing',
    token: (claims, s) => s.provider.sign(claims({ sub: undefined })),
    refusedFor: /sub/,
  },
  {
    name: 'exp 60 s in the past',
    token: (claims, s) => s.provider.sign(claims({ iat: now() - 360, exp: now() - 60 })),
    refusedFor: /exp/,
  },
  {
    name: 'exp 15 s in the past (inside the 30 s tolerance)',
    token: (claims, s) => s.provider.sign(claims({ iat: now() - 315, exp: now() - 15 })),
  },
  {
    name: 'iat 60 s in the future',
    token: (claims, s) => s.provider.sign(claims({ iat: now() + 60 })),
    refusedFor: /iat/,
  },
  {
    name: 'iat 15 s in the future (inside the tolerance)',
    token: (claims, s) => s.provider.sign(claims({ iat: now() + 15 })),
  },
  {
    name: 'nbf 60 s in the future',
    token: (claims, s) => s.provider.sign(claims({ nbf: now() + 60 })),
    refusedFor: /nbf/,
  },
  {
    name: 'nbf 15 s in the future (inside the tolerance)',
    token: (claims, s) => s.provider.sign(claims({ nbf: now() + 15 })),
  },
  // RFC 8725 section 3.11: another JWT of the provider, signed with the same key, is no ID token.
  {
    name: 'typ application/jwt',
    token: (claims, s) => s.provider.sign(claims(), { header: { typ: 'application/jwt' } }),
  },
  {
    name: 'no typ',
    token: (claims, s) => s.provider.sign(claims(), { header: { typ: undefined } }),
  },
  {
    name: 'an access token (typ at+jwt, RFC 9068)',
    token: (claims, s) =>
      s.provider.sign(claims({ client_id: s.provider.clientId, scope: 'openid' }), {
        header: { typ: 'at+jwt' },
      }),
    refusedFor: /^the header typ is not JWT/,
  },
  {
    name: 'an access token (typ application/at+jwt)',
    token: (claims, s) => s.provider.sign(claims(), { header: { typ: 'application/at+jwt' } }),
    refusedFor: /^the header typ is not JWT/,
  },
  {
    name: 'a back-channel logout token (typ logout+jwt, events)',
    token: (claims, s) =>
      s.provider.sign(
        claims({
          jti: 'logout-1',
          events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
        }),
        { header: { typ: 'logout+jwt' } },
      ),
    refusedFor: /^the header typ is not JWT/,
  },
  {
    name: 'a logout token typed JWT (events claim)',
    token: (claims, s) =>
      s.provider.sign(
        claims({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }),
      ),
    refusedFor: /^the token carries an events claim/,
  },
  {
    name: 'a security event token (typ secevent+jwt)',
    token: (claims, s) =>
      s.provider.sign(claims({ events: {} }), { header: { typ: 'secevent+jwt' } }),
    refusedFor: /^the header typ is not JWT/,
  },
  {
    name: 'typ not a string',
    token: (claims, s) => s.provider.sign(claims(), { header: { typ: 1 } }),
    refusedFor: /typ/,
  },
  {
    name: 'nonce of another value',
    token: (claims, s) => s.provider.sign(claims({ nonce: 'not-the-nonce-of-this-login' })),
    refusedFor: /nonce/,
    loginOnly: true,
  },
  {
    name: 'nonce missing',
    token: (claims, s) => s.provider.sign(claims({ nonce: undefined })),
    refusedFor: /nonce/,
    loginOnly: true,
  },
]

/** Claims for the exchange: what the provider would put in a token obtained elsewhere, no nonce. */
function exchangeClaims(s: HostileStage): Claims {
  return (overrides = {}) => {
    const issuedAt = now()
    const claims: Record<string, unknown> = {
      iss: s.provider.issuer,
      aud: s.provider.clientId,
      sub: 'alice',
      iat: issuedAt,
      exp: issuedAt + 300,
      ...overrides,
    }
    return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined))
  }
}

async function viaLogin(s: HostileStage, scenario: Scenario) {
  s.provider.tokenEndpoint = { idToken: (context) => scenario.token(context.claims, s) }
  const login = await s.login()
  const calls = s.provider.tokenCalls.length
  const result = await refusal(s.service, () => s.finish(login))
  s.provider.reset()
  return { result, tokenEndpointCalled: s.provider.tokenCalls.length === calls + 1 }
}

async function viaExchange(s: HostileStage, scenario: Scenario) {
  const token = await scenario.token(exchangeClaims(s), s)
  s.provider.secrets.add(token)
  return refusal(s.service, () =>
    fetch(`${s.base}/v0/auth/oidc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ oidc_token: token }),
    }),
  )
}

function expectOutcome(t: Test, result: Awaited<ReturnType<typeof refusal>>, scenario: Scenario) {
  if (scenario.refusedFor === undefined) {
    t.match(result, { status: 200, logged: 0 }, 'accepted')
  } else {
    t.match(result, refused(401, 'id_token_invalid', scenario.refusedFor), 'refused')
    t.comment(`reason: ${String(result.reason)}`)
  }
}

t.test('through the browser login', async (t) => {
  for (const scenario of scenarios) {
    t.test(scenario.name, async (t) => {
      const { result, tokenEndpointCalled } = await viaLogin(main, scenario)
      t.ok(tokenEndpointCalled, 'the token endpoint was asked once')
      expectOutcome(t, result, scenario)
    })
  }
})

t.test('through POST /v0/auth/oidc', async (t) => {
  for (const scenario of scenarios.filter((s) => !s.loginOnly)) {
    t.test(scenario.name, async (t) => {
      expectOutcome(t, await viaExchange(main, scenario), scenario)
    })
  }
})

t.test('no attacker URL from a header was ever fetched', async (t) => {
  t.equal(main.provider.attackerFetches, 0)
})

t.test('a nonce replayed from another flow of the same browser', async (t) => {
  const browser = main.browser()
  const first = await main.login(browser)
  const firstNonce = main.provider.authorizationRequests.at(-1)?.nonce
  t.ok(firstNonce)
  main.provider.tokenEndpoint = {
    idToken: (context) => main.provider.sign(context.claims({ nonce: firstNonce })),
  }
  const second = await main.login(browser)
  t.match(
    await refusal(main.service, () => main.finish(second)),
    refused(401, 'id_token_invalid', /nonce/),
  )
  main.provider.reset()
  t.match(
    await refusal(main.service, () => main.finish(first)),
    { status: 200 },
    'the first flow still completes',
  )
})

t.test('kid missing', async (t) => {
  const unnamed: Scenario = {
    name: 'no kid',
    token: (claims, s) => s.provider.sign(claims(), { header: { kid: undefined } }),
  }
  t.test('with one key in the set: accepted', async (t) => {
    const single = await stage({}, [rsa])
    expectOutcome(t, (await viaLogin(single, unnamed)).result, unnamed)
    expectOutcome(t, await viaExchange(single, unnamed), unnamed)
  })
  t.test('with several keys of its type: refused as ambiguous', async (t) => {
    const ambiguous = { ...unnamed, refusedFor: /kid|multiple|several/ }
    const several = await stage({}, [rsa, secondRsa])
    expectOutcome(t, (await viaLogin(several, ambiguous)).result, ambiguous)
    expectOutcome(t, await viaExchange(several, ambiguous), ambiguous)
  })
})

t.test('a signing key that appears after the first login is fetched and accepted', async (t) => {
  // A cooldown of 0 lets the test rotate keys without waiting out the default 30 s.
  const rotating = await stage({ MCP_REGISTRY_OIDC_JWKS_REFETCH_COOLDOWN_MS: '0' }, [rsa])
  const valid: Scenario = { name: 'valid', token: (claims, s) => s.provider.sign(claims()) }
  expectOutcome(t, (await viaLogin(rotating, valid)).result, valid)

  const next = await createSigningKey('RS256')
  const fetchesBefore = rotating.provider.jwksFetches
  // The new set also carries entries of types the service cannot use, which it must skip.
  const strangers = [
    { kty: 'oct', k: 'c2hhcmVkLXNlY3JldC1ub2JvZHktc2hvdWxkLXVzZQ', kid: 'shared' },
    { kty: 'OKP', crv: 'X25519', x: 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo', use: 'enc' },
    { kty: 'AKP', alg: 'ML-DSA-44', pub: 'AAAA', kid: 'post-quantum' },
    { kty: 'made-up', kid: 'mystery' },
  ]
  const rotated = (s: HostileStage) => {
    s.provider.jwks = [rsa, next, ...strangers]
    s.provider.signingKey = next
  }
  rotated(rotating)
  const afterRotation = await viaLogin(rotating, {
    ...valid,
    token: (claims, s) => s.provider.sign(claims(), { key: next }),
  })
  expectOutcome(t, afterRotation.result, valid)
  t.equal(rotating.provider.jwksFetches, fetchesBefore + 1, 'one JWKS fetch for the new kid')
  rotated(rotating)
  expectOutcome(
    t,
    await viaExchange(rotating, {
      ...valid,
      token: (claims, s) => s.provider.sign(claims(), { key: next }),
    }),
    valid,
  )
  t.equal(rotating.provider.jwksFetches, fetchesBefore + 1, 'the exchange reuses the fetched set')
  rotating.provider.reset()
})

t.test('a flood of unknown kids does not turn into a flood of JWKS fetches', async (t) => {
  const fetchesBefore = main.provider.jwksFetches
  const unknownKid = (index: number): Scenario => ({
    name: `unknown kid ${index}`,
    token: (claims, s) =>
      s.provider.sign(claims(), { key: attacker, header: { kid: `made-up-${index}` } }),
    refusedFor: /key/,
  })
  const exchanges = await Promise.all(
    Array.from({ length: 40 }, (_, index) => viaExchange(main, unknownKid(index))),
  )
  t.ok(
    exchanges.every((result) => result.status === 401 && result.error === 'id_token_invalid'),
    '40 exchanges refused',
  )
  for (let index = 40; index < 43; index++) {
    expectOutcome(t, (await viaLogin(main, unknownKid(index))).result, unknownKid(index))
  }
  t.equal(main.provider.jwksFetches, fetchesBefore, 'no fetch within the cooldown')
})

checkLogsLast(stages)
