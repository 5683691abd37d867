// The provider key set: an unknown kid fetches it again at most once per cooldown, whatever the
// number of tokens naming unknown kids, and a failed fetch keeps the keys already known.

import { jwtVerify, SignJWT } from 'jose'
import t from 'tap'
import { createKeyStore } from '../../src/provider/key-store.js'
import { createSigningKey } from '../helpers/misbehaving-provider.js'

const first = await createSigningKey('RS256')
const second = await createSigningKey('RS256')

function fakeProvider() {
  const state = { keys: [first.publicJwk], fetches: 0, down: false, clock: 1_000_000 }
  const outcomes: string[] = []
  const store = createKeyStore({
    refetchCooldownMs: 30_000,
    now: () => state.clock,
    onLoad: (outcome) => outcomes.push(outcome),
    fetchKeySet: async () => {
      state.fetches++
      if (state.down) throw new Error('provider down')
      return { keys: state.keys }
    },
  })
  return { state, store, outcomes }
}

t.test('a flood of unknown kids: one fetch per cooldown', async (t) => {
  const { state, store } = fakeProvider()
  await store.load()
  t.equal(state.fetches, 1)
  state.clock += 30_000
  await Promise.all(Array.from({ length: 100 }, (_, i) => store.ensureKid(`unknown-${i}`)))
  t.equal(state.fetches, 2, '100 concurrent unknown kids: one fetch')
  for (let i = 0; i < 100; i++) await store.ensureKid(`unknown-again-${i}`)
  t.equal(state.fetches, 2, '100 more within the cooldown: none')
  state.clock += 29_999
  await store.ensureKid('still-unknown')
  t.equal(state.fetches, 2, 'one millisecond before the cooldown ends: none')
  state.clock += 1
  await store.ensureKid('still-unknown')
  t.equal(state.fetches, 3, 'after the cooldown: one')
  await store.ensureKid(first.kid)
  await store.ensureKid(undefined)
  t.equal(state.fetches, 3, 'known or absent kids never fetch')
})

t.test('a new key is learnt; an outage keeps the old ones', async (t) => {
  const { state, store } = fakeProvider()
  await store.load()
  state.keys = [first.publicJwk, second.publicJwk]
  state.clock += 30_000
  await store.ensureKid(second.kid)
  const signedBy = (key: typeof first) =>
    new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .sign(key.privateKey)
  const bothVerify = async () => {
    for (const key of [first, second]) {
      t.equal((await jwtVerify(await signedBy(key), store.getKey)).payload.sub, 'alice', key.kid)
    }
  }
  await bothVerify()
  state.down = true
  state.clock += 30_000
  await store.ensureKid('unknown')
  t.equal(state.fetches, 3)
  await bothVerify()
})

t.test('only token-triggered fetches start the cooldown', async (t) => {
  const { state, store } = fakeProvider()
  await store.load()
  await store.load()
  state.keys = [first.publicJwk, second.publicJwk]
  await store.ensureKid(second.kid)
  t.equal(state.fetches, 3, 'a key that appears right after start-up or a refresh is looked for')
})

t.test('every load is reported; nothing loaded yet fails closed', async (t) => {
  const { state, store, outcomes } = fakeProvider()
  state.down = true
  await t.rejects(store.load(), /provider down/)
  t.equal(store.loaded, false)
  const token = await new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'RS256', kid: first.kid })
    .sign(first.privateKey)
  await t.rejects(jwtVerify(token, store.getKey), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  state.down = false
  await store.load()
  t.equal((await jwtVerify(token, store.getKey)).payload.sub, 'alice')
  t.same(outcomes, ['error', 'error', 'ok'], 'the lookup before any key tried once more')
})
