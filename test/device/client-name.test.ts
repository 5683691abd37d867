// The rule for the name a terminal gives itself: what the confirmation page may show.

import fc from 'fast-check'
import t from 'tap'
import { deviceClientName } from '../../src/cli/device-login.js'
import { clientNameProblem, MAX_CLIENT_NAME_LENGTH } from '../../src/device/client-name.js'

t.test('names the rule accepts and refuses', async (t) => {
  const accepted = [
    'mcp-registry-oidc on laptop',
    'mcp-registry-oidc on build-42.example.com',
    'x',
    'Ada’s workstation (home)',
    'Küche', // NFC: ü is one code point
    'Tiếng Việt', // ế is e with two marks after NFC; still at most two
    '東京オフィス',
    'ноутбук Ивана',
    'ci@runner #7: deploy/prod',
    'a'.repeat(MAX_CLIENT_NAME_LENGTH),
  ]
  for (const name of accepted) t.equal(clientNameProblem(name), undefined, name)

  const refused: Array<[name: string, why: string]> = [
    ['', 'empty'],
    ['a'.repeat(MAX_CLIENT_NAME_LENGTH + 1), 'too long'],
    ['\u3164\u3164\u3164', 'Hangul filler, a letter that draws nothing'],
    ['\u2800\u2800', 'blank Braille pattern'],
    ['\u115f\u1160x', 'Hangul choseong/jungseong fillers'],
    ['x\uffa0', 'half-width Hangul filler'],
    ['a\u200bb', 'zero-width space'],
    ['a\u00adb', 'soft hyphen'],
    ['evil\u202egnp.exe', 'right-to-left override'],
    ['a\u2066b', 'bidirectional isolate'],
    ['a\u2028b', 'line separator'],
    ['a\u2029b', 'paragraph separator'],
    ['a\nb', 'newline'],
    ['a\tb', 'tab'],
    ['\u3000'.repeat(64), 'ideographic spaces'],
    ['a\u00a0b', 'no-break space'],
    ['\u0301'.repeat(64), 'lone combining marks'],
    [`A${'\u0301'.repeat(60)}`, 'stacked combining marks (zalgo)'],
    ['e\u0301\u0302\u0303', 'three marks on one letter'],
    ['1\u0301', 'a mark on a digit'],
    ['Ku\u0308che', 'not NFC (u + combining diaeresis)'],
    [' laptop', 'leading space'],
    ['laptop ', 'trailing space'],
    ['   ', 'blank'],
    ['mcp-registry-oidc on laptop    From address: 127.0.0.1', 'spacing to fake a row'],
    ['mcp-publіsher (official CLI)', 'Cyrillic і among Latin letters'],
    ['pаypal', 'Cyrillic а among Latin letters'],
    ['\ue000', 'private use'],
    ['\u0378', 'unassigned'],
  ]
  for (const [name, why] of refused) t.type(clientNameProblem(name), 'string', why)
})

t.test('properties', async (t) => {
  const anyText = fc.string({ unit: 'binary', maxLength: 80 })
  t.test('never throws, and an accepted name keeps every promise', async () => {
    fc.assert(
      fc.property(anyText, (name) => {
        if (clientNameProblem(name) !== undefined) return
        const points = Array.from(name)
        if (points.length < 1 || points.length > MAX_CLIENT_NAME_LENGTH) throw new Error(name)
        if (name.normalize('NFC') !== name) throw new Error(name)
        if (name.trim() !== name || name.trim() === '') throw new Error(name)
        if (/[\p{C}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u.test(name)) {
          throw new Error(name)
        }
        if (/\s\s|[^\S ]/u.test(name)) throw new Error(name)
        if (/\p{M}{3}/u.test(name) || /^\p{M}|[^\p{L}\p{M}]\p{M}/u.test(name)) {
          throw new Error(name)
        }
      }),
      { numRuns: 5000 },
    )
  })

  const plain = fc
    .array(fc.stringMatching(/^[A-Za-z0-9.-]{1,8}$/), { minLength: 1, maxLength: 5 })
    .map((words) => words.join(' '))
  t.test('plain ASCII words separated by single spaces are accepted', async () => {
    fc.assert(fc.property(plain, (name) => clientNameProblem(name) === undefined))
  })

  const invisible = fc.constantFrom(
    '\u3164',
    '\u2800',
    '\u200b',
    '\u200d',
    '\u2060',
    '\ufeff',
    '\u202e',
    '\u2067',
    '\u061c',
    '\u180e',
    '\u034f',
    '\u115f',
  )
  t.test('an invisible character anywhere makes any name refused', async () => {
    fc.assert(
      fc.property(plain, invisible, fc.nat(), (name, hidden, at) => {
        const points = Array.from(name)
        points.splice(at % (points.length + 1), 0, hidden)
        return clientNameProblem(points.join('')) !== undefined
      }),
    )
  })

  t.test('the name the CLI derives from any host name passes', async () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (host) => {
        return clientNameProblem(deviceClientName(host)) === undefined
      }),
    )
  })
})
