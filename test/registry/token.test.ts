import { createHash, createHmac, createPublicKey, verify } from 'node:crypto'
import { CompactSign } from 'jose'
import t from 'tap'
import type { Permission } from '../../src/registry/policy.js'
import { createRegistryTokenSigner } from '../../src/registry/token.js'
import { privateKeyFromSeed } from '../helpers/registry-key.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'

// RFC 8032 section 7.1, TEST 1.
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
const PUBLIC_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
// RFC 8032 section 7.1, TEST 2: a different, equally valid key.
const OTHER_SEED = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'

const NOW = 1_750_000_000
const TTL = 300
const PERMISSIONS: Permission[] = [
  { action: 'publish', resource: 'com.example/*' },
  { action: 'edit', resource: 'com.example/*' },
]

const b64u = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64url')
const decodeSegment = (segment: string | undefined): string =>
  Buffer.from(segment ?? '', 'base64url').toString('utf8')

const publicJwkFromRfc = { kty: 'OKP', crv: 'Ed25519', x: b64u(Buffer.from(PUBLIC_KEY, 'hex')) }
const publicKeyObject = createPublicKey({ key: publicJwkFromRfc, format: 'jwk' })

// An independent RFC 7638 thumbprint: required members, lexicographic order, SHA-256.
const expectedKid = b64u(
  createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${publicJwkFromRfc.x}"}`).digest(),
)

// Signs arbitrary header and claims, to build the tokens the verifier must refuse.
const signRaw = (header: Record<string, unknown>, claims: Record<string, unknown>, seed = SEED) =>
  new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'EdDSA', ...header })
    .sign(privateKeyFromSeed(seed))

const validClaims = (overrides: Record<string, unknown> = {}) => ({
  iss: 'mcp-registry',
  exp: NOW + TTL,
  nbf: NOW - 5,
  iat: NOW,
  auth_method: 'oidc',
  auth_method_sub: 'user-1',
  permissions: PERMISSIONS,
  ...overrides,
})

t.test('the signer derives the registry key from the seed', async (t) => {
  const signer = await createRegistryTokenSigner(SEED, TTL)
  t.equal(signer.kid, expectedKid, 'kid is the RFC 7638 thumbprint')
  t.same(signer.publicJwk, { ...publicJwkFromRfc, kid: expectedKid, alg: 'EdDSA', use: 'sig' })
  t.same(Object.keys(signer.publicJwk), ['kty', 'crv', 'x', 'kid', 'alg', 'use'])
  t.ok(Object.isFrozen(signer.publicJwk), 'the published key cannot be altered')
  t.equal(signer.publicJwk.d, undefined, 'no private part')
  const upper = await createRegistryTokenSigner(SEED.toUpperCase(), TTL)
  t.equal(upper.kid, signer.kid, 'hex case does not matter')
})

t.test('token bytes match the registry format', async (t) => {
  const signer = await createRegistryTokenSigner(SEED, TTL)
  const { registry_token, expires_at } = await signer.mint('user-1', PERMISSIONS, NOW)
  const [header, payload, signature, ...rest] = registry_token.split('.')
  t.equal(rest.length, 0, 'three segments')
  t.equal(decodeSegment(header), `{"alg":"EdDSA","typ":"JWT","kid":"${expectedKid}"}`)
  t.equal(
    decodeSegment(payload),
    `{"iss":"mcp-registry","exp":${NOW + 300},"nbf":${NOW - 5},"iat":${NOW},` +
      '"auth_method":"oidc","auth_method_sub":"user-1","permissions":' +
      '[{"action":"publish","resource":"com.example/*"},{"action":"edit","resource":"com.example/*"}]}',
  )
  t.equal(expires_at, NOW + 300, 'expires_at is exp')
  t.ok(
    verify(
      null,
      Buffer.from(`${header}.${payload}`),
      publicKeyObject,
      Buffer.from(signature ?? '', 'base64url'),
    ),
    'the signature verifies with node:crypto and the RFC 8032 public key',
  )
  const again = await signer.mint('user-1', PERMISSIONS, NOW)
  t.equal(again.registry_token, registry_token, 'Ed25519 is deterministic')
})

t.test('claims keep their order whatever the caller passes', async (t) => {
  const signer = await createRegistryTokenSigner(SEED, 30)
  const messy = [{ resource: 'x/*', extra: 1, action: 'publish' }] as unknown as Permission[]
  const { registry_token } = await signer.mint('sub', messy, 100)
  const payload = decodeSegment(registry_token.split('.')[1])
  t.equal(
    payload,
    '{"iss":"mcp-registry","exp":130,"nbf":95,"iat":100,"auth_method":"oidc",' +
      '"auth_method_sub":"sub","permissions":[{"action":"publish","resource":"x/*"}]}',
  )
  const empty = await signer.mint('sub', [], 100)
  t.match(decodeSegment(empty.registry_token.split('.')[1]), /"permissions":\[\]\}$/)
})

t.test('nbf and exp arithmetic', async (t) => {
  for (const [ttl, now] of [
    [30, 0],
    [300, NOW],
    [3600, NOW + 1],
  ] as const) {
    const signer = await createRegistryTokenSigner(SEED, ttl)
    const { registry_token, expires_at } = await signer.mint('s', [], now)
    const claims = JSON.parse(decodeSegment(registry_token.split('.')[1]))
    t.same(
      { iat: claims.iat, nbf: claims.nbf, exp: claims.exp, expires_at },
      { iat: now, nbf: now - 5, exp: now + ttl, expires_at: now + ttl },
      `ttl ${ttl} at ${now}`,
    )
  }
})

t.test('mint without nowSeconds uses the clock', async (t) => {
  const signer = await createRegistryTokenSigner(SEED, TTL)
  const before = Math.floor(Date.now() / 1000)
  const { expires_at } = await signer.mint('s', [])
  const after = Math.floor(Date.now() / 1000)
  t.ok(expires_at >= before + TTL && expires_at <= after + TTL)
})

t.test('the key is imported once, not per mint', async (t) => {
  const subtle = crypto.subtle
  const original = subtle.importKey
  let imports = 0
  subtle.importKey = function (this: typeof subtle, ...args: unknown[]) {
    imports++
    return Reflect.apply(original, this, args)
  } as typeof original
  t.teardown(() => {
    subtle.importKey = original
  })
  const signer = await createRegistryTokenSigner(SEED, TTL)
  const afterCreation = imports
  t.equal(afterCreation, 1, 'the spy sees the import at creation')
  for (let i = 0; i < 5; i++) await signer.mint(`s${i}`, PERMISSIONS, NOW + i)
  t.equal(imports, afterCreation)
})

t.test('malformed input is refused', async (t) => {
  const badSeeds = [
    '',
    SEED.slice(0, 62),
    `${SEED}00`,
    `${SEED.slice(0, 63)}g`,
    ` ${SEED.slice(1)}`,
    `0x${SEED.slice(2)}`,
    b64u(Buffer.from(SEED, 'hex')),
  ]
  for (const seed of badSeeds) {
    await t.rejects(
      createRegistryTokenSigner(seed, TTL),
      { message: /64 hex characters.*openssl rand -hex 32/ },
      `seed ${JSON.stringify(seed.slice(0, 8))}…`,
    )
  }
  const rejection = await createRegistryTokenSigner(`${SEED}ff`, TTL).catch((error: Error) => error)
  t.notMatch(String(rejection), SEED.slice(0, 16), 'the key is never echoed')
  for (const ttl of [0, -1, 1.5, Number.NaN]) {
    await t.rejects(createRegistryTokenSigner(SEED, ttl), TypeError, `ttl ${ttl}`)
  }
  const signer = await createRegistryTokenSigner(SEED, TTL)
  await t.rejects(signer.mint('', PERMISSIONS, NOW), TypeError, 'empty subject')
  for (const now of [1.5, -1, Number.NaN]) {
    await t.rejects(signer.mint('s', PERMISSIONS, now), TypeError, `now ${now}`)
  }
})

t.test('verifyRegistryToken accepts a minted token', async (t) => {
  const signer = await createRegistryTokenSigner(SEED, TTL)
  const { registry_token } = await signer.mint('user-1', PERMISSIONS, NOW)
  const expected = validClaims()
  for (const [name, key] of [
    ['KeyObject', publicKeyObject],
    ['JWK from the RFC', publicJwkFromRfc],
    ['the published JWK', signer.publicJwk],
  ] as const) {
    t.same(await verifyRegistryToken(registry_token, key, NOW), expected, name)
  }
  const cryptoKey = await crypto.subtle.importKey(
    'jwk',
    publicJwkFromRfc,
    { name: 'Ed25519' },
    false,
    ['verify'],
  )
  t.same(await verifyRegistryToken(registry_token, cryptoKey, NOW), expected, 'CryptoKey')
})

t.test('verifyRegistryToken applies the registry time rules with zero leeway', async (t) => {
  const signer = await createRegistryTokenSigner(SEED, TTL)
  const { registry_token } = await signer.mint('user-1', PERMISSIONS, NOW)
  const cases: [name: string, now: number, accepted: boolean][] = [
    ['at nbf (a registry 5 s behind)', NOW - 5, true],
    ['nbf in the future by 1 s', NOW - 6, false],
    ['at iat', NOW, true],
    ['last valid second', NOW + TTL - 1, true],
    ['at exp', NOW + TTL, false],
    ['after exp', NOW + TTL + 3600, false],
  ]
  for (const [name, now, accepted] of cases) {
    const verification = verifyRegistryToken(registry_token, publicKeyObject, now)
    if (accepted) await t.resolves(verification, name)
    else await t.rejects(verification, name)
  }
  await t.rejects(
    verifyRegistryToken(registry_token, publicKeyObject, NOW + TTL),
    { code: 'ERR_JWT_EXPIRED' },
    'expiry has its own error code',
  )
  await t.rejects(verifyRegistryToken(registry_token, publicKeyObject, NOW - 6), {
    code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    claim: 'nbf',
  })
})

t.test('verifyRegistryToken refuses forged and malformed tokens', async (t) => {
  const signer = await createRegistryTokenSigner(SEED, TTL)
  const genuine = (await signer.mint('user-1', PERMISSIONS, NOW)).registry_token
  const [, genuinePayload] = genuine.split('.')
  const unsigned = `${b64u('{"alg":"none","typ":"JWT"}')}.${genuinePayload}.`
  const hsInput = `${b64u('{"alg":"HS256","typ":"JWT"}')}.${genuinePayload}`
  // The classic confusion: an HMAC keyed with the public key's bytes.
  const hs256 = `${hsInput}.${b64u(createHmac('sha256', Buffer.from(PUBLIC_KEY, 'hex')).update(hsInput).digest())}`
  const otherSigner = await createRegistryTokenSigner(OTHER_SEED, TTL)
  const [h, p, s] = genuine.split('.')
  const tamperedPayload = b64u(decodeSegment(p).replace('user-1', 'user-2'))
  const { exp: _exp, ...withoutExp } = validClaims()
  const { nbf: _nbf, ...withoutNbf } = validClaims()

  const cases: [name: string, token: string | Promise<string>][] = [
    ['alg none', unsigned],
    ['HS256 keyed with the public key', hs256],
    ['signed by another key', (await otherSigner.mint('user-1', PERMISSIONS, NOW)).registry_token],
    ['payload altered', `${h}.${tamperedPayload}.${s}`],
    ['signature stripped', `${h}.${p}.`],
    ['not a JWT', 'not-a-jwt'],
    ['empty', ''],
    ['missing exp', signRaw({ typ: 'JWT' }, withoutExp)],
    ['exp as a string', signRaw({ typ: 'JWT' }, validClaims({ exp: String(NOW + TTL) }))],
    ['wrong issuer', signRaw({ typ: 'JWT' }, validClaims({ iss: 'https://accounts.google.com' }))],
    ['missing issuer', signRaw({ typ: 'JWT' }, validClaims({ iss: undefined }))],
    ['alg Ed25519 instead of EdDSA', signRaw({ alg: 'Ed25519' }, validClaims())],
    ['missing nbf', signRaw({ typ: 'JWT' }, withoutNbf)],
    ['other auth method', signRaw({ typ: 'JWT' }, validClaims({ auth_method: 'github-at' }))],
    ['empty subject', signRaw({ typ: 'JWT' }, validClaims({ auth_method_sub: '' }))],
    [
      'permissions not a list',
      signRaw({ typ: 'JWT' }, validClaims({ permissions: { action: 'publish' } })),
    ],
    [
      'unknown action',
      signRaw({ typ: 'JWT' }, validClaims({ permissions: [{ action: 'delete', resource: '*' }] })),
    ],
  ]
  for (const [name, token] of cases) {
    await t.rejects(verifyRegistryToken(await token, publicKeyObject, NOW), name)
  }
  await t.resolves(
    verifyRegistryToken(await signRaw({ typ: 'JWT' }, validClaims()), publicKeyObject, NOW),
    'the hand-built control token is valid',
  )
})
