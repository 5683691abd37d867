// Shared by the adversarial tests: reading a refusal together with the one log line the service
// wrote for it, and checking at the end of a test file that nothing secret was ever logged.

import tap, { type Test } from 'tap'
import { TestBrowser } from './browser.js'
import { callbackPath, loginUntilCallback, type PendingLogin } from './login.js'
import {
  type MisbehavingProvider,
  type MisbehavingProviderOptions,
  startMisbehavingProvider,
} from './misbehaving-provider.js'
import {
  callbackUrlFor,
  type RunningService,
  startService,
  testCookieSecret,
  testSigningSeedHex,
} from './service.js'
import { freePort, startTestProvider, type TestProvider } from './test-provider.js'

export interface Refusal {
  readonly status: number
  readonly error: unknown
  readonly description: unknown
  /** How many `request refused` lines the request produced (must be one). */
  readonly logged: number
  readonly loggedError: unknown
  readonly reason: unknown
  readonly level: unknown
  readonly headers: Headers
}

/**
 * Runs `act` against `service` and returns the error answer it got, with the refusal lines the
 * service logged meanwhile. The caller must not run other requests against `service` at the same
 * time.
 */
export async function refusal(
  service: RunningService,
  act: () => Promise<Response>,
): Promise<Refusal> {
  const mark = service.logs.lines.length
  const response = await act()
  const text = await response.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    body = { error: `(not JSON: ${text.slice(0, 80)})` }
  }
  const lines = service.logs.lines
    .slice(mark)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === 'request refused')
  return {
    status: response.status,
    error: body.error,
    description: body.error_description,
    logged: lines.length,
    loggedError: lines[0]?.error,
    reason: lines[0]?.reason,
    level: lines[0]?.level,
    headers: response.headers,
  }
}

/** The pattern a refusal must match: its status and code, logged once at info with a reason. */
export function refused(status: number, error: string, reason: RegExp = /./) {
  return {
    status,
    error,
    description: /\w/,
    logged: 1,
    loggedError: error,
    reason,
    level: 30,
  }
}

/** A service under test, with the browsers the tests used and the secrets they saw. */
export interface Stage {
  readonly service: RunningService
  readonly base: string
  readonly browsers: TestBrowser[]
  /** Codes, tokens, verifiers, nonces, client secrets: none may ever be logged. */
  readonly secrets: Set<string>
  /** A fresh browser, remembered for the final log check. */
  browser(): TestBrowser
  /**
   * Starts a login in a fresh (or the given) browser, at `/v0/auth/oidc/start` or the given
   * start URL, and stops before the callback.
   */
  login(browser?: TestBrowser, startUrl?: string): Promise<PendingLogin>
  /** Runs by itself when the test file ends. */
  close(): Promise<void>
}

/**
 * Everything the stages' services logged, at every level: no JWT, no secret value, no cookie
 * value any browser received, no cookie or signing secret.
 */
export function assertNoSecretsLogged(t: Test, stages: readonly Stage[]): void {
  const lines = stages.flatMap((stage) => stage.service.logs.lines)
  const text = lines.join('')
  const secrets = new Set([testCookieSecret, testSigningSeedHex])
  for (const stage of stages) {
    for (const secret of stage.secrets) secrets.add(secret)
    for (const browser of stage.browsers) {
      for (const value of browser.receivedCookieValues) secrets.add(value)
    }
  }
  // Short values (an empty cookie that clears one) would match by chance.
  const checked = [...secrets].filter((secret) => secret.length >= 16)
  t.ok(lines.length > 0, `${lines.length} log lines to check`)
  t.ok(
    lines.every((line) => {
      try {
        JSON.parse(line)
        return true
      } catch {
        return false
      }
    }),
    'every line is JSON',
  )
  t.notMatch(text, /eyJ[\w-]{6,}\.[\w-]{6,}/, 'no JWT')
  t.notMatch(text, /mcp_oidc_flow_[\w-]+=/, 'no flow cookie')
  const leaked = checked.filter((secret) => text.includes(secret))
  t.same(leaked.length, 0, `none of ${checked.length} secret values`)
}

/** The last test of a file: nothing its services logged holds a secret. */
export function checkLogsLast(stages: readonly Stage[]): void {
  tap.test('logs carry no secrets', async (t) => assertNoSecretsLogged(t, stages))
}

function stageAround(
  service: RunningService,
  secrets: Set<string>,
  closeProvider: () => Promise<void>,
): Stage {
  const browsers: TestBrowser[] = []
  const stage: Stage = {
    service,
    base: service.baseUrl,
    browsers,
    secrets,
    browser() {
      const browser = new TestBrowser()
      browsers.push(browser)
      return browser
    },
    async login(browser = stage.browser(), startUrl = `${service.baseUrl}/v0/auth/oidc/start`) {
      const login = await loginUntilCallback(startUrl, browser)
      const code = login.callbackUrl.searchParams.get('code')
      if (code) secrets.add(code)
      return login
    },
    async close() {
      await service.close()
      await closeProvider()
    },
  }
  tap.teardown(() => stage.close())
  return stage
}

// Trace: nothing secret may appear at any level. The rate limit has its own test.
const stageEnv = { LOG_LEVEL: 'trace', MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '0' }

/** A service in front of a misbehaving provider. */
export interface HostileStage extends Stage {
  readonly provider: MisbehavingProvider
  /** Requests the callback of `login` in its browser, as an API client would. */
  finish(login: PendingLogin, headers?: Record<string, string>): Promise<Response>
}

/**
 * The provider must know the service's callback URL before the service listens, so the port is
 * picked first; another process on this shared machine may take it meanwhile: pick another.
 */
async function onFreePort<P extends { close(): Promise<void> }>(
  startProvider: (port: number) => Promise<P>,
  startStageService: (provider: P, port: number) => Promise<RunningService>,
): Promise<{ provider: P; service: RunningService }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const provider = await startProvider(port)
    try {
      return { provider, service: await startStageService(provider, port) }
    } catch (error) {
      await provider.close()
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw error
    }
  }
}

export async function startHostileStage(
  env: Record<string, string | undefined> = {},
  providerOptions: Omit<MisbehavingProviderOptions, 'redirectUris'> = {},
): Promise<HostileStage> {
  const { provider, service } = await onFreePort(
    (port) =>
      startMisbehavingProvider({ ...providerOptions, redirectUris: [callbackUrlFor(port)] }),
    (started, port) =>
      startService(
        { issuer: started.issuer, clientId: started.clientId, clientSecret: started.clientSecret },
        port,
        { ...stageEnv, ...env },
      ),
  )
  return {
    ...stageAround(service, provider.secrets, () => provider.close()),
    provider,
    finish: (login, headers = { accept: 'application/json' }) =>
      login.browser.request(login.callbackUrl, { headers }),
  }
}

/** A service in front of the real provider (oidc-provider), for the flows a real provider runs. */
export interface RealStage extends Stage {
  readonly provider: TestProvider
}

export async function startRealStage(
  env: Record<string, string | undefined> = {},
): Promise<RealStage> {
  const { provider, service } = await onFreePort(
    (port) => startTestProvider({ redirectUris: [callbackUrlFor(port)] }),
    (started, port) => startService(started, port, { ...stageEnv, ...env }),
  )
  const secrets = new Set([provider.clientSecret, provider.otherClientSecret])
  return { ...stageAround(service, secrets, () => provider.close()), provider }
}

/** The callback URL of `login` with its query replaced by `query`. */
export function callbackWith(login: PendingLogin, query: Record<string, string | string[]>): URL {
  const url = new URL(callbackPath, login.callbackUrl)
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, item)
  }
  return url
}
