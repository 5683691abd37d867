import assert from 'node:assert/strict'
import fc from 'fast-check'
import t from 'tap'
import type { ClaimRequirement } from '../../src/registry/policy.js'
import {
  decide,
  ENVIRONMENT_RULE,
  environmentPolicy,
  judgeRule,
  LOGIN_ISSUER,
  literalPattern,
  type PermissionRule,
  parseGrantPattern,
  rulesReachingBlockedNamespaces,
} from '../../src/registry/rules.js'

function rule(
  name: string,
  when: ClaimRequirement[],
  grant: { publish?: string[]; edit?: string[] },
  issuer = LOGIN_ISSUER,
): PermissionRule {
  return {
    name,
    issuer,
    when,
    publish: (grant.publish ?? []).map(parseGrantPattern),
    edit: (grant.edit ?? []).map(parseGrantPattern),
  }
}

const rules: PermissionRule[] = [
  rule('admins', [{ groups: 'registry-admins' }], { publish: ['*'], edit: ['*'] }),
  rule('own-namespace', [{ email_verified: true }, { hd: 'example.com' }], {
    publish: ['com.example/{preferred_username}/*'],
  }),
  rule('keycloak-team', [{ realm_access: { roles: 'publisher' } }], {
    publish: ['com.example/{team.slug}/*', 'com.example/shared'],
    edit: ['com.example/{team.slug}/*'],
  }),
  rule(
    'weather-release',
    [{ repository: 'example/weather-mcp', repository_owner_id: '8675309', environment: 'release' }],
    { publish: ['com.example/weather-mcp'] },
    'github-actions',
  ),
]

const alice = {
  sub: 'alice',
  email_verified: true,
  hd: 'example.com',
  preferred_username: 'alice',
  groups: ['engineering'],
}

interface DecideCase {
  name: string
  issuer?: string
  claims: Record<string, unknown>
  blocked?: string[]
  permissions?: string[]
  rules?: string[]
  error?: string
  reason?: RegExp
}

const decideCases: DecideCase[] = [
  {
    name: 'own namespace from a template',
    claims: alice,
    permissions: ['publish com.example/alice/*'],
    rules: ['own-namespace'],
  },
  {
    name: 'an admin also matching own-namespace: union in rule order, publish first',
    claims: { ...alice, groups: ['registry-admins'] },
    permissions: ['publish *', 'publish com.example/alice/*', 'edit *'],
    rules: ['admins', 'own-namespace'],
  },
  {
    name: 'nested template and duplicate patterns kept once',
    claims: {
      ...alice,
      preferred_username: 'shared',
      realm_access: { roles: ['publisher'] },
      team: { slug: 'alice' },
    },
    permissions: [
      'publish com.example/shared/*',
      'publish com.example/alice/*',
      'publish com.example/shared',
      'edit com.example/alice/*',
    ],
    rules: ['own-namespace', 'keycloak-team'],
  },
  {
    name: 'no rule matches: every rule of the issuer named, no value',
    claims: { sub: 'mallory', hd: 'evil.test', groups: ['guests'] },
    error: 'claims_not_allowed',
    reason:
      /^rule "admins": claim "groups" does not match; rule "own-namespace": claim "email_verified" is missing; rule "keycloak-team": claim "realm_access" is missing$/,
  },
  {
    name: 'a template value with a slash: the rule does not apply',
    claims: { ...alice, preferred_username: 'alice/../bob' },
    error: 'claims_not_allowed',
    reason:
      /claim "preferred_username" cannot fill the grant com.example\/\{preferred_username\}\/\*/,
  },
  {
    name: 'a template value that is not a string',
    claims: { ...alice, preferred_username: ['alice'] },
    error: 'claims_not_allowed',
    reason: /claim "preferred_username" cannot fill/,
  },
  {
    name: 'a missing template claim',
    claims: { sub: 'x', email_verified: true, hd: 'example.com' },
    error: 'claims_not_allowed',
    reason: /claim "preferred_username" for the grant .* is missing/,
  },
  {
    name: 'the CI rule applies only to its issuer',
    issuer: 'github-actions',
    claims: {
      ...alice,
      repository: 'example/weather-mcp',
      repository_owner_id: '8675309',
      environment: 'release',
    },
    permissions: ['publish com.example/weather-mcp'],
    rules: ['weather-release'],
  },
  {
    name: 'a CI token with a numeric owner id does not match a string',
    issuer: 'github-actions',
    claims: {
      repository: 'example/weather-mcp',
      repository_owner_id: 8675309,
      environment: 'release',
    },
    error: 'claims_not_allowed',
    reason: /^rule "weather-release": claim "repository_owner_id" does not match$/,
  },
  {
    name: 'an issuer without rules',
    issuer: 'gitlab',
    claims: alice,
    error: 'claims_not_allowed',
    reason: /^no rule for the issuer "gitlab"$/,
  },
  {
    name: 'blocked namespace judged on the filled-in grant',
    claims: alice,
    blocked: ['com.example/alice'],
    error: 'namespace_blocked',
    reason: /blocked namespace com.example\/alice$/,
  },
  {
    name: 'blocked namespace of someone else',
    claims: alice,
    blocked: ['com.example/bob'],
    permissions: ['publish com.example/alice/*'],
    rules: ['own-namespace'],
  },
  {
    name: 'a token holding * passes blocked namespaces',
    claims: { ...alice, groups: ['registry-admins'] },
    blocked: ['com.example/alice'],
    permissions: ['publish *', 'publish com.example/alice/*', 'edit *'],
    rules: ['admins', 'own-namespace'],
  },
]

t.test('decide', async (t) => {
  for (const c of decideCases) {
    const decision = decide(rules, c.issuer ?? LOGIN_ISSUER, c.claims, c.blocked ?? [])
    if (c.error === undefined) {
      t.ok(decision.ok, c.name)
      if (!decision.ok) continue
      t.same(
        decision.permissions.map((p) => `${p.action} ${p.resource}`),
        c.permissions,
        c.name,
      )
      t.same(decision.rules, c.rules, c.name)
    } else {
      t.notOk(decision.ok, c.name)
      if (decision.ok) continue
      t.equal(decision.error, c.error, c.name)
      t.match(decision.reason, c.reason ?? /./, c.name)
    }
  }
})

t.test('the environment form is one rule: same patterns, taken literally', async (t) => {
  const policy = environmentPolicy([{ hd: 'example.com' }], ['com.example/{x}/*', '*'], ['e'])
  t.same(
    policy.rules.map((r) => r.name),
    [ENVIRONMENT_RULE],
  )
  const ok = decide(policy.rules, LOGIN_ISSUER, { hd: 'example.com', x: 'evil' }, [])
  t.same(ok, {
    ok: true,
    permissions: [
      { action: 'publish', resource: 'com.example/{x}/*' },
      { action: 'publish', resource: '*' },
      { action: 'edit', resource: 'e' },
    ],
    rules: [ENVIRONMENT_RULE],
  })
  t.same(decide(policy.rules, LOGIN_ISSUER, { hd: 'other' }, []), {
    ok: false,
    error: 'claims_not_allowed',
    reason: 'rule "environment": claim "hd" does not match',
  })
  // No requirements and no permissions: everyone gets a token without permissions, as before.
  const bare = environmentPolicy([], [], [])
  t.same(decide(bare.rules, LOGIN_ISSUER, { sub: 'x' }, []), {
    ok: true,
    permissions: [],
    rules: [ENVIRONMENT_RULE],
  })
  t.same(decide(bare.rules, 'github-actions', { sub: 'x' }, []), {
    ok: false,
    error: 'claims_not_allowed',
    reason: 'no rule for the issuer "github-actions"',
  })
})

t.test('parseGrantPattern', async (t) => {
  const good: Array<[string, unknown[]]> = [
    ['*', [{ text: '*' }]],
    [
      'com.example/{preferred_username}/*',
      [{ text: 'com.example/' }, { claim: ['preferred_username'] }, { text: '/*' }],
    ],
    ['{a.b}{c}', [{ claim: ['a', 'b'] }, { claim: ['c'] }]],
    [
      'io.github.{repository_owner}/*',
      [{ text: 'io.github.' }, { claim: ['repository_owner'] }, { text: '/*' }],
    ],
  ]
  for (const [source, parts] of good) t.same(parseGrantPattern(source).parts, parts, source)
  const bad: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['com.example/{}', /malformed template "\{\}"/],
    ['com.example/{a..b}', /malformed template "\{a\.\.b\}"/],
    ['com.example/{a.}', /malformed template/],
    ['com.example/{.a}', /malformed template/],
    ['com.example/{a{b}}', /malformed template "\{a\{b\}"/],
    ['com.example/{user', /unclosed "\{"/],
    ['com.example/user}', /"\}" without a "\{"/],
    ['com.example/{a b}', /whitespace/],
    ['com..example/*', /contains "\.\."/],
  ]
  for (const [source, problem] of bad) {
    t.throws(() => parseGrantPattern(source), { message: problem }, JSON.stringify(source))
  }
})

t.test('a value ending in "." next to a "." of the pattern does not make ".."', async (t) => {
  const dotted = rule('dotted', [], { publish: ['io.{owner}.mcp/*'] })
  t.same(judgeRule(dotted, { owner: 'acme' }), {
    rule: 'dotted',
    matched: true,
    publish: ['io.acme.mcp/*'],
    edit: [],
  })
  t.same(judgeRule(dotted, { owner: 'acme.' }), {
    rule: 'dotted',
    matched: false,
    reason: 'the grant io.{owner}.mcp/* would contain ".." once filled',
  })
})

t.test('judgeRule names the first failing condition', async (t) => {
  t.same(judgeRule(rules[1] as PermissionRule, { email_verified: false }), {
    rule: 'own-namespace',
    matched: false,
    reason: 'claim "email_verified" does not match',
  })
})

t.test('rules whose fixed publish patterns reach a blocked namespace', async (t) => {
  t.same(
    rulesReachingBlockedNamespaces(
      [
        rule('admins', [], { publish: ['*'] }),
        rule('team', [], { publish: ['com.example/*'] }),
        rule('own', [], { publish: ['com.example/{user}/*'] }),
        rule('edit-only', [], { edit: ['com.example/*'] }),
      ],
      ['com.example'],
    ),
    [{ rule: 'team', namespace: 'com.example' }],
  )
  t.same(literalPattern('a{b}').parts, [{ text: 'a{b}' }])
})

// Property-based: claims are hostile input.

const templated = [
  rule('one', [], { publish: ['com.example/{v}/*', 'x.{v}.y'], edit: ['{v}'] }),
  rule('nested', [], { publish: ['{a.b}-{v}'] }),
]

const hostileString = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.stringMatching(/^[A-Za-z0-9._/*-]{0,110}$/),
  fc.constantFrom('..', '.', '-a', 'a.', '*', '/', 'a/b', '.hidden', 'a..b', 'ok', ''),
)
const claimValue = fc.oneof(
  hostileString,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 3 }),
)

t.test('a claim value never adds "/", "*" or ".." to a granted resource', async (t) => {
  fc.assert(
    fc.property(claimValue, claimValue, (v, b) => {
      const decision = decide(templated, LOGIN_ISSUER, { v, a: { b } }, [])
      if (!decision.ok) return
      for (const { resource } of decision.permissions) {
        const literal = resource.startsWith('com.example/')
          ? resource.slice('com.example/'.length, -2)
          : resource.replace(/^x\./, '').replace(/\.y$/, '')
        if (literal.includes('/') || literal.includes('*') || resource.includes('..')) {
          throw new Error(`widened: ${JSON.stringify(resource)}`)
        }
      }
      assert.ok(!(typeof v === 'string' && /[/*]|\.\./.test(v)), 'an unsafe value never grants')
    }),
    { numRuns: 2000 },
  )
  t.pass('2000 runs')
})

t.test('the union is order-stable and free of duplicates', async (t) => {
  const patterns = fc.array(fc.constantFrom('*', 'a/*', 'b/*', 'a/x', '{v}/*'), { maxLength: 4 })
  const ruleArb = fc.record({
    publish: patterns,
    edit: patterns,
    applies: fc.boolean(),
  })
  fc.assert(
    fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 6 }), (specs) => {
      const built = specs.map((spec, index) =>
        rule(`r${index}`, spec.applies ? [] : [{ never: true }], {
          publish: spec.publish,
          edit: spec.edit,
        }),
      )
      const claims = { v: 'alice' }
      const first = decide(built, LOGIN_ISSUER, claims, [])
      const again = decide(built, LOGIN_ISSUER, claims, [])
      assert.deepEqual(first, again)
      if (!first.ok) {
        assert.ok(specs.every((spec) => !spec.applies))
        return
      }
      // Expected: walk the matching rules in order, publish entries of all first, then edit.
      const expected: string[] = []
      for (const action of ['publish', 'edit'] as const) {
        for (const spec of specs.filter((s) => s.applies)) {
          for (const pattern of spec[action]) {
            const entry = `${action} ${pattern.replace('{v}', 'alice')}`
            if (!expected.includes(entry)) expected.push(entry)
          }
        }
      }
      assert.deepEqual(
        first.permissions.map((p) => `${p.action} ${p.resource}`),
        expected,
      )
      assert.deepEqual(
        first.rules,
        built.filter((_, index) => specs[index]?.applies).map((r) => r.name),
      )
    }),
    { numRuns: 500 },
  )
  t.pass('500 runs')
})
