// The login routes share one budget per client address, across routes and version prefixes;
// the 429 is in the SPEC's error format with Retry-After; health endpoints are never limited;
// X-Forwarded-For counts only from proxies named in MCP_REGISTRY_OIDC_TRUST_PROXY.

import t from 'tap'
import {
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'

const stages: RealStage[] = []
async function stage(env: Record<string, string>) {
  const created = await startRealStage(env)
  stages.push(created)
  return created
}

function request(s: RealStage, path: string, init: RequestInit = {}) {
  return fetch(`${s.base}${path}`, { redirect: 'manual', ...init })
}

t.test('one budget for the four routes under both prefixes', async (t) => {
  const limited = await stage({
    MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '6',
    MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS: '60',
  })
  const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }
  const used = [
    await request(limited, '/v0/auth/oidc/start'),
    await request(limited, '/v0.1/auth/oidc/start'),
    await request(limited, '/v0/auth/oidc', post),
    await request(limited, '/v0.1/auth/oidc/callback'),
    await request(limited, '/v0.1/auth/oidc', post),
    await request(limited, '/v0/auth/oidc/token', post),
  ]
  t.same(
    used.map((response) => response.status),
    [302, 302, 400, 400, 400, 400],
    'six requests within the budget',
  )
  t.equal(used[5]?.headers.get('x-ratelimit-remaining'), '0')

  // A forged X-Forwarded-For changes nothing while no proxy is trusted.
  const over = await refusal(limited.service, () =>
    request(limited, '/v0/auth/oidc/start', { headers: { 'x-forwarded-for': '198.51.100.7' } }),
  )
  t.match(over, refused(429, 'rate_limited', /more than 6 requests in 60 s/))
  t.match(over.description, /try again in \d+ seconds/)
  const retryAfter = Number(over.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`)
  t.equal(over.headers.get('cache-control'), 'no-store')

  const page = await request(limited, '/v0.1/auth/oidc/callback', {
    headers: { accept: 'text/html' },
  })
  t.equal(page.status, 429)
  t.ok(page.headers.get('retry-after'))
  t.match(await page.text(), 'rate_limited')

  for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json']) {
    t.equal((await request(limited, path)).status, 200, `${path} is not limited`)
  }
})

t.test('behind a trusted proxy, each client address has its own budget', async (t) => {
  const proxied = await stage({
    MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '2',
    MCP_REGISTRY_OIDC_TRUST_PROXY: '127.0.0.1',
  })
  const from = (forwardedFor: string) =>
    request(proxied, '/v0/auth/oidc/start', { headers: { 'x-forwarded-for': forwardedFor } })
  t.equal((await from('203.0.113.1')).status, 302)
  t.equal((await from('203.0.113.1')).status, 302)
  t.match(await refusal(proxied.service, () => from('203.0.113.1')), refused(429, 'rate_limited'))
  t.match(
    await refusal(proxied.service, () => from('192.0.2.66, 203.0.113.1')),
    refused(429, 'rate_limited'),
    'a client cannot escape by adding its own X-Forwarded-For entries: the proxy appends the real one',
  )
  t.equal((await from('203.0.113.2')).status, 302, 'another client is not affected')
  for (const forged of ['your own address 192.0.2.10 (verified)', 'x'.repeat(12_000), 'unknown']) {
    t.match(
      await refusal(proxied.service, () => from(forged)),
      refused(400, 'invalid_request', /not an IP address/),
      'an entry that is no IP address never stands for the client',
    )
  }
  const logged = proxied.service.logs
    .entries()
    .some(
      (entry) =>
        (entry.req as { remoteAddress?: string } | undefined)?.remoteAddress === '203.0.113.2',
    )
  t.ok(logged, 'the logs name the client, not the proxy')
})

checkLogsLast(stages)
