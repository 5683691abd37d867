import { createHash } from 'node:crypto'
import t from 'tap'
import { createLoopbackCodes, loopbackCodeLifetimeSeconds } from '../../src/login/loopback-code.js'

const secret = 'the-current-cookie-secret-0123456789abcdef'
const older = 'the-previous-cookie-secret-0123456789abcdef'
const audience = 'https://registry.example.com'
const verifier = 'v'.repeat(43)
const challenge = createHash('sha256').update(verifier).digest('base64url')
const now = 1_800_000_000
const issued = { registry_token: 'header.payload.signature', expires_at: now + 300 }

t.test('a code redeems with its verifier, within its minute and the skew', async (t) => {
  const codes = createLoopbackCodes([secret], audience)
  const code = await codes.seal(issued, challenge, now)
  t.same(await codes.redeem(code, verifier, now), { ok: true, issued })
  t.same(await codes.redeem(code, verifier, now), { ok: true, issued }, 'again: no state')
  // jose's bound: expired once `exp` is the tolerance or more in the past.
  const last = now + loopbackCodeLifetimeSeconds + 29
  t.same(await codes.redeem(code, verifier, last), { ok: true, issued }, 'within 60 s + 30 s')
  t.same(await codes.redeem(code, verifier, last + 1), { ok: false, reason: 'expired' })
  t.same(await codes.redeem(code, 'w'.repeat(43), now), {
    ok: false,
    reason: 'verifier mismatch',
  })
  t.notMatch(code, /header|payload|signature/, 'the token inside is encrypted')
})

t.test('a token that expires before its code does is not handed out', async (t) => {
  const codes = createLoopbackCodes([secret], audience)
  const short = { registry_token: 'a.b.c', expires_at: now + 30 }
  const code = await codes.seal(short, challenge, now)
  t.same(await codes.redeem(code, verifier, now + 31), { ok: false, reason: 'expired' })
})

t.test('rotation: the first secret seals, all open', async (t) => {
  const before = createLoopbackCodes([older], audience)
  const during = createLoopbackCodes([secret, older], audience)
  const after = createLoopbackCodes([secret], audience)
  const sealedBefore = await before.seal(issued, challenge, now)
  const sealedDuring = await during.seal(issued, challenge, now)
  t.equal((await during.redeem(sealedBefore, verifier, now)).ok, true, 'an older code opens')
  t.equal((await before.redeem(sealedDuring, verifier, now)).ok, false, 'sealed with the new one')
  t.equal((await after.redeem(sealedDuring, verifier, now)).ok, true)
  t.same(await after.redeem(sealedBefore, verifier, now), {
    ok: false,
    reason: 'not sealed by this service',
  })
})

t.test('foreign and altered codes', async (t) => {
  const codes = createLoopbackCodes([secret], audience)
  const code = await codes.seal(issued, challenge, now)
  const elsewhere = await createLoopbackCodes([secret], 'https://other.example').seal(
    issued,
    challenge,
    now,
  )
  const [header, key, iv, ciphertext, tag] = code.split('.') as string[]
  const refused = { ok: false, reason: 'not sealed by this service' }
  const cases: Array<[string, string]> = [
    ['another audience', elsewhere],
    ['empty', ''],
    ['a JWS', 'eyJhbGciOiJub25lIn0.e30.'],
    ['no tag', [header, key, iv, ciphertext, ''].join('.')],
    ['ciphertext cut', [header, key, iv, ciphertext?.slice(0, -2), tag].join('.')],
    ['an encrypted key added', [header, 'AAAA', iv, ciphertext, tag].join('.')],
  ]
  for (const [name, value] of cases) t.same(await codes.redeem(value, verifier, now), refused, name)
})
