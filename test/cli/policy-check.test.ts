import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { UnsecuredJWT } from 'jose'
import t from 'tap'
import { printableClaim } from '../../src/cli/policy-check.js'
import { runCapturing } from '../helpers/cli.js'

const example = fileURLToPath(new URL('../../examples/policy.yaml', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'policy-check-'))

function claimsFile(name: string, claims: unknown): string {
  const path = join(dir, `${name}.json`)
  writeFileSync(path, JSON.stringify(claims))
  return path
}

const policyCheck = (args: string[], env: Record<string, string> = {}) =>
  runCapturing(['policy', 'check', ...args], env)

const alice = claimsFile('alice', {
  sub: 'alice',
  email_verified: true,
  hd: 'example.com',
  preferred_username: 'alice',
  groups: ['platform'],
})

t.test('a match: every rule, then the permissions and the rules that granted them', async (t) => {
  const { code, stdout, stderr } = await policyCheck(['--file', example, '--claims', alice])
  t.equal(code, 0)
  t.equal(stderr, '')
  t.equal(
    stdout,
    `Policy file: ${example}
Issuer: login
Claims: ${alice}
Subject: alice

Rules:
  admins           not matched: claim "groups" does not match
  own-namespace    matched
  platform-team    matched
  weather-release  skipped (a rule of issuer github-actions)
  gitlab-tools     skipped (a rule of issuer gitlab)

Permissions:
  publish  com.example/alice/*
  publish  com.example/platform/*
  edit     com.example/platform/*
Granted by: own-namespace, platform-team
`,
  )
})

t.test('a refusal exits 1 and names the first failing condition of each rule', async (t) => {
  const mallory = claimsFile('mallory', {
    sub: 'mallory',
    email_verified: true,
    hd: 'evil.test',
    preferred_username: 'mallory',
    groups: ['guests'],
  })
  const { code, stdout } = await policyCheck(['--file', example, '--claims', mallory])
  t.equal(code, 1)
  t.match(stdout, '  own-namespace    not matched: claim "hd" does not match\n')
  t.match(stdout, /\nPermissions: none; the service would answer 403 claims_not_allowed\n$/)
})

t.test('a blocked namespace from the environment, judged after templates', async (t) => {
  const { code, stdout } = await policyCheck(['--file', example, '--claims', alice], {
    MCP_REGISTRY_BLOCKED_NAMESPACES: 'com.example/alice',
  })
  t.equal(code, 1)
  t.match(stdout, 'Blocked namespaces: com.example/alice\n')
  t.match(stdout, 'Permissions: none; the service would answer 403 namespace_blocked')
})

t.test(
  'a token is decoded, not verified, and says so; its claim values are made printable',
  async (t) => {
    const token = new UnsecuredJWT({
      iss: 'https://token.actions.githubusercontent.com',
      sub: 'repo:example/weather-mcp:environment:release\u001b[31m\u202e',
      repository: 'example/weather-mcp',
      repository_owner_id: '8675309',
      environment: 'release',
      ref: 'refs/heads/main',
    }).encode()
    const hinted = await policyCheck(['--file', example, '--token', token])
    t.equal(hinted.code, 1, 'as a login token no rule applies')
    t.match(hinted.stdout, 'NOT verified')
    t.match(
      hinted.stdout,
      `Note: the token's iss is issuer "github-actions" of the file; add --issuer github-actions`,
    )
    t.notOk(
      hinted.stdout.includes('\u001b') || hinted.stdout.includes('\u202e'),
      'no escape sequence or bidi override is printed',
    )
    t.match(hinted.stdout, 'Subject: repo:example/weather-mcp:environment:release\n')

    const { code, stdout } = await policyCheck([
      '--file',
      example,
      '--token',
      token,
      '--issuer',
      'github-actions',
    ])
    t.equal(code, 0)
    t.match(stdout, '  admins           skipped (a rule of issuer login)\n')
    t.match(stdout, '  weather-release  matched\n')
    t.match(
      stdout,
      'Permissions:\n  publish  com.example/weather-mcp\nGranted by: weather-release\n',
    )
  },
)

t.test('usage and policy-file errors exit 2 with one message on stderr', async (t) => {
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'rules:\n  - name: r\n    grant: {publish: ["a/{user"]}\n')
  const notJson = join(dir, 'not.json')
  writeFileSync(notJson, '{')
  const cases: Array<[string[], RegExp]> = [
    [['--claims', alice], /^--file is required\./],
    [['--file', example], /^Give either --claims or --token\./],
    [['--file', example, '--claims', alice, '--token', 'x'], /^Give either --claims or --token\./],
    [
      ['--file', bad, '--claims', alice],
      /^policy file .*bad\.yaml: rule "r", grant\.publish\[0\]: has an unclosed "\{"\n/,
    ],
    [
      ['--file', join(dir, 'none.yaml'), '--claims', alice],
      /^policy file .*none\.yaml: does not exist\n/,
    ],
    [
      ['--file', example, '--claims', alice, '--issuer', 'gitlab-ci'],
      /^--issuer gitlab-ci is neither "login" nor an issuer of the policy file\./,
    ],
    [['--file', example, '--claims', notJson], /^--claims .*not\.json: /],
    [['--file', example, '--token', 'not-a-jwt'], /^--token is not a JWT/],
    [['--file', example, '--claims', alice, '--verbose'], /Unknown option '--verbose'/],
  ]
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await policyCheck(args)
    t.equal(code, 2, args.join(' '))
    t.equal(stdout, '')
    t.match(stderr, message, args.join(' '))
    t.match(stderr, 'Run "mcp-registry-oidc policy --help" for its options.')
  }
  t.equal((await runCapturing(['policy'])).code, 2, 'policy without check')
  const help = await runCapturing(['policy', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, 'Usage: mcp-registry-oidc policy check --file <policy>')
})

t.test('printableClaim', async (t) => {
  t.equal(printableClaim('a\u0000b\u001b[2Jc\u200e\u2066d'), 'abcd')
  t.equal(printableClaim(42), '42')
  t.equal(printableClaim('x'.repeat(300)).length, 201)
})
