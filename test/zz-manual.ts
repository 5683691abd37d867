import { spawn } from 'node:child_process'
import { loginUntilCallback } from '/work/main/test/helpers/login.js'
import { startTestProvider } from '/work/main/test/helpers/test-provider.js'

const port = 18089
const provider = await startTestProvider({
  redirectUris: [`http://127.0.0.1:${port}/v0/auth/oidc/callback`],
})
const child = spawn('npm', ['start'], {
  cwd: '/work/main',
  stdio: ['ignore', 'pipe', 'inherit'],
  env: {
    ...process.env,
    MCP_REGISTRY_OIDC_ISSUER: provider.issuer,
    MCP_REGISTRY_OIDC_CLIENT_ID: provider.clientId,
    MCP_REGISTRY_OIDC_CLIENT_SECRET: provider.clientSecret,
    MCP_REGISTRY_OIDC_PUBLIC_URL: `http://127.0.0.1:${port}`,
    MCP_REGISTRY_OIDC_COOKIE_SECRET: 'x'.repeat(40),
    MCP_REGISTRY_JWT_PRIVATE_KEY: 'ab'.repeat(32),
    MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: 'true',
    PORT: String(port),
    HOST: '127.0.0.1',
    MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: '*',
  },
})
let out = ''
child.stdout.on('data', (d) => {
  out += d
})
for (let i = 0; i < 50; i++) {
  await new Promise((r) => setTimeout(r, 200))
  try {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break
  } catch {}
}
const { browser, callbackUrl } = await loginUntilCallback(
  `http://127.0.0.1:${port}/v0/auth/oidc/start`,
)
const res = await browser.request(callbackUrl, { headers: { accept: 'application/json' } })
console.log('callback', res.status, (await res.text()).slice(0, 60))
child.kill('SIGTERM')
await new Promise((r) => child.on('exit', r))
await provider.close()
console.log(out.split('\n').slice(0, 8).join('\n'))
