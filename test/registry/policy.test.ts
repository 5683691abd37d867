import t from 'tap'
import {
  blockedNamespaceFor,
  type ClaimRequirement,
  grantedPermissions,
  matchClaimRequirements,
  type Permission,
  parseClaimRequirements,
  resourcePatternMatches,
} from '../../src/registry/policy.js'

const google = {
  sub: '1234567890',
  email: 'admin@modelcontextprotocol.io',
  email_verified: true,
  hd: 'modelcontextprotocol.io',
}
const keycloak = {
  sub: 'f3b2c1',
  preferred_username: 'alice',
  realm_access: { roles: ['offline_access', 'registry-admin'] },
  resource_access: { registry: { roles: ['publisher'] } },
  groups: ['/staff', '/staff/mcp'],
  level: 2,
  mfa: true,
  nickname: null,
}

interface MatchCase {
  name: string
  requirements: ClaimRequirement[]
  claims: Record<string, unknown>
  reason?: string
}

const matchCases: MatchCase[] = [
  // The registry's own example and the basics.
  { name: 'empty list allows everyone', requirements: [], claims: google },
  { name: 'empty object allows everyone', requirements: [{}], claims: google },
  {
    name: 'registry example: hd equal',
    requirements: [{ hd: 'modelcontextprotocol.io' }],
    claims: google,
  },
  {
    name: 'registry example: other hd',
    requirements: [{ hd: 'modelcontextprotocol.io' }],
    claims: { ...google, hd: 'evil.example' },
    reason: 'claim "hd" does not match',
  },
  {
    name: 'registry example: hd missing (consumer account)',
    requirements: [{ hd: 'modelcontextprotocol.io' }],
    claims: { sub: '1', email: 'someone@gmail.com' },
    reason: 'claim "hd" is missing',
  },
  {
    name: 'string compare is exact (case)',
    requirements: [{ hd: 'modelcontextprotocol.io' }],
    claims: { hd: 'ModelContextProtocol.io' },
    reason: 'claim "hd" does not match',
  },
  {
    name: 'string compare is exact (suffix)',
    requirements: [{ hd: 'modelcontextprotocol.io' }],
    claims: { hd: 'modelcontextprotocol.io.evil.example' },
    reason: 'claim "hd" does not match',
  },
  // Same JSON type.
  { name: 'boolean true', requirements: [{ email_verified: true }], claims: google },
  {
    name: 'boolean vs string "true"',
    requirements: [{ email_verified: true }],
    claims: { email_verified: 'true' },
    reason: 'claim "email_verified" does not match',
  },
  {
    name: 'string "true" vs boolean',
    requirements: [{ email_verified: 'true' }],
    claims: { email_verified: true },
    reason: 'claim "email_verified" does not match',
  },
  { name: 'number equal', requirements: [{ level: 2 }], claims: keycloak },
  {
    name: 'number vs numeric string',
    requirements: [{ level: 1 }],
    claims: { level: '1' },
    reason: 'claim "level" does not match',
  },
  {
    name: 'numeric string vs number',
    requirements: [{ level: '2' }],
    claims: keycloak,
    reason: 'claim "level" does not match',
  },
  { name: 'null equals null', requirements: [{ nickname: null }], claims: keycloak },
  {
    name: 'null vs "null"',
    requirements: [{ nickname: null }],
    claims: { nickname: 'null' },
    reason: 'claim "nickname" does not match',
  },
  {
    name: 'null requirement vs missing claim',
    requirements: [{ nickname: null }],
    claims: google,
    reason: 'claim "nickname" is missing',
  },
  {
    name: 'false vs missing claim',
    requirements: [{ email_verified: false }],
    claims: { sub: '1' },
    reason: 'claim "email_verified" is missing',
  },
  {
    name: 'scalar vs object claim',
    requirements: [{ hd: 'x' }],
    claims: { hd: { value: 'x' } },
    reason: 'claim "hd" does not match',
  },
  // Scalar requirement, array claim.
  { name: 'groups contains value', requirements: [{ groups: '/staff/mcp' }], claims: keycloak },
  {
    name: 'groups lacks value',
    requirements: [{ groups: '/admins' }],
    claims: keycloak,
    reason: 'claim "groups" does not match',
  },
  {
    name: 'groups with numbers: type matters',
    requirements: [{ groups: 7 }],
    claims: { groups: ['7'] },
    reason: 'claim "groups" does not match',
  },
  {
    name: 'empty groups',
    requirements: [{ groups: '/staff' }],
    claims: { groups: [] },
    reason: 'claim "groups" does not match',
  },
  {
    name: 'nested array element is not searched',
    requirements: [{ groups: '/staff' }],
    claims: { groups: [['/staff']] },
    reason: 'claim "groups" does not match',
  },
  // Array requirement: one of.
  {
    name: 'one of: scalar claim',
    requirements: [{ hd: ['example.com', 'modelcontextprotocol.io'] }],
    claims: google,
  },
  {
    name: 'one of: scalar claim not listed',
    requirements: [{ hd: ['example.com', 'example.org'] }],
    claims: google,
    reason: 'claim "hd" does not match',
  },
  {
    name: 'one of: array claim overlaps',
    requirements: [{ groups: ['/admins', '/staff'] }],
    claims: keycloak,
  },
  {
    name: 'one of: array claim disjoint',
    requirements: [{ groups: ['/admins', '/ops'] }],
    claims: keycloak,
    reason: 'claim "groups" does not match',
  },
  {
    name: 'one of: types still matter',
    requirements: [{ level: ['2', true] }],
    claims: keycloak,
    reason: 'claim "level" does not match',
  },
  // Object requirement: recursive.
  {
    name: 'Keycloak realm role',
    requirements: [{ realm_access: { roles: 'registry-admin' } }],
    claims: keycloak,
  },
  {
    name: 'Keycloak realm role missing',
    requirements: [{ realm_access: { roles: 'realm-admin' } }],
    claims: keycloak,
    reason: 'claim "realm_access.roles" does not match',
  },
  {
    name: 'Keycloak client role, two levels',
    requirements: [{ resource_access: { registry: { roles: ['publisher', 'admin'] } } }],
    claims: keycloak,
  },
  {
    name: 'Keycloak client role for another client',
    requirements: [{ resource_access: { other: { roles: 'publisher' } } }],
    claims: keycloak,
    reason: 'claim "resource_access.other" is missing',
  },
  {
    name: 'object requirement, scalar claim',
    requirements: [{ realm_access: { roles: 'registry-admin' } }],
    claims: { realm_access: 'registry-admin' },
    reason: 'claim "realm_access" does not match',
  },
  {
    name: 'object requirement, array claim',
    requirements: [{ realm_access: { roles: 'registry-admin' } }],
    claims: { realm_access: [{ roles: 'registry-admin' }] },
    reason: 'claim "realm_access" does not match',
  },
  {
    name: 'object requirement, null claim',
    requirements: [{ realm_access: { roles: 'registry-admin' } }],
    claims: { realm_access: null },
    reason: 'claim "realm_access" does not match',
  },
  {
    name: 'empty object requirement needs an object claim',
    requirements: [{ realm_access: {} }],
    claims: { realm_access: [] },
    reason: 'claim "realm_access" does not match',
  },
  // AND over keys and objects.
  {
    name: 'two keys, both match',
    requirements: [{ hd: 'modelcontextprotocol.io', email_verified: true }],
    claims: google,
  },
  {
    name: 'two keys, second fails',
    requirements: [{ hd: 'modelcontextprotocol.io', email_verified: true }],
    claims: { ...google, email_verified: false },
    reason: 'claim "email_verified" does not match',
  },
  {
    name: 'two objects, both match',
    requirements: [{ groups: '/staff' }, { realm_access: { roles: 'registry-admin' } }],
    claims: keycloak,
  },
  {
    name: 'two objects, second fails',
    requirements: [{ groups: '/staff' }, { mfa: false }],
    claims: keycloak,
    reason: 'claim "mfa" does not match',
  },
  // Hostile keys never resolve through the prototype chain.
  {
    name: '__proto__ requirement, no such claim',
    requirements: JSON.parse('[{"__proto__":{"polluted":"yes"}}]'),
    claims: { sub: '1' },
    reason: 'claim "__proto__" is missing',
  },
  {
    name: '__proto__ requirement, own claim present',
    requirements: JSON.parse('[{"__proto__":{"role":"x"}}]'),
    claims: JSON.parse('{"__proto__":{"role":"x"}}'),
  },
  {
    name: 'constructor requirement, no such claim',
    requirements: [{ constructor: 'Object' }],
    claims: { sub: '1' },
    reason: 'claim "constructor" is missing',
  },
  {
    name: 'toString requirement, no such claim',
    requirements: [{ toString: {} }],
    claims: { sub: '1' },
    reason: 'claim "toString" is missing',
  },
  {
    name: 'nested hasOwnProperty, no such claim',
    requirements: [{ realm_access: { hasOwnProperty: 'x' } }],
    claims: keycloak,
    reason: 'claim "realm_access.hasOwnProperty" is missing',
  },
  {
    name: 'claims object with a null prototype',
    requirements: [{ hd: 'modelcontextprotocol.io' }],
    claims: Object.assign(Object.create(null), google),
  },
  {
    name: 'claim behind a getter is not read',
    requirements: [{ hd: 'modelcontextprotocol.io' }],
    claims: Object.defineProperty({}, 'hd', {
      get: () => 'modelcontextprotocol.io',
      enumerable: true,
    }),
    reason: 'claim "hd" is missing',
  },
  {
    name: 'class instance is not a claim object',
    requirements: [{ realm_access: { roles: 'registry-admin' } }],
    claims: { realm_access: new Map([['roles', 'registry-admin']]) },
    reason: 'claim "realm_access" does not match',
  },
]

t.test('matchClaimRequirements', async (t) => {
  for (const { name, requirements, claims, reason } of matchCases) {
    const result = matchClaimRequirements(requirements, claims)
    t.same(result, reason === undefined ? { ok: true } : { ok: false, reason }, name)
  }
})

t.test('reasons never carry the claim values', async (t) => {
  const secret = 'alice.private@example.com'
  const result = matchClaimRequirements([{ email: 'bob@example.com' }, { groups: ['/admins'] }], {
    email: secret,
    groups: [secret],
  })
  t.equal(result.ok, false)
  t.notMatch(JSON.stringify(result), 'alice')
})

t.test('claims that are not an object are refused', async (t) => {
  for (const claims of [null, [], 'x'] as unknown[]) {
    const result = matchClaimRequirements([], claims as Record<string, unknown>)
    t.equal(result.ok, false, JSON.stringify(claims))
  }
})

interface ParseCase {
  name: string
  json: string
  expected?: ClaimRequirement[]
  error?: RegExp
}

const parseCases: ParseCase[] = [
  { name: 'empty string', json: '', expected: [] },
  { name: 'blank string', json: '  \n', expected: [] },
  { name: 'empty array', json: '[]', expected: [] },
  {
    name: 'registry example',
    json: '[{"hd":"modelcontextprotocol.io"}]',
    expected: [{ hd: 'modelcontextprotocol.io' }],
  },
  {
    name: 'Keycloak nested roles and groups',
    json: '[{"realm_access":{"roles":"registry-admin"}},{"groups":["/a","/b"],"mfa":true}]',
    expected: [{ realm_access: { roles: 'registry-admin' } }, { groups: ['/a', '/b'], mfa: true }],
  },
  {
    name: 'null, numbers, booleans',
    json: '[{"a":null,"b":1.5,"c":false}]',
    expected: [{ a: null, b: 1.5, c: false }],
  },
  { name: 'not JSON', json: "[{hd:'x'}]", error: /^not valid JSON/ },
  { name: 'truncated JSON', json: '[{"hd":"x"}', error: /^not valid JSON/ },
  { name: 'a bare object', json: '{"hd":"x"}', error: /not a JSON array/ },
  { name: 'a string', json: '"hd"', error: /not a JSON array/ },
  { name: 'null', json: 'null', error: /not a JSON array/ },
  { name: 'element is a string', json: '["hd"]', error: /^element 0 is not a JSON object/ },
  { name: 'element is null', json: '[{"a":1},null]', error: /^element 1 is not a JSON object/ },
  { name: 'element is an array', json: '[[{"hd":"x"}]]', error: /^element 0 is not a JSON object/ },
  {
    name: 'empty list of values',
    json: '[{"groups":[]}]',
    error: /^element 0: claim "groups" lists no accepted values/,
  },
  {
    name: 'object among values',
    json: '[{"groups":[{"a":1}]}]',
    error: /^element 0: claim "groups" may list only/,
  },
  {
    name: 'nested empty list of values',
    json: '[{"realm_access":{"roles":[]}}]',
    error: /^element 0: claim "realm_access.roles" lists no accepted values/,
  },
]

t.test('parseClaimRequirements', async (t) => {
  for (const { name, json, expected, error } of parseCases) {
    if (error === undefined) t.same(parseClaimRequirements(json), expected, name)
    else t.throws(() => parseClaimRequirements(json), { message: error }, name)
  }
})

t.test('a parsed __proto__ key stays an own key', async (t) => {
  const [requirement] = parseClaimRequirements('[{"__proto__":{"isAdmin":true}}]')
  t.ok(requirement && Object.hasOwn(requirement, '__proto__'))
  t.equal(({} as Record<string, unknown>).isAdmin, undefined)
})

t.test('grantedPermissions', async (t) => {
  const cases: { name: string; publish: string[]; edit: string[]; expected: Permission[] }[] = [
    { name: 'none', publish: [], edit: [], expected: [] },
    {
      name: 'admin',
      publish: ['*'],
      edit: ['*'],
      expected: [
        { action: 'publish', resource: '*' },
        { action: 'edit', resource: '*' },
      ],
    },
    {
      name: 'publish first, then edit, order kept',
      publish: ['com.example/*', 'io.example/tool'],
      edit: ['com.example/*'],
      expected: [
        { action: 'publish', resource: 'com.example/*' },
        { action: 'publish', resource: 'io.example/tool' },
        { action: 'edit', resource: 'com.example/*' },
      ],
    },
    {
      name: 'duplicates and blanks dropped, entries trimmed',
      publish: [' com.example/* ', 'com.example/*', '', '  '],
      edit: ['io.example/*', 'io.example/*'],
      expected: [
        { action: 'publish', resource: 'com.example/*' },
        { action: 'edit', resource: 'io.example/*' },
      ],
    },
  ]
  for (const { name, publish, edit, expected } of cases) {
    t.same(grantedPermissions(publish, edit), expected, name)
  }
})

t.test('resourcePatternMatches', async (t) => {
  const cases: [pattern: string, resource: string, matches: boolean][] = [
    ['*', 'anything/at-all', true],
    ['*', '', true],
    ['com.example/*', 'com.example/server', true],
    ['com.example/*', 'com.example/', true],
    ['com.example/*', 'com.example', false],
    ['com.example/*', 'com.example.evil/server', false],
    ['com.example*', 'com.example.evil/server', true],
    ['com.example/server', 'com.example/server', true],
    ['com.example/server', 'com.example/server2', false],
    ['com.example/server', 'Com.example/server', false],
    ['com.*/x', 'com.*/x', true],
    ['com.*/x', 'com.example/x', false],
  ]
  for (const [pattern, resource, matches] of cases) {
    t.equal(resourcePatternMatches(pattern, resource), matches, `${pattern} vs ${resource}`)
  }
})

t.test('blockedNamespaceFor', async (t) => {
  const publish = (...resources: string[]): Permission[] =>
    resources.map((resource) => ({ action: 'publish', resource }))
  const cases: { name: string; permissions: Permission[]; blocked: string[]; expected?: string }[] =
    [
      { name: 'no blocked namespaces', permissions: publish('com.evil/*'), blocked: [] },
      { name: 'no permissions', permissions: [], blocked: ['com.evil'] },
      {
        name: 'covers the blocked namespace',
        permissions: publish('com.evil/*'),
        blocked: ['com.evil'],
        expected: 'com.evil',
      },
      {
        name: 'broad prefix covers it',
        permissions: publish('com.*'),
        blocked: ['com.evil'],
        expected: 'com.evil',
      },
      {
        name: 'exact probe resource',
        permissions: publish('com.evil/test'),
        blocked: ['com.evil'],
        expected: 'com.evil',
      },
      {
        name: 'other exact resource is not probed',
        permissions: publish('com.evil/server'),
        blocked: ['com.evil'],
      },
      { name: 'unrelated namespace', permissions: publish('com.example/*'), blocked: ['com.evil'] },
      {
        name: 'edit only is not publishing',
        permissions: [{ action: 'edit', resource: 'com.evil/*' }],
        blocked: ['com.evil'],
      },
      {
        name: 'first blocked namespace in list order',
        permissions: publish('com.*'),
        blocked: ['org.bad', 'com.evil', 'com.worse'],
        expected: 'com.evil',
      },
      { name: 'global publish is exempt', permissions: publish('*'), blocked: ['com.evil'] },
      {
        name: 'global edit also exempts (as in the registry)',
        permissions: [...publish('com.evil/*'), { action: 'edit', resource: '*' }],
        blocked: ['com.evil'],
      },
      { name: 'blank namespace ignored', permissions: publish('/*'), blocked: [''] },
    ]
  for (const { name, permissions, blocked, expected } of cases) {
    t.equal(blockedNamespaceFor(permissions, blocked), expected, name)
  }
})

t.test('hand-built requirements with non-JSON values never match', async (t) => {
  const odd = [{ hd: undefined }, { hd: new Date(0) }] as unknown as ClaimRequirement[]
  for (const requirement of odd) {
    t.same(matchClaimRequirements([requirement], { hd: {} }), {
      ok: false,
      reason: 'claim "hd" does not match',
    })
  }
})
