import t from 'tap'
import {
  BASE_VALUES,
  extraClaimNames,
  type LoginValues,
  loginFromForm,
  valuesForPolicy,
  valuesFromForm,
} from '../../dev/login-form.js'
import { matchClaimRequirements, parseClaimRequirements } from '../../src/registry/policy.js'

const values = (overrides: Partial<LoginValues>): LoginValues => ({
  ...BASE_VALUES,
  username: 'alice',
  ...overrides,
})

t.test('the form starts with values that pass the policy', async (t) => {
  const policies = [
    '[{"hd":"modelcontextprotocol.io"}]',
    '[{"groups":["registry-admins","registry-publishers"]},{"email_verified":true}]',
    '[{"email":"ops@example.com"}]',
    '[{"realm_access":{"roles":"registry-admin"}},{"tenant":["a","b"]}]',
    '[{"groups":"a"},{"groups":"b"}]',
  ]
  for (const policy of policies) {
    const requirements = parseClaimRequirements(policy)
    const outcome = loginFromForm(
      values({ ...valuesForPolicy(requirements), username: 'alice' }),
      extraClaimNames(requirements),
    )
    if (!outcome.ok) throw new Error(outcome.problem)
    t.same(matchClaimRequirements(requirements, outcome.claims), { ok: true }, policy)
  }
  t.same(valuesForPolicy([]), BASE_VALUES, 'no policy: the plain defaults')
  t.same(extraClaimNames(parseClaimRequirements('[{"hd":"x","tenant":"y"},{"tenant":"z"}]')), [
    'tenant',
  ])
})

t.test('a submitted form becomes ID-token claims', async (t) => {
  const form = new URLSearchParams({
    username: ' bob ',
    email: '',
    hd: 'example.org',
    groups: 'a, ,b,',
    other_claims: '{"tenant":"t1"}',
  })
  const outcome = loginFromForm(valuesFromForm(form), ['tenant'])
  t.same(outcome, {
    ok: true,
    accountId: 'bob',
    claims: {
      sub: 'bob',
      name: 'bob',
      preferred_username: 'bob',
      email: 'bob@example.org',
      email_verified: false,
      hd: 'example.org',
      groups: ['a', 'b'],
      tenant: 't1',
    },
  })
  const noDomain = loginFromForm(values({ hd: '', groups: '' }), [])
  t.match(noDomain, { ok: true, claims: { email: 'alice@example.com', groups: [] } })
  t.notOk(noDomain.ok && 'hd' in noDomain.claims, 'a blank domain sends no hd claim')
})

t.test('a form that cannot sign in says why and keeps what was typed', async (t) => {
  const cases: Array<[Partial<LoginValues>, string[], string]> = [
    [{ username: '' }, [], 'Enter a user name'],
    [{ username: 'a\u0000b' }, [], 'printable characters'],
    [{ username: 'x'.repeat(129) }, [], 'at most 128'],
    [{ email: 'not-an-email' }, [], 'Enter an email address'],
    [{ hd: 'two words' }, [], 'Enter a domain'],
    [{ groups: Array.from({ length: 51 }, (_, i) => `g${i}`).join(',') }, [], 'At most 50 groups'],
    [{ otherClaims: '[1]' }, ['tenant'], 'must be a JSON object'],
    [{ otherClaims: '{oops' }, ['tenant'], 'must be a JSON object'],
    [{ otherClaims: '{"email":"x@y"}' }, ['tenant'], 'Set "email" with its own field'],
    [{ otherClaims: '{"role":"admin"}' }, ['tenant'], '"role" is not a claim this provider adds'],
    [
      { otherClaims: '{"role":"admin"}' },
      [],
      'only adds claims that MCP_REGISTRY_OIDC_EXTRA_CLAIMS',
    ],
  ]
  for (const [overrides, allowed, problem] of cases) {
    const typed = values(overrides)
    const outcome = loginFromForm(typed, allowed)
    t.match(outcome, { ok: false, problem })
    t.same(!outcome.ok && outcome.values, typed)
  }
})
