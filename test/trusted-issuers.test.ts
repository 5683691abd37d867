// Trusted issuers end to end: two more real OpenID providers act as CI platforms (one
// GitHub-Actions-like, one GitLab-like) and sign pipeline ID tokens; the service exchanges them
// at POST /v0/auth/oidc, each verified with its own issuer's keys and judged by that issuer's
// rules only, while browser logins keep using the login provider.

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loginUntilCallback } from './helpers/login.js'
import { exchangeOutcome, policyFileEnv, policyFileText } from './helpers/policy.js'
import { callbackUrlFor, type RunningService, startService } from './helpers/service.js'
import { freePort, startTestProvider, type TestProvider } from './helpers/test-provider.js'
import { waitFor } from './helpers/wait.js'

const audience = 'https://registry.example.com'

const [port, outagePort] = [await freePort(), await freePort()]
const login = await startTestProvider({
  redirectUris: [port, outagePort].map(callbackUrlFor),
  accounts: [
    {
      sub: 'alice',
      preferred_username: 'alice',
      email: 'alice@example.com',
      email_verified: true,
      hd: 'example.com',
    },
  ],
})
const github = await startTestProvider({ redirectUris: ['http://127.0.0.1:1/unused'] })
const gitlab = await startTestProvider({ redirectUris: ['http://127.0.0.1:1/unused'] })
const stranger = await startTestProvider({ redirectUris: ['http://127.0.0.1:1/unused'] })
t.teardown(() => Promise.all([login, github, gitlab, stranger].map((p) => p.close())))

const ciIssuers = `  - name: github-actions
    issuer: ${github.issuer}
    audiences: [${audience}]
  - name: gitlab
    issuer: ${gitlab.issuer}
    audiences: [${audience}]`
const ciRules = `  - name: weather-release
    issuer: github-actions
    when: {repository: example/weather-mcp, repository_owner_id: "8675309", environment: release}
    grant: {publish: ["com.example/weather-mcp"]}
  - name: gitlab-tools
    issuer: gitlab
    when: {namespace_id: "4242", project_path: example/tools-mcp, ref_protected: "true"}
    grant: {publish: ["com.example/tools-mcp", "com.example/{project_name}-nightly"]}
`
const policyFile = join(mkdtempSync(join(tmpdir(), 'trusted-issuers-')), 'policy.yaml')
writeFileSync(policyFile, policyFileText(ciIssuers, ciRules))
const policyEnv = policyFileEnv(policyFile)

async function issuerReady(service: RunningService, issuer: string): Promise<void> {
  await waitFor(`the issuer ${issuer}`, () =>
    service.logs.entries().some((line) => line.msg === 'provider ready' && line.issuer === issuer)
      ? true
      : undefined,
  )
}

const service = await startService(login, port, policyEnv)
t.teardown(() => service.close())
await issuerReady(service, github.issuer)
await issuerReady(service, gitlab.issuer)

const weatherClaims = {
  aud: audience,
  sub: 'repo:example/weather-mcp:environment:release',
  repository: 'example/weather-mcp',
  repository_owner_id: '8675309',
  environment: 'release',
  ref: 'refs/heads/main',
}
const toolsClaims = {
  aud: audience,
  sub: 'project_path:example/tools-mcp:ref_type:tag:ref:v1.2.0',
  namespace_id: '4242',
  project_path: 'example/tools-mcp',
  project_name: 'tools-mcp',
  ref_protected: 'true',
}

const exchange = (target: RunningService, idToken: string) =>
  exchangeOutcome(target.baseUrl, idToken)

const ciToken = (provider: TestProvider, claims: Record<string, unknown>) =>
  provider.signIdToken(claims)

t.test('each pipeline gets exactly what its issuer’s rules grant', async (t) => {
  t.same(await exchange(service, await ciToken(github, weatherClaims)), {
    status: 200,
    permissions: ['publish com.example/weather-mcp'],
  })
  t.same(await exchange(service, await ciToken(gitlab, toolsClaims)), {
    status: 200,
    permissions: ['publish com.example/tools-mcp', 'publish com.example/tools-mcp-nightly'],
  })
  const lines = service.logs.entries().filter((line) => line.event === 'exchange_completed')
  t.same(
    lines.map((line) => [line.issuer, line.rules]),
    [
      ['github-actions', ['weather-release']],
      ['gitlab', ['gitlab-tools']],
    ],
  )
})

t.test('a pipeline that misses one pinned claim is refused', async (t) => {
  for (const [name, claims] of [
    ['another environment', { ...weatherClaims, environment: 'pr-preview' }],
    ['an owner id as a number', { ...weatherClaims, repository_owner_id: 8675309 }],
    ['another repository', { ...weatherClaims, repository: 'evil/weather-mcp' }],
  ] as const) {
    t.same(
      await exchange(service, await ciToken(github, claims)),
      { status: 403, error: 'claims_not_allowed' },
      name,
    )
  }
  t.same(
    await exchange(service, await ciToken(gitlab, { ...toolsClaims, ref_protected: 'false' })),
    { status: 403, error: 'claims_not_allowed' },
    'an unprotected GitLab ref',
  )
})

t.test('only the rules of the token’s own issuer apply', async (t) => {
  // The GitHub pipeline's claims from GitLab, and from the login provider: no rule of theirs.
  t.same(await exchange(service, await ciToken(gitlab, weatherClaims)), {
    status: 403,
    error: 'claims_not_allowed',
  })
  t.same(
    await exchange(service, await login.signIdToken({ ...weatherClaims, aud: login.clientId })),
    { status: 403, error: 'claims_not_allowed' },
  )
  // A CI token whose claims match a login rule gets nothing from it.
  t.same(
    await exchange(
      service,
      await ciToken(github, { ...weatherClaims, environment: 'x', groups: 'registry-admins' }),
    ),
    { status: 403, error: 'claims_not_allowed' },
  )
})

t.test('a token is verified with its issuer’s own keys and audiences', async (t) => {
  const cases: Array<[string, Promise<string>]> = [
    ['another audience', ciToken(github, { ...weatherClaims, aud: 'https://other.example' })],
    ['the login client as audience', ciToken(github, { ...weatherClaims, aud: login.clientId })],
    [
      'signed by the login provider, claiming the CI issuer',
      login.signIdToken({ ...weatherClaims, iss: github.issuer }),
    ],
    [
      'signed by another CI issuer, claiming this one',
      gitlab.signIdToken({ ...weatherClaims, iss: github.issuer }),
    ],
    ['an issuer that is not configured', ciToken(stranger, weatherClaims)],
    [
      'the CI issuer spelt with a trailing slash',
      github.signIdToken({ ...weatherClaims, iss: `${github.issuer}/` }),
    ],
    ['expired', ciToken(github, { ...weatherClaims, exp: Math.floor(Date.now() / 1000) - 120 })],
    ['unsigned', github.signIdToken(weatherClaims, { alg: 'none' })],
    ['not a JWT', Promise.resolve('not.a.jwt')],
  ]
  for (const [name, token] of cases) {
    t.same(await exchange(service, await token), { status: 401, error: 'id_token_invalid' }, name)
  }
  t.notMatch(service.logs.text, stranger.issuer, 'the log never repeats an unknown iss')
})

t.test(
  'one issuer down: only its tokens get 503; logins and /readyz follow the login provider',
  async (t) => {
    await gitlab.stop()
    let down = true
    t.teardown(() => (down ? gitlab.resume() : undefined))
    const outage = await startService(login, outagePort, policyEnv)
    t.teardown(() => outage.close())
    await issuerReady(outage, github.issuer)

    t.same(await exchange(outage, await ciToken(gitlab, toolsClaims)), {
      status: 503,
      error: 'provider_unavailable',
    })
    t.same(await exchange(outage, await ciToken(github, weatherClaims)), {
      status: 200,
      permissions: ['publish com.example/weather-mcp'],
    })
    t.equal((await fetch(`${outage.baseUrl}/readyz`)).status, 200)
    const { browser, callbackUrl } = await loginUntilCallback(
      `${outage.baseUrl}/v0/auth/oidc/start`,
    )
    const response = await browser.request(callbackUrl, { headers: { accept: 'application/json' } })
    t.match(await response.json(), { registry_token: String }, 'alice still signs in')

    await gitlab.resume()
    down = false
    await issuerReady(outage, gitlab.issuer)
    t.same(await exchange(outage, await ciToken(gitlab, toolsClaims)), {
      status: 200,
      permissions: ['publish com.example/tools-mcp', 'publish com.example/tools-mcp-nightly'],
    })
  },
)
