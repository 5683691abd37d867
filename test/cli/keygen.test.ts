import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { runCapturing } from '../helpers/cli.js'
import { registryPublicKey } from '../helpers/registry-key.js'

async function keygenOutput(): Promise<string> {
  const { code, stdout } = await runCapturing(['keygen'])
  if (code !== 0) throw new Error(`keygen exited ${code}`)
  return stdout
}

function variables(output: string): Record<string, string> {
  return Object.fromEntries(
    output
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split('=') as [string, string]),
  )
}

t.test('keygen prints .env lines the service accepts, and the matching public key', async (t) => {
  const output = await keygenOutput()
  for (const line of output.trimEnd().split('\n')) {
    t.match(line, /^(#.*|[A-Z_]+=[0-9a-f]+)$/, 'every line is a comment or KEY=value')
  }
  const env = variables(output)
  t.same(Object.keys(env), ['MCP_REGISTRY_JWT_PRIVATE_KEY', 'MCP_REGISTRY_OIDC_COOKIE_SECRET'])
  const seed = env.MCP_REGISTRY_JWT_PRIVATE_KEY as string
  t.match(seed, /^[0-9a-f]{64}$/)
  t.match(env.MCP_REGISTRY_OIDC_COOKIE_SECRET, /^[0-9a-f]{64}$/)

  const expected = registryPublicKey(seed).export({ format: 'jwk' })
  const publicHex = /Ed25519 public key \(hex\): ([0-9a-f]{64})/.exec(output)?.[1]
  t.equal(publicHex, Buffer.from(expected.x as string, 'base64url').toString('hex'))

  const app = await buildApp({
    MCP_REGISTRY_OIDC_ISSUER: 'https://idp.invalid',
    MCP_REGISTRY_OIDC_CLIENT_ID: 'registry',
    MCP_REGISTRY_OIDC_PUBLIC_URL: 'https://registry.example.com',
    LOG_LEVEL: 'silent',
    METRICS_PORT: '0',
    ...env,
  })
  t.teardown(() => app.close())
  const jwks = (await app.inject('/.well-known/jwks.json')).json() as { keys: unknown[] }
  const printedJwk = JSON.parse(/# {3}JWK: (.*)/.exec(output)?.[1] ?? 'null')
  t.same(jwks.keys, [printedJwk], 'the printed JWK is the one the service publishes')
  t.not(variables(await keygenOutput()).MCP_REGISTRY_JWT_PRIVATE_KEY, seed, 'fresh every time')
})

t.test('the bin exits 0, 1 and 2 as documented', async (t) => {
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
  const exitCode = async (...argv: string[]) => {
    // process.execArgv carries the TypeScript loader's settings (transpile only).
    const child = spawn(process.execPath, [...process.execArgv, cli, ...argv], { stdio: 'ignore' })
    const [code] = await once(child, 'exit')
    return code
  }
  t.equal(await exitCode('keygen'), 0)
  t.equal(
    await exitCode(
      'login',
      '--url',
      'https://127.0.0.1:1',
      '--no-browser',
      '--no-device',
      '--timeout',
      '1',
    ),
    1,
  )
  t.equal(await exitCode('login', '--nope'), 2)
})
