// The development OpenID provider as a process of its own, configured by environment variables:
// the `idp` service of docker-compose.yml. Development only: any user name signs in.

import { parseClaimRequirements } from '../src/registry/policy.js'
import { extraClaimNames, valuesForPolicy } from './login-form.js'
import { startDevProvider } from './provider.js'

/** The variables, with what each is for (the message when one is missing). */
const REQUIRED = {
  DEV_OIDC_ISSUER: 'the URL browsers and the service reach this provider at',
  DEV_OIDC_CLIENT_ID: 'the client id the service uses',
  DEV_OIDC_CLIENT_SECRET: 'the client secret the service uses',
  DEV_OIDC_REDIRECT_URIS:
    "comma-separated callback URLs of the service (PUBLIC_URL + '/v0/auth/oidc/callback')",
} as const

function required(name: keyof typeof REQUIRED): string {
  const value = process.env[name]?.trim()
  if (!value) throw new Error(`${name} is required: ${REQUIRED[name]}`)
  return value
}

async function main(): Promise<void> {
  const policy = process.env.MCP_REGISTRY_OIDC_EXTRA_CLAIMS
  const requirements = parseClaimRequirements(policy ?? '')
  const provider = await startDevProvider({
    host: process.env.DEV_OIDC_HOST ?? '127.0.0.1',
    port: Number(process.env.DEV_OIDC_PORT ?? 8081),
    issuer: required('DEV_OIDC_ISSUER'),
    clients: [
      {
        clientId: required('DEV_OIDC_CLIENT_ID'),
        clientSecret: required('DEV_OIDC_CLIENT_SECRET'),
        redirectUris: required('DEV_OIDC_REDIRECT_URIS')
          .split(',')
          .map((uri) => uri.trim()),
      },
    ],
    values: valuesForPolicy(requirements),
    extraClaimNames: extraClaimNames(requirements),
    ...(policy ? { policy } : {}),
  })
  process.stdout.write(
    `Development OpenID provider at ${provider.issuer}: any user name signs in. Never use it in production.\n`,
  )
  const stop = async () => {
    await provider.close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

try {
  await main()
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
