import t from 'tap'
import { notAnIdToken } from '../../src/provider/token-type.js'

t.test('ID tokens, and JWTs of other types', async (t) => {
  const cases: Array<[Record<string, unknown>, Record<string, unknown>, RegExp | undefined]> = [
    [{}, {}, undefined],
    [{ typ: 'JWT' }, {}, undefined],
    [{ typ: 'jwt' }, {}, undefined],
    [{ typ: 'application/jwt' }, {}, undefined],
    [{ typ: 'Application/JWT' }, {}, undefined],
    [{ typ: 'at+jwt' }, {}, /typ/],
    [{ typ: 'application/at+jwt' }, {}, /typ/],
    [{ typ: 'logout+jwt' }, { events: {} }, /typ/],
    [{ typ: 'secevent+jwt' }, {}, /typ/],
    [{ typ: 'JOSE' }, {}, /typ/],
    [{ typ: '' }, {}, /typ/],
    [{ typ: null }, {}, /typ/],
    [{ typ: ['JWT'] }, {}, /typ/],
    [{ typ: 'JWT' }, { events: {} }, /events/],
    [{}, { events: null }, /events/],
    [{}, { event: {} }, undefined],
  ]
  for (const [header, claims, expected] of cases) {
    const problem = notAnIdToken(header, claims)
    const name = `${JSON.stringify(header)} ${JSON.stringify(claims)}`
    if (expected === undefined) t.equal(problem, undefined, name)
    else t.match(problem, expected, name)
  }
})
