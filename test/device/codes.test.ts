// User codes and device codes: their shape, their randomness, and the normaliser, which reads
// whatever a person (or an attacker) types.

import fc from 'fast-check'
import t from 'tap'
import {
  DEVICE_CODE,
  deviceKey,
  formatUserCode,
  newDeviceCode,
  newUserCode,
  normaliseUserCode,
  sameUserCode,
  USER_CODE_ALPHABET,
  userKey,
} from '../../src/device/codes.js'

const codeArbitrary = fc.string({
  unit: fc.constantFrom(...USER_CODE_ALPHABET),
  minLength: 8,
  maxLength: 8,
})

t.test('normalising what a person types', async (t) => {
  const table: Array<[typed: string, normalised: string | undefined]> = [
    ['BCDF-GHJK', 'BCDFGHJK'],
    ['bcdf-ghjk', 'BCDFGHJK'],
    ['bcdfghjk', 'BCDFGHJK'],
    ['  BCDF GHJK  ', 'BCDFGHJK'],
    ['BcDf-gHjK', 'BCDFGHJK'],
    ['BCDF-GHJ', undefined],
    ['BCDF-GHJKL', undefined],
    ['BCDF-GHJA', undefined], // a vowel is not in the alphabet
    ['BCDF-GHJ1', undefined],
    ['BCDF_GHJK', undefined],
    ['', undefined],
    ['ſCDF-GHJK', undefined], // upper-cases to S, but is not what the code says
    ['ＢCDF-GHJK', undefined], // full-width B
    ['BCDF-GHJK\u0000', undefined],
    [`${'-'.repeat(40)}BCDFGHJK`, undefined],
  ]
  for (const [typed, normalised] of table) {
    t.equal(normaliseUserCode(typed), normalised, JSON.stringify(typed))
  }
})

t.test('properties of the normaliser', async (t) => {
  fc.assert(
    fc.property(codeArbitrary, (code) => {
      const shown = formatUserCode(code)
      return (
        normaliseUserCode(shown) === code &&
        normaliseUserCode(shown.toLowerCase()) === code &&
        normaliseUserCode(code.toLowerCase()) === code
      )
    }),
  )
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (typed) => {
      const normalised = normaliseUserCode(typed)
      return normalised === undefined || /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/.test(normalised)
    }),
  )
  t.pass('every shown code reads back; nothing else turns into a code')
})

t.test('new user codes: the alphabet, every letter about as likely', async (t) => {
  const counts = new Map<string, number>()
  for (let i = 0; i < 2000; i++) {
    const code = newUserCode()
    t.match(code, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/)
    for (const letter of code) counts.set(letter, (counts.get(letter) ?? 0) + 1)
  }
  t.equal(counts.size, 20, 'every letter appears')
})

t.test('no modulo bias: bytes from 240 up are thrown away', async (t) => {
  // A source that gives 255 (thrown away) and then 0..7, 20..27.
  const bytes = [255, 250, 240, 0, 1, 2, 3, 20, 21, 22, 23]
  let next = 0
  const code = newUserCode((size) => {
    const out = Buffer.alloc(size)
    for (let i = 0; i < size; i++) out[i] = bytes[next++ % bytes.length] as number
    return out
  })
  t.equal(code, 'BCDFBCDF')
})

t.test('device codes and keys', async (t) => {
  const a = newDeviceCode()
  t.match(a, DEVICE_CODE)
  t.not(a, newDeviceCode())
  t.equal(Buffer.from(a, 'base64url').length, 32, '256 bits')
  t.equal(deviceKey(a), deviceKey(a))
  t.not(deviceKey('BCDFGHJK'), userKey('BCDFGHJK'), 'the two kinds of key never meet')
  t.ok(sameUserCode('BCDFGHJK', 'BCDFGHJK'))
  t.notOk(sameUserCode('BCDFGHJK', 'BCDFGHJL'))
  t.notOk(sameUserCode('BCDFGHJK', 'BCDFGHJ'))
})
