import type { Test } from 'tap'
import { BASE_VALUES, extraClaimNames, valuesForPolicy } from '../../dev/login-form.js'
import { type DevProvider, startDevProvider } from '../../dev/provider.js'
import { parseClaimRequirements } from '../../src/registry/policy.js'
import { callbackUrlFor, type RunningService, startService } from './service.js'
import { freePort } from './test-provider.js'

/**
 * The development provider and the service wired to it, both in this process, as the demo wires
 * them; `policy` is the service's MCP_REGISTRY_OIDC_EXTRA_CLAIMS and prefills the login form.
 * Both stop when `t` ends.
 */
export async function startDevStack(
  t: Test,
  policy?: string,
): Promise<{ provider: DevProvider; service: RunningService }> {
  const port = await freePort()
  const coordinates = { clientId: 'registry', clientSecret: 'dev-client-secret-for-tests' }
  const requirements = parseClaimRequirements(policy ?? '')
  const provider = await startDevProvider({
    host: '127.0.0.1',
    port: 0,
    clients: [{ ...coordinates, redirectUris: [callbackUrlFor(port)] }],
    values: policy === undefined ? BASE_VALUES : valuesForPolicy(requirements),
    extraClaimNames: extraClaimNames(requirements),
    ...(policy === undefined ? {} : { policy }),
  })
  t.teardown(() => provider.close())
  const service = await startService(
    { ...coordinates, issuer: provider.issuer },
    port,
    policy === undefined ? {} : { MCP_REGISTRY_OIDC_EXTRA_CLAIMS: policy },
  )
  t.teardown(() => service.close())
  return { provider, service }
}
