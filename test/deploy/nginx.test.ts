import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import type { JWK } from 'jose'
import t from 'tap'
import { approveInBrowser, pollDeviceToken, requestDeviceLogin } from '../helpers/device.js'
import { loginUntilCallback } from '../helpers/login.js'
import { nginxMissing, startNginx } from '../helpers/nginx.js'
import { registryPublicKey } from '../helpers/registry-key.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { startService, testSigningSeedHex } from '../helpers/service.js'
import { freePort, startTestProvider } from '../helpers/test-provider.js'

const TEMPLATE = new URL('../../deploy/nginx/mcp-registry.conf.template', import.meta.url)

/** Fills in ${NAME} the way the nginx image's entrypoint (envsubst) does; every name must be given. */
function renderTemplate(template: string, variables: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const value = variables[name]
    if (value === undefined) throw new Error(`the template needs ${name}`)
    return value
  })
}

await whenToolPresent(t, nginxMissing(), run)

interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  publishedBy?: string
}

/** Stands in for the registry: records what reaches it; POST /v0/publish checks the token as it would. */
async function startRegistryStub(port: number) {
  const seen: SeenRequest[] = []
  const server = createServer(async (request, response) => {
    const record: SeenRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
    }
    seen.push(record)
    if (request.method === 'POST' && request.url === '/v0/publish') {
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? ''
      try {
        const claims = await verifyRegistryToken(token, registryPublicKey(testSigningSeedHex))
        record.publishedBy = claims.auth_method_sub
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"published":true}')
      } catch {
        response
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"title":"Unauthorized"}')
      }
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"from":"registry"}')
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

async function run(): Promise<void> {
  const [nginxPort, servicePort, registryPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  const base = `http://127.0.0.1:${nginxPort}`
  const provider = await startTestProvider({
    redirectUris: [`${base}/v0/auth/oidc/callback`, `${base}/v0.1/auth/oidc/callback`],
  })
  t.teardown(() => provider.close())
  // The service listens on its own port; its public URL is nginx's.
  const service = await startService(provider, servicePort, { MCP_REGISTRY_OIDC_PUBLIC_URL: base })
  t.teardown(() => service.close())
  const registry = await startRegistryStub(registryPort)
  t.teardown(() => registry.close())

  const site = renderTemplate(await readFile(TEMPLATE, 'utf8'), {
    NGINX_PORT: `127.0.0.1:${nginxPort}`,
    OIDC_UPSTREAM: `127.0.0.1:${servicePort}`,
    REGISTRY_UPSTREAM: `127.0.0.1:${registryPort}`,
    // Never asked: both upstreams are addresses, not names.
    NGINX_LOCAL_RESOLVERS: '127.0.0.1',
  })
  const nginx = await startNginx(nginxPort, site)
  t.teardown(() => nginx.close())

  t.test(
    'a whole browser login goes through nginx, and the registry accepts the token',
    async (t) => {
      const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0/auth/oidc/start`)
      t.equal(callbackUrl.origin, base, 'the provider sends the browser back through nginx')
      const page = await browser.request(callbackUrl, { headers: { accept: 'text/html' } })
      t.equal(page.status, 200)
      t.match(page.headers.get('content-security-policy'), "frame-ancestors 'none'")
      t.equal(page.headers.get('cache-control'), 'no-store')
      const token = /eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(await page.text())?.[0] ?? ''
      t.equal(browser.cookies(base).size, 0, 'the flow cookie, set and cleared through nginx')

      const publish = await fetch(`${base}/v0/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      })
      t.equal(publish.status, 200)
      t.equal(registry.seen.at(-1)?.publishedBy, 'alice', 'the registry verified the token')
    },
  )

  t.test('/v0.1 logins and the token exchange go to the service too', async (t) => {
    const { browser, callbackUrl } = await loginUntilCallback(`${base}/v0.1/auth/oidc/start`)
    const v01 = new URL(callbackUrl)
    v01.pathname = '/v0.1/auth/oidc/callback'
    const json = await browser.request(v01, { headers: { accept: 'application/json' } })
    t.equal(json.status, 200)
    const exchange = await fetch(`${base}/v0/auth/oidc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ oidc_token: await provider.obtainIdToken() }),
    })
    t.equal(exchange.status, 200)
    const { registry_token } = (await exchange.json()) as { registry_token: string }
    const claims = await verifyRegistryToken(registry_token, registryPublicKey(testSigningSeedHex))
    t.equal(claims.auth_method_sub, 'alice')
  })

  t.test(
    'a loopback code is redeemed, and the key to verify it fetched, through nginx',
    async (t) => {
      const verifier = randomBytes(32).toString('base64url')
      const challenge = createHash('sha256').update(verifier).digest('base64url')
      const target = encodeURIComponent('http://127.0.0.1:53682/callback')
      const { browser, callbackUrl } = await loginUntilCallback(
        `${base}/v0/auth/oidc/start?redirect_uri=${target}&code_challenge=${challenge}&code_challenge_method=S256`,
      )
      const answer = await browser.request(callbackUrl)
      const code = new URL(answer.headers.get('location') ?? 'x:').searchParams.get('code') ?? ''
      const redeemed = await fetch(`${base}/v0/auth/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code, code_verifier: verifier }),
      })
      t.equal(redeemed.status, 200)
      const { registry_token } = (await redeemed.json()) as { registry_token: string }
      const jwks = await fetch(`${base}/.well-known/jwks.json`)
      t.equal(jwks.status, 200, 'the JWKS comes from the service, not the registry')
      const { keys } = (await jwks.json()) as { keys: JWK[] }
      const claims = await verifyRegistryToken(registry_token, keys[0] as JWK)
      t.equal(claims.auth_method_sub, 'alice')
    },
  )

  t.test('a device login goes through nginx under both prefixes', async (t) => {
    const before = registry.seen.length
    for (const [asked, polled] of [
      ['/v0', '/v0.1'],
      ['/v0.1', '/v0'],
    ] as const) {
      const device = await requestDeviceLogin(base, { client_name: 'behind nginx' }, asked)
      t.equal(device.verification_uri, `${base}/v0/auth/oidc/device`, 'the public URL: nginx')
      const entry = await fetch(device.verification_uri_complete)
      t.equal(entry.status, 200, 'the entry page')
      const done = await approveInBrowser(base, device.user_code, undefined, polled)
      t.equal(done.status, 200, 'confirmation, sign-in and callback')
      const granted = await pollDeviceToken(base, device.device_code, polled)
      t.equal(granted.status, 200)
      const claims = await verifyRegistryToken(
        granted.body.registry_token as string,
        registryPublicKey(testSigningSeedHex),
      )
      t.equal(claims.auth_method_sub, 'alice')
    }
    t.equal(registry.seen.length, before, 'nothing of it reached the registry')
  })

  t.test('every other path goes to the registry, with forwarding headers', async (t) => {
    const paths = [
      '/v0/servers?limit=1',
      '/v0.1/servers',
      '/v0/auth/oidcx',
      '/v0/auth/github-oidc',
      '/v0/auth/none',
      '/.well-known/jwks.jsonx',
      '/.well-known/openid-configuration',
      '/v1/auth/oidc/start',
      '/healthz',
      '/',
    ]
    for (const path of paths) {
      const before = registry.seen.length
      const response = await fetch(`${base}${path}`)
      t.same(await response.json(), { from: 'registry' }, `${path} → registry`)
      const seen = registry.seen[before]
      t.equal(seen?.url, path)
      t.equal(seen?.headers.host, `127.0.0.1:${nginxPort}`)
      t.equal(seen?.headers['x-forwarded-proto'], 'http')
      t.equal(seen?.headers['x-forwarded-for'], '127.0.0.1')
    }
    const forged = await fetch(`${base}/`, { headers: { 'x-forwarded-for': '192.0.2.10, junk' } })
    t.same(await forged.json(), { from: 'registry' })
    t.equal(
      registry.seen.at(-1)?.headers['x-forwarded-for'],
      '127.0.0.1',
      "a client's own X-Forwarded-For is overwritten, not passed on",
    )
    const before = registry.seen.length
    for (const path of ['/v0/auth/oidc/start', '/v0.1/auth/oidc/start', '/v0/auth/oidc']) {
      await fetch(`${base}${path}`, { redirect: 'manual' })
    }
    t.equal(registry.seen.length, before, 'the login routes never reach the registry')
  })
}
