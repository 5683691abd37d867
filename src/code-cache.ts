// The last step of `npm run build`: starts the bundled service (service.cjs) in this process with a
// throwaway configuration, waits for its first /healthz answer and writes V8's code cache for
// everything compiled up to then (service.cache), which server.ts hands to V8 at every start.
// It fails the build when the bundle does not start.

import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'
import { cacheFileName, loadServiceBundle } from './service-bundle.js'

const dir = fileURLToPath(new URL('.', import.meta.url))
const [port, metricsPort, providerPort] = [await freePort(), await freePort(), await freePort()]
// Only this configuration, whatever the build's environment holds. Nothing listens at the issuer:
// the service starts without its provider, as it may in production.
process.env = {
  NODE_ENV: 'production',
  MCP_REGISTRY_OIDC_ISSUER: `http://127.0.0.1:${providerPort}`,
  MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: 'true',
  MCP_REGISTRY_OIDC_CLIENT_ID: 'code-cache',
  MCP_REGISTRY_OIDC_PUBLIC_URL: `http://127.0.0.1:${port}`,
  MCP_REGISTRY_OIDC_COOKIE_SECRET: randomBytes(32).toString('hex'),
  MCP_REGISTRY_JWT_PRIVATE_KEY: randomBytes(32).toString('hex'),
  HOST: '127.0.0.1',
  PORT: String(port),
  METRICS_PORT: String(metricsPort),
  LOG_LEVEL: 'silent',
}

const bundle = loadServiceBundle(dir, { useCache: false })
bundle.run()
const deadline = Date.now() + 30_000
for (;;) {
  const status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    (response) => response.status,
    () => undefined,
  )
  if (status === 200) break
  if (Date.now() > deadline) throw new Error('the bundled service did not answer /healthz')
  await new Promise((resolve) => setTimeout(resolve, 20))
}
writeFileSync(join(dir, cacheFileName), bundle.codeCache())
process.exit(0)
