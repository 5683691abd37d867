import t from 'tap'
import { parsePolicy } from '../../src/registry/policy-file.js'
import { githubIssuer, policyFileText, weatherRelease } from '../helpers/policy.js'

const options = { allowHttpIssuer: false, loginIssuer: 'https://login.example.com' }

const example = policyFileText(githubIssuer, weatherRelease)

t.test('the SPEC example parses, in YAML and in JSON', async (t) => {
  const policy = parsePolicy(example, options)
  t.same(policy.issuers, [
    {
      name: 'github-actions',
      issuer: 'https://token.actions.githubusercontent.com',
      audiences: ['https://registry.example.com'],
    },
  ])
  t.same(
    policy.rules.map((rule) => [
      rule.name,
      rule.issuer,
      rule.when,
      rule.publish.map((p) => p.source),
    ]),
    [
      ['admins', 'login', [{ groups: 'registry-admins' }], ['*']],
      [
        'own-namespace',
        'login',
        [{ email_verified: true }, { hd: 'example.com' }],
        ['com.example/{preferred_username}/*'],
      ],
      ['platform-team', 'login', [{ groups: 'platform' }], ['com.example/platform/*']],
      [
        'weather-release',
        'github-actions',
        [
          {
            repository: 'example/weather-mcp',
            repository_owner_id: '8675309',
            environment: 'release',
          },
        ],
        ['com.example/weather-mcp'],
      ],
    ],
  )
  const json = JSON.stringify({
    rules: [{ name: 'everyone', grant: { edit: ['com.example/*'] } }],
  })
  t.same(
    parsePolicy(json, options).rules[0]?.when,
    [],
    'a login rule without when applies to everyone',
  )
})

const rule = (extra: string) => `rules:\n  - name: r\n    grant: {publish: [a/*]}\n${extra}`

const invalid: Array<[name: string, text: string, problem: RegExp]> = [
  ['YAML syntax', 'rules: [\n  - a', /^is not valid YAML or JSON: .* at line \d+, column \d+$/],
  ['JSON syntax', '{"rules": [}', /^is not valid YAML or JSON: /],
  [
    'duplicate YAML keys',
    'rules: []\nrules: []',
    /^is not valid YAML or JSON: Map keys must be unique/,
  ],
  ['two documents', 'rules: []\n---\nrules: []', /^holds more than one YAML document$/],
  ['an empty file', '', /^must be a mapping with a list of rules/],
  ['a list at the top', '- a', /^must be a mapping/],
  ['unknown top-level key', 'rules: []\nrulez: []', /^the top level: unknown key "rulez"$/],
  ['no rules', 'issuers: []', /^the top level: missing key "rules"$/],
  ['empty rules', 'rules: []', /^the top level, rules: must not be empty$/],
  ['unknown rule key', rule('    whne: {a: b}'), /^rule "r": unknown key "whne"$/],
  [
    'unknown grant key',
    'rules:\n  - name: r\n    grant: {publsh: [a]}',
    /^rule "r", grant: unknown key "publsh"$/,
  ],
  ['rule without grant', 'rules:\n  - name: r', /^rule "r": missing key "grant"$/],
  ['rule without name', 'rules:\n  - grant: {publish: [a]}', /^rules\[0\]: missing key "name"$/],
  [
    'bad rule name',
    'rules:\n  - name: Admins\n    grant: {publish: [a]}',
    /^rules\[0\], name: must be lowercase letters, digits and "-"$/,
  ],
  [
    'a control character in an unknown key is escaped',
    'rules:\n  - name: r\n    grant: {publish: [a]}\n    "x\\ny": 1',
    /^rule "r": unknown key "x\\ny"$/,
  ],
  [
    'grant not a list',
    'rules:\n  - name: r\n    grant: {publish: a}',
    /^rule "r", grant\.publish: must be a list$/,
  ],
  [
    'a pattern not a string',
    'rules:\n  - name: r\n    grant: {publish: [1]}',
    /^rule "r", grant\.publish\[0\]: must be a string$/,
  ],
  ['empty grant', 'rules:\n  - name: r\n    grant: {}', /^rule "r", grant: grants nothing/],
  [
    'empty grant lists',
    'rules:\n  - name: r\n    grant: {publish: [], edit: []}',
    /^rule "r", grant: grants nothing/,
  ],
  [
    'duplicate rule names',
    'rules:\n  - name: r\n    grant: {publish: [a]}\n  - name: r\n    grant: {edit: [a]}',
    /^rule "r": the name is used twice$/,
  ],
  [
    'unknown issuer',
    rule('    issuer: gitlab'),
    /^rule "r", issuer: "gitlab" is neither "login" nor an issuer listed under issuers$/,
  ],
  [
    'template {}',
    'rules:\n  - name: r\n    grant: {publish: ["a/{}"]}',
    /^rule "r", grant\.publish\[0\]: has a malformed template "\{\}"/,
  ],
  [
    'template {a..b}',
    'rules:\n  - name: r\n    grant: {edit: ["a/{a..b}"]}',
    /^rule "r", grant\.edit\[0\]: has a malformed template "\{a\.\.b\}"/,
  ],
  [
    'unclosed template',
    'rules:\n  - name: r\n    grant: {publish: ["a/{user"]}',
    /^rule "r", grant\.publish\[0\]: has an unclosed "\{"$/,
  ],
  ['when not a mapping', rule('    when: groups'), /^rule "r", when is not a mapping$/],
  [
    'when list element not a mapping',
    rule('    when: [{a: b}, c]'),
    /^rule "r", when\[1\] is not a mapping$/,
  ],
  [
    'when with an empty list of values',
    rule('    when: {groups: []}'),
    /^rule "r", when: claim "groups" lists no accepted values/,
  ],
  [
    'a CI rule without conditions',
    'issuers:\n  - {name: ci, issuer: "https://ci.example.com", audiences: [x]}\nrules:\n  - name: r\n    issuer: ci\n    when: [{}]\n    grant: {publish: [a]}',
    /^rule "r": a rule of issuer "ci" needs at least one condition under when/,
  ],
  [
    'a CI rule without when',
    'issuers:\n  - {name: ci, issuer: "https://ci.example.com", audiences: [x]}\nrules:\n  - name: r\n    issuer: ci\n    grant: {publish: [a]}',
    /^rule "r": a rule of issuer "ci" needs at least one condition/,
  ],
  [
    'issuer named login',
    'issuers:\n  - {name: login, issuer: "https://ci.example.com", audiences: [x]}\n' +
      rule('') +
      '',
    /^issuer "login": the name "login" is reserved/,
  ],
  [
    'duplicate issuer names',
    'issuers:\n  - {name: ci, issuer: "https://a.example.com", audiences: [x]}\n  - {name: ci, issuer: "https://b.example.com", audiences: [x]}\n' +
      rule(''),
    /^issuer "ci": the name is used twice$/,
  ],
  [
    'duplicate issuer URLs',
    'issuers:\n  - {name: a, issuer: "https://a.example.com", audiences: [x]}\n  - {name: b, issuer: "https://a.example.com", audiences: [x]}\n' +
      rule(''),
    /^issuer "b", issuer: the same URL as issuer "a"$/,
  ],
  [
    'the login issuer listed again',
    `issuers:\n  - {name: a, issuer: "${options.loginIssuer}", audiences: [x]}\n${rule('')}`,
    /^issuer "a", issuer: the same URL as MCP_REGISTRY_OIDC_ISSUER/,
  ],
  [
    'the login issuer with a trailing slash',
    `issuers:\n  - {name: a, issuer: "${options.loginIssuer}/", audiences: [x]}\n${rule('')}`,
    /^issuer "a", issuer: the same URL as MCP_REGISTRY_OIDC_ISSUER/,
  ],
  [
    'an http issuer',
    `issuers:\n  - {name: a, issuer: "http://ci.example.com", audiences: [x]}\n${rule('')}`,
    /^issuer "a", issuer: must be https; set MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER=true only for development$/,
  ],
  [
    'an issuer that is no URL',
    `issuers:\n  - {name: a, issuer: "ci.example.com", audiences: [x]}\n${rule('')}`,
    /^issuer "a", issuer: is not an absolute URL$/,
  ],
  [
    'an issuer without audiences',
    `issuers:\n  - {name: a, issuer: "https://ci.example.com", audiences: []}\n${rule('')}`,
    /^issuer "a", audiences: must not be empty$/,
  ],
  [
    'an issuer with an unknown key',
    `issuers:\n  - {name: a, issuer: "https://ci.example.com", audience: [x]}\n${rule('')}`,
    /^issuer "a": missing key "audiences"$/,
  ],
]

t.test('each mistake is one line naming the rule or key and the problem', async (t) => {
  for (const [name, text, problem] of invalid) {
    t.throws(() => parsePolicy(text, options), { name: 'PolicyFileError', message: problem }, name)
    try {
      parsePolicy(text, options)
    } catch (error) {
      t.notMatch((error as Error).message, /\n/, `${name}: one line`)
    }
  }
})

t.test('ALLOW_HTTP_ISSUER covers the listed issuers', async (t) => {
  const text = `issuers:\n  - {name: a, issuer: "http://127.0.0.1:1", audiences: [x]}\n${rule('')}`
  t.equal(parsePolicy(text, { allowHttpIssuer: true }).issuers[0]?.issuer, 'http://127.0.0.1:1')
})
