// The provider key set (jose's remote key set under this service's reload rules): an unknown kid
// fetches it again at most once per cooldown, whatever the number of tokens naming unknown kids,
// only those fetches start the cooldown, and a failed fetch keeps the keys already known.

import { jwtVerify, SignJWT } from 'jose'
import t from 'tap'
import { createSigningKeys } from '../../src/provider/signing-keys.js'
import { createSigningKey, type SigningKey } from '../helpers/misbehaving-provider.js'

const first = await createSigningKey('RS256')
const second = await createSigningKey('RS256')

/** A JWKS endpoint that counts its fetches and can be taken down, and a clock the test moves. */
function fakeProvider() {
  const state = { keys: [first.publicJwk], fetches: 0, down: false, clock: 1_000_000 }
  const outcomes: string[] = []
  const keys = createSigningKeys('https://provider.example/jwks', {
    timeoutMs: 1000,
    refetchCooldownMs: 30_000,
    now: () => state.clock,
    onLoad: (outcome) => outcomes.push(outcome),
    fetch: async () => {
      state.fetches++
      if (state.down) throw new Error('provider down')
      return Response.json({ keys: state.keys })
    },
  })
  return { state, keys, outcomes }
}

function signedBy(key: SigningKey, kid: string = key.kid): Promise<string> {
  return new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'RS256', kid })
    .sign(key.privateKey)
}

t.test('a flood of unknown kids: one fetch per cooldown', async (t) => {
  const { state, keys } = fakeProvider()
  await keys.load()
  t.equal(state.fetches, 1)
  const unknown = (index: number) => signedBy(first, `unknown-${index}`)
  const verifications = await Promise.allSettled(
    Array.from({ length: 100 }, async (_, index) => jwtVerify(await unknown(index), keys.getKey)),
  )
  t.ok(
    verifications.every((result) => result.status === 'rejected'),
    '100 unknown kids refused',
  )
  t.equal(state.fetches, 2, '100 concurrent unknown kids: one fetch')
  for (let index = 0; index < 20; index++) {
    await t.rejects(jwtVerify(await unknown(100 + index), keys.getKey))
  }
  t.equal(state.fetches, 2, '20 more within the cooldown: none')
  state.clock += 29_999
  await t.rejects(jwtVerify(await unknown(200), keys.getKey))
  t.equal(state.fetches, 2, 'one millisecond before the cooldown ends: none')
  state.clock += 1
  await t.rejects(jwtVerify(await unknown(201), keys.getKey))
  t.equal(state.fetches, 3, 'after the cooldown: one')
  await jwtVerify(await signedBy(first), keys.getKey)
  t.equal(state.fetches, 3, 'a known kid never fetches')
})

t.test('a new key is learnt; an outage keeps the old ones', async (t) => {
  const { state, keys, outcomes } = fakeProvider()
  await keys.load()
  state.keys = [first.publicJwk, second.publicJwk]
  const bothVerify = async () => {
    for (const key of [first, second]) {
      t.equal((await jwtVerify(await signedBy(key), keys.getKey)).payload.sub, 'alice', key.kid)
    }
  }
  await bothVerify()
  t.equal(state.fetches, 2, 'the new kid fetched the set once')
  state.down = true
  await t.rejects(keys.load(), /provider down/)
  state.clock += 30_000
  await t.rejects(jwtVerify(await signedBy(first, 'unknown'), keys.getKey), {
    code: 'ERR_JWKS_NO_MATCHING_KEY',
  })
  t.equal(state.fetches, 4, 'the refresh and the unknown kid tried')
  await bothVerify()
  t.equal(state.fetches, 4, 'known kids are verified without the provider')
  t.same(outcomes, ['ok', 'ok', 'error', 'error'], 'every load is reported')
})

t.test('only token-triggered fetches start the cooldown', async (t) => {
  const { state, keys } = fakeProvider()
  await keys.load()
  await keys.load()
  state.keys = [first.publicJwk, second.publicJwk]
  await jwtVerify(await signedBy(second), keys.getKey)
  t.equal(state.fetches, 3, 'a key that appears right after start-up or a refresh is looked for')
})

t.test('tokens with a new kid that arrive together all wait for the one fetch', async (t) => {
  const { state, keys } = fakeProvider()
  await keys.load()
  state.keys = [first.publicJwk, second.publicJwk]
  const tokens = await Promise.all(Array.from({ length: 10 }, () => signedBy(second)))
  const results = await Promise.all(tokens.map((token) => jwtVerify(token, keys.getKey)))
  t.equal(results.length, 10, 'all ten verify')
  t.equal(state.fetches, 2, 'with one fetch')
})

t.test('a failed token-triggered fetch starts the cooldown too', async (t) => {
  const { state, keys } = fakeProvider()
  await keys.load()
  state.down = true
  for (let index = 0; index < 10; index++) {
    await t.rejects(jwtVerify(await signedBy(second), keys.getKey))
  }
  t.equal(state.fetches, 2, 'ten tokens during an outage: one fetch')
})
