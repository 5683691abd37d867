// dev/provider-server.ts, the compose stack's `idp`: configured by environment variables only.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../helpers/test-provider.js'

const entry = fileURLToPath(new URL('../../dev/provider-server.ts', import.meta.url))

function start(env: Record<string, string>) {
  // process.env carries the TypeScript loader's settings (transpile only).
  const child = spawn(process.execPath, [...process.execArgv, entry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = { stdout: '', stderr: '' }
  child.stdout.on('data', (chunk) => {
    output.stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    output.stderr += chunk
  })
  return { child, output, exited: once(child, 'exit') }
}

t.test('serves discovery at the configured issuer and stops on SIGTERM', async (t) => {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const { child, output, exited } = start({
    DEV_OIDC_ISSUER: issuer,
    DEV_OIDC_PORT: String(port),
    DEV_OIDC_CLIENT_ID: 'mcp-registry',
    DEV_OIDC_CLIENT_SECRET: 'development-client-secret',
    DEV_OIDC_REDIRECT_URIS: 'http://localhost:8080/v0/auth/oidc/callback',
    MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '[{"groups":"registry-admins"}]',
  })
  t.teardown(() => child.kill('SIGKILL'))
  while (!output.stdout.includes('any user name signs in')) {
    if (child.exitCode !== null) throw new Error(output.stderr)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(output.stdout, `Development OpenID provider at ${issuer}`)
  const discovery = (await (
    await fetch(`${issuer}/.well-known/openid-configuration`)
  ).json()) as Record<string, unknown>
  t.equal(discovery.issuer, issuer)
  const claims = discovery.claims_supported as string[]
  t.ok(claims.includes('groups') && claims.includes('hd'), 'it offers the claims policies use')
  child.kill('SIGTERM')
  t.same(await exited, [0, null])
})

t.test('a missing variable stops it with one line naming it', async (t) => {
  const { output, exited } = start({ DEV_OIDC_CLIENT_ID: 'x' })
  t.same(await exited, [1, null])
  t.match(output.stderr, /^DEV_OIDC_ISSUER is required: the URL browsers and the service reach/)
})
