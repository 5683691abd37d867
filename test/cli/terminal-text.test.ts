import fc from 'fast-check'
import t from 'tap'
import { printable } from '../../src/cli/terminal-text.js'

t.test('escape sequences and controls are removed, text kept', async (t) => {
  const cases: Array<[string, string]> = [
    ['alice', 'alice'],
    ['Zoë 山田', 'Zoë 山田'],
    ['\x1b[31mred\x1b[0m', 'red'],
    ['\x1b[2K\x1b[1Aover', 'over'],
    ['\x1b]0;title\x07after', 'after'],
    ['\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\', 'link'],
    ['\x1bPdcs\x1b\\x', 'x'],
    ['\x1bcreset', 'reset'],
    ['\x9b31mc1', 'c1'],
    ['\x85next\x7fline', 'nextline'],
    ['a\r\nb\tc\x00d', 'abcd'],
    ['\u202eevil\u202c', 'evil'],
    ['trailing\x1b', 'trailing'],
    ['\x1b[', ''],
  ]
  for (const [input, expected] of cases) t.equal(printable(input), expected, JSON.stringify(input))
})

t.test('whatever the input, no control character is left', async (t) => {
  const control =
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (text) => !control.test(printable(text))),
    { seed: 11, numRuns: 5000 },
  )
  t.pass('5000 strings')
})
