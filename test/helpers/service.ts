import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { waitFor } from './wait.js'

/** RFC 8032 test vector 1: a seed whose public key is known, so tests can check the JWKS. */
export const testSigningSeedHex = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
export const testCookieSecret = 'test-cookie-secret-0123456789abcdef0123456789'

export interface ProviderCoordinates {
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
}

export function callbackUrlFor(port: number): string {
  return `http://127.0.0.1:${port}/v0/auth/oidc/callback`
}

export function testEnv(
  provider: ProviderCoordinates,
  port: number,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    MCP_REGISTRY_OIDC_ISSUER: provider.issuer,
    MCP_REGISTRY_OIDC_CLIENT_ID: provider.clientId,
    MCP_REGISTRY_OIDC_CLIENT_SECRET: provider.clientSecret,
    MCP_REGISTRY_OIDC_PUBLIC_URL: `http://127.0.0.1:${port}`,
    MCP_REGISTRY_OIDC_COOKIE_SECRET: testCookieSecret,
    MCP_REGISTRY_JWT_PRIVATE_KEY: testSigningSeedHex,
    MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: 'true',
    MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: 'com.example/*',
    MCP_REGISTRY_OIDC_EDIT_PERMISSIONS: 'com.example/*',
    LOG_LEVEL: 'info',
    // Tests run many instances at once; the ones that read metrics pick a free port.
    METRICS_PORT: '0',
    PORT: String(port),
    HOST: '127.0.0.1',
    ...overrides,
  }
}

/** Collects the service's log lines, to check later that no secret was written. */
export class LogCapture {
  readonly lines: string[] = []
  write(line: string): void {
    this.lines.push(line)
  }
  get text(): string {
    return this.lines.join('')
  }
  entries(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }
}

export interface RunningService {
  readonly app: FastifyInstance
  readonly baseUrl: string
  readonly logs: LogCapture
  close(): Promise<void>
}

/** Builds the service from a test environment, listens on its PUBLIC_URL port and waits for the provider. */
export async function startService(
  provider: ProviderCoordinates,
  port: number,
  overrides: Record<string, string | undefined> = {},
  options: { waitForProvider?: boolean } = {},
): Promise<RunningService> {
  const logs = new LogCapture()
  const app = await buildApp(testEnv(provider, port, overrides), { logStream: logs })
  try {
    await app.listen({ port, host: '127.0.0.1' })
    if (options.waitForProvider !== false) {
      await waitFor('the provider metadata and keys', () => app.provider.ready || undefined, {
        intervalMs: 10,
      })
    }
  } catch (error) {
    await app.close()
    throw error
  }
  return { app, baseUrl: `http://127.0.0.1:${port}`, logs, close: () => app.close() }
}
