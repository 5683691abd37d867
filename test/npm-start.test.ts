// The service exactly as `npm start` (and the Docker image) runs it: the compiled dist/ under plain
// Node, no TypeScript loader. A whole browser login runs against it with the real test provider,
// and what main.js turns on (source-mapped stack traces, Node's compile cache) is checked.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import module from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { loginUntilCallback } from './helpers/login.js'
import { registryPublicKey } from './helpers/registry-key.js'
import { verifyRegistryToken } from './helpers/registry-token.js'
import { callbackUrlFor, testEnv, testSigningSeedHex } from './helpers/service.js'
import { builtService, spawnService } from './helpers/service-process.js'
import { freePort, startTestProvider } from './helpers/test-provider.js'

const root = new URL('../', import.meta.url)
const built = await builtService()
const entry = built.command.at(-1) as string
// Node 22.1+ has it; Node 20 does not, and main.js must start without it.
const hasCompileCache =
  typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function'

const port = await freePort()
const provider = await startTestProvider({ redirectUris: [callbackUrlFor(port)] })
t.teardown(() => provider.close())
// The compile cache goes to the system's temp directory: this process's own, to look into.
const temp = await mkdtemp(join(tmpdir(), 'mcp-oidc-npm-start-'))
t.teardown(() => rm(temp, { recursive: true, force: true }))
const service = await spawnService({ ...testEnv(provider, port), TMPDIR: temp }, { built })
t.teardown(() => service.stop('SIGKILL'))
await service.waitForReady()

t.test('npm start runs dist/main.js', async (t) => {
  t.same(built.command, ['dist/main.js'])
})

t.test('a whole browser login: /start, the provider, /callback, the registry token', async (t) => {
  const { browser, callbackUrl } = await loginUntilCallback(`${service.baseUrl}/v0/auth/oidc/start`)
  const response = await browser.request(callbackUrl, { headers: { accept: 'application/json' } })
  t.equal(response.status, 200)
  const body = (await response.json()) as { registry_token: string; expires_at: number }
  const claims = await verifyRegistryToken(
    body.registry_token,
    registryPublicKey(testSigningSeedHex),
  )
  t.equal(claims.auth_method_sub, 'alice')
  t.equal(claims.exp, body.expires_at)
  t.same(claims.permissions, [
    { action: 'publish', resource: 'com.example/*' },
    { action: 'edit', resource: 'com.example/*' },
  ])
  t.match(
    service.logs.find((line) => line.event === 'login_completed'),
    { sub: 'alice', provider: provider.issuer },
    'the outcome is logged',
  )
  t.notMatch(service.output(), body.registry_token, 'the token is never logged')
})

t.test('SIGTERM: exit 0, and Node 22.1+ leaves its compile cache behind', async (t) => {
  t.equal(await service.stop('SIGTERM'), 0)
  const cache = await readdir(join(temp, 'node-compile-cache')).catch(() => [])
  if (hasCompileCache) t.not(cache.length, 0, `Node ${process.version} wrote a compile cache`)
  else t.equal(cache.length, 0, `Node ${process.version} has no compile cache and starts without`)
})

/** Runs an ES module given as text with plain Node in the project root. */
async function runModule(
  source: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '--eval', source], {
    cwd: root,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const [code] = (await once(child, 'close')) as [number]
  return { code, stdout, stderr }
}

t.test('main.js turns on source-mapped stack traces before the service loads', async (t) => {
  const mainUrl = pathToFileURL(join(root.pathname, entry)).href
  // Without configuration the service stops at once, with its one line.
  const started = await runModule(`
    process.on('exit', () => console.log('source maps: ' + process.sourceMapsEnabled))
    await import(${JSON.stringify(mainUrl)})
  `)
  t.equal(started.code, 1)
  t.equal(started.stdout, 'source maps: true\n')
  t.equal(
    started.stderr,
    'mcp-registry-oidc: configuration error: MCP_REGISTRY_OIDC_ISSUER is required: set it to the issuer URL of your OpenID provider, e.g. https://accounts.google.com\n',
  )

  // With them on, a stack trace from dist/ names the TypeScript file and line.
  const configUrl = new URL('config/config.js', mainUrl).href
  const traced = await runModule(`
    process.setSourceMapsEnabled(true)
    const { loadConfig } = await import(${JSON.stringify(configUrl)})
    try { loadConfig({}) } catch (error) { console.log(error.stack) }
  `)
  t.match(traced.stdout, /^ConfigError: MCP_REGISTRY_OIDC_ISSUER is required/)
  t.match(traced.stdout, /\/src\/config\/config\.ts:\d+:\d+\)/)
  t.notMatch(traced.stdout, /dist\/config\/config\.js/)
})
