// Permission rules end to end: browser logins of different users at the real test provider, and
// exchanges of its ID tokens, against a service configured with a policy file. The minted tokens
// are verified as the registry verifies them and must carry exactly the rules' permissions.

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loginUntilCallback } from './helpers/login.js'
import { sampleValue } from './helpers/metrics.js'
import {
  exchangeOutcome,
  type Outcome,
  outcomeOf,
  policyFileEnv,
  policyFileText,
} from './helpers/policy.js'
import { callbackUrlFor, type RunningService, startService } from './helpers/service.js'
import { freePort, startTestProvider, type TestAccount } from './helpers/test-provider.js'

const accounts: TestAccount[] = [
  {
    sub: 'alice',
    preferred_username: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    hd: 'example.com',
    groups: ['engineering'],
  },
  {
    sub: 'bob',
    preferred_username: 'bob',
    email: 'bob@example.com',
    email_verified: true,
    hd: 'example.com',
    groups: ['registry-admins'],
  },
  {
    sub: 'carol',
    preferred_username: 'carol',
    email: 'carol@partner.test',
    email_verified: true,
    hd: 'partner.test',
    groups: ['platform'],
  },
  {
    sub: 'mallory',
    preferred_username: 'mallory',
    email: 'mallory@evil.test',
    email_verified: true,
    hd: 'evil.test',
    groups: ['guests'],
  },
  {
    sub: 'eve',
    preferred_username: 'eve/../bob',
    email: 'eve@example.com',
    email_verified: true,
    hd: 'example.com',
    groups: ['engineering'],
  },
]

const policyFile = join(mkdtempSync(join(tmpdir(), 'policy-e2e-')), 'policy.yaml')
writeFileSync(policyFile, policyFileText())

const [port, blockedPort] = [await freePort(), await freePort()]
const provider = await startTestProvider({
  redirectUris: [port, blockedPort].map(callbackUrlFor),
  accounts,
})
t.teardown(() => provider.close())

const policyEnv = policyFileEnv(policyFile)
const service: RunningService = await startService(provider, port, policyEnv)
t.teardown(() => service.close())

async function browserLogin(target: RunningService, account: string): Promise<Outcome> {
  provider.loginAs = account
  const { browser, callbackUrl } = await loginUntilCallback(`${target.baseUrl}/v0/auth/oidc/start`)
  return outcomeOf(await browser.request(callbackUrl, { headers: { accept: 'application/json' } }))
}

async function exchange(target: RunningService, account: string): Promise<Outcome> {
  return exchangeOutcome(target.baseUrl, await provider.obtainIdToken({ account }))
}

const expected: Record<string, Outcome> = {
  alice: { status: 200, permissions: ['publish com.example/alice/*'] },
  bob: { status: 200, permissions: ['publish *', 'publish com.example/bob/*', 'edit *'] },
  carol: {
    status: 200,
    permissions: ['publish com.example/platform/*', 'edit com.example/platform/*'],
  },
  mallory: { status: 403, error: 'claims_not_allowed' },
  eve: { status: 403, error: 'claims_not_allowed' },
}

t.test(
  'each user gets exactly what the matching rules grant, by login and by exchange',
  async (t) => {
    t.teardown(() => {
      provider.loginAs = 'alice'
    })
    for (const [account, outcome] of Object.entries(expected)) {
      t.same(await browserLogin(service, account), outcome, `${account}: browser login`)
      t.same(await exchange(service, account), outcome, `${account}: exchange`)
    }
  },
)

t.test('the outcome lines name the rules, refusals name claims but no values', async (t) => {
  const lines = service.logs.entries()
  const completed = lines.filter((line) => line.event === 'login_completed')
  t.same(
    completed.map((line) => [line.sub, line.rules]),
    [
      ['alice', ['own-namespace']],
      ['bob', ['admins', 'own-namespace']],
      ['carol', ['platform-team']],
    ],
  )
  const refusedEve = lines.find((line) => line.event === 'login_failed' && line.sub === 'eve')
  t.match(
    refusedEve?.reason,
    /rule "own-namespace": claim "preferred_username" cannot fill the grant com\.example\/\{preferred_username\}\/\*/,
  )
  t.notMatch(service.logs.text, 'eve/../bob', 'the hostile value is never logged')
  t.notMatch(service.logs.text, 'evil.test', 'nor any other claim value of a refused user')
})

t.test('metrics count grants per rule', async (t) => {
  const page = await service.app.metrics.registry.metrics()
  const grants = (rule: string) =>
    sampleValue(page, 'mcp_registry_oidc_rule_grants_total', { rule })
  // Each of alice, bob and carol logged in once and exchanged once.
  t.equal(grants('admins'), 2)
  t.equal(grants('own-namespace'), 4)
  t.equal(grants('platform-team'), 2)
})

t.test('the token page names the rules that granted the token', async (t) => {
  provider.loginAs = 'bob'
  t.teardown(() => {
    provider.loginAs = 'alice'
  })
  const { browser, callbackUrl } = await loginUntilCallback(`${service.baseUrl}/v0/auth/oidc/start`)
  const page = await (
    await browser.request(callbackUrl, { headers: { accept: 'text/html' } })
  ).text()
  t.match(page, 'Granted by rules <code>admins</code>, <code>own-namespace</code>.')
})

t.test('blocked namespaces are judged per token, after templates', async (t) => {
  const blocked = await startService(provider, blockedPort, {
    ...policyEnv,
    MCP_REGISTRY_BLOCKED_NAMESPACES: 'com.example/alice',
  })
  t.teardown(() => blocked.close())
  t.same(await exchange(blocked, 'alice'), { status: 403, error: 'namespace_blocked' })
  t.same(await exchange(blocked, 'bob'), expected.bob, 'a token holding * is not refused')
  t.same(await exchange(blocked, 'carol'), expected.carol, 'other namespaces are not affected')
})
