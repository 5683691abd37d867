// `npm run demo`: the development OpenID provider and the service wired to it, on 127.0.0.1, with
// secrets made up for this run. The deployer's own policy (a policy file, or the MCP_REGISTRY_OIDC_*
// variables) passes through to the service, so they can try their rules before touching a real
// provider.

import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type ClaimRequirement, parseClaimRequirements } from '../src/registry/policy.js'
import { loadPolicyFile } from '../src/registry/policy-file.js'
import { LOGIN_ISSUER, type Policy } from '../src/registry/rules.js'
import { extraClaimNames, valuesForPolicy } from './login-form.js'
import { type DevProvider, startDevProvider } from './provider.js'

const HELP = `Usage: npm run demo [-- --port <port>] [-- --provider-port <port>] [-- --policy <file>]

Starts a development OpenID provider and mcp-registry-oidc wired to it, on 127.0.0.1, with fresh
secrets, and prints the URL to sign in at. Ctrl-C stops both.

Options:
  --port <port>           the service's port (default 8090)
  --provider-port <port>  the development provider's port (default 8091)
  --policy <file>         a policy file (MCP_REGISTRY_OIDC_POLICY_FILE), e.g. examples/policy.yaml;
                          the login form then offers the claims its rules name
  -h, --help              show this help

Your own MCP_REGISTRY_OIDC_* variables (POLICY_FILE, or EXTRA_CLAIMS, PUBLISH_PERMISSIONS and
EDIT_PERMISSIONS; SCOPES, TOKEN_TTL_SECONDS, …), MCP_REGISTRY_BLOCKED_NAMESPACES and LOG_LEVEL
reach the service; the demo sets the provider, the URLs and the secrets itself.
`

/** Variables the demo decides; the person's own values for them are ignored (and named). */
const DEMO_VARIABLES = [
  'MCP_REGISTRY_OIDC_ISSUER',
  'MCP_REGISTRY_OIDC_CLIENT_ID',
  'MCP_REGISTRY_OIDC_CLIENT_SECRET',
  'MCP_REGISTRY_OIDC_PUBLIC_URL',
  'MCP_REGISTRY_OIDC_COOKIE_SECRET',
  'MCP_REGISTRY_JWT_PRIVATE_KEY',
  'MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER',
  'PORT',
  'HOST',
]
const HOST = '127.0.0.1'
const READY_TIMEOUT_MS = 30_000
const SHUTDOWN_GRACE_MS = 3_000

// Compiled (npm run demo), the demo runs the compiled service; from source (under the tests'
// TypeScript loader), the service's source under the same loader.
const fromSource = import.meta.url.endsWith('.ts')
const serviceEntry = fileURLToPath(
  new URL(fromSource ? '../src/main.ts' : '../../dist/main.js', import.meta.url),
)

class UsageError extends Error {}

function portOption(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  const port = Number(value)
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new UsageError(`--${name} must be a port number between 1 and 65535`)
  }
  return port
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'provider-port': { type: 'string' },
      policy: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  return {
    help: values.help === true,
    port: portOption(values.port, 8090, 'port'),
    providerPort: portOption(values['provider-port'], 8091, 'provider-port'),
    policyFile: values.policy,
  }
}

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
}
const QUIET_MESSAGES = new Set(['incoming request', 'request completed'])

/** One pino line of the service as a short human line; undefined for per-request noise. */
function describeLogLine(line: string): string | undefined {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return `service  ${line}`
  }
  const message = String(entry.msg ?? '')
  if (QUIET_MESSAGES.has(message)) return undefined
  const level = LEVELS[Number(entry.level)] ?? 'info'
  const err = entry.err as { message?: unknown } | undefined
  const details = [
    ['error', entry.error],
    ['reason', entry.reason],
    ['sub', entry.sub],
    ['rules', entry.rules],
    ['rule', entry.rule],
    ['namespace', entry.namespace],
    ['cause', err?.message],
  ]
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
  return `service  ${level.padEnd(5)} ${message}${details.length > 0 ? `  ${details.join(' ')}` : ''}`
}

/** The person's environment minus what the demo decides, plus the demo's own settings. */
function serviceEnvironment(
  own: NodeJS.ProcessEnv,
  settings: Record<string, string>,
): NodeJS.ProcessEnv {
  const env = { ...own }
  for (const name of DEMO_VARIABLES) delete env[name]
  // A policy file replaces the permission variables; setting both would stop the service.
  if (!settings.MCP_REGISTRY_OIDC_POLICY_FILE && !env.MCP_REGISTRY_OIDC_POLICY_FILE) {
    env.MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS ??= 'com.example/*'
    env.MCP_REGISTRY_OIDC_EDIT_PERMISSIONS ??= 'com.example/*'
  }
  env.LOG_LEVEL ??= 'info'
  // No metrics listener unless asked for: the demo must start with other things on the machine.
  env.METRICS_PORT ??= '0'
  return { ...env, ...settings }
}

async function waitUntilReady(baseUrl: string, service: ChildProcess): Promise<void> {
  const exited = once(service, 'exit').then(() => {
    throw new Error('the service stopped before it was ready (see its message above)')
  })
  const deadline = Date.now() + READY_TIMEOUT_MS
  const poll = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const ready = await fetch(`${baseUrl}/readyz`).then(
        (response) => response.ok,
        () => false,
      )
      if (ready) return
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    throw new Error(`the service was not ready within ${READY_TIMEOUT_MS / 1000} s`)
  }
  await Promise.race([poll(), exited])
}

/** The banner's lines about who gets what. */
function policyLines(env: NodeJS.ProcessEnv, policyFile: Policy | undefined): string[] {
  const file = env.MCP_REGISTRY_OIDC_POLICY_FILE
  if (file) {
    const rules = policyFile?.rules.map((rule) => `${rule.name} (${rule.issuer})`) ?? []
    return [
      `  Policy:       ${file}`,
      `  Rules:        ${rules.join(', ')}`,
      `  Check claims: npx mcp-registry-oidc policy check --file ${file} --claims <claims.json>`,
    ]
  }
  const policy = env.MCP_REGISTRY_OIDC_EXTRA_CLAIMS
  return [
    `  Policy:       ${policy ? `MCP_REGISTRY_OIDC_EXTRA_CLAIMS=${policy}` : 'none (MCP_REGISTRY_OIDC_EXTRA_CLAIMS is not set)'}`,
    `  Permissions:  publish ${env.MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS || '(none)'}; edit ${env.MCP_REGISTRY_OIDC_EDIT_PERMISSIONS || '(none)'}`,
  ]
}

function banner(
  baseUrl: string,
  provider: DevProvider,
  env: NodeJS.ProcessEnv,
  policyFile: Policy | undefined,
): string {
  return [
    '',
    'mcp-registry-oidc demo is running.',
    '',
    `  Sign in:      ${baseUrl}/v0/auth/oidc/start`,
    `  CLI login:    npx mcp-registry-oidc login --url ${baseUrl}`,
    `  Provider:     ${provider.issuer}  (development only: any user name signs in)`,
    ...policyLines(env, policyFile),
    `  Token key:    made up for this run; public key at ${baseUrl}/.well-known/jwks.json`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n')
}

/**
 * What the login form should offer: the claim requirements of the login provider's rules (values
 * that pass them are filled in), the claims their grants name, and the policy text to show.
 */
function formPolicy(policyFilePath: string | undefined): {
  requirements: ClaimRequirement[]
  templateClaims: string[]
  policyFile: Policy | undefined
  policy: string | undefined
} {
  // An invalid file or variable: the service refuses to start with a line that names the
  // problem; the form stays plain.
  if (policyFilePath !== undefined) {
    let policyFile: Policy | undefined
    try {
      policyFile = loadPolicyFile(policyFilePath, { allowHttpIssuer: true })
    } catch {
      return { requirements: [], templateClaims: [], policyFile: undefined, policy: undefined }
    }
    const loginRules = policyFile.rules.filter((rule) => rule.issuer === LOGIN_ISSUER)
    const templateClaims = loginRules.flatMap((rule) =>
      [...rule.publish, ...rule.edit].flatMap((pattern) =>
        pattern.parts.flatMap((part) => ('claim' in part ? [part.claim[0] ?? ''] : [])),
      ),
    )
    const policy = loginRules
      .map((rule) => {
        const grants = [
          ...rule.publish.map((p) => `publish ${p.source}`),
          ...rule.edit.map((p) => `edit ${p.source}`),
        ]
        return `${rule.name}: when ${JSON.stringify(rule.when)} → ${grants.join(', ')}`
      })
      .join('\n')
    return {
      requirements: loginRules.flatMap((rule) => rule.when),
      templateClaims,
      policyFile,
      policy,
    }
  }
  const policy = process.env.MCP_REGISTRY_OIDC_EXTRA_CLAIMS
  let requirements: ClaimRequirement[] = []
  try {
    requirements = parseClaimRequirements(policy ?? '')
  } catch {
    // As above.
  }
  return { requirements, templateClaims: [], policyFile: undefined, policy }
}

async function run(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseOptions>
  try {
    options = parseOptions(argv)
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`)
    return 2
  }
  if (options.help) {
    process.stdout.write(HELP)
    return 0
  }

  const baseUrl = `http://${HOST}:${options.port}`
  const ignored = DEMO_VARIABLES.filter((name) => process.env[name] !== undefined)
  if (ignored.length > 0) {
    process.stdout.write(`The demo sets these itself and ignores yours: ${ignored.join(', ')}\n`)
  }
  const policyPath = options.policyFile ?? process.env.MCP_REGISTRY_OIDC_POLICY_FILE
  const policyFilePath = policyPath ? resolve(policyPath) : undefined
  const { requirements, templateClaims, policyFile, policy } = formPolicy(policyFilePath)

  const clientId = 'mcp-registry-oidc-demo'
  const clientSecret = randomBytes(24).toString('base64url')
  let provider: DevProvider
  try {
    provider = await startDevProvider({
      host: HOST,
      port: options.providerPort,
      clients: [
        {
          clientId,
          clientSecret,
          redirectUris: ['/v0', '/v0.1'].map((prefix) => `${baseUrl}${prefix}/auth/oidc/callback`),
        },
      ],
      values: valuesForPolicy(requirements),
      extraClaimNames: extraClaimNames(requirements, templateClaims),
      ...(policy === undefined ? {} : { policy }),
      ...(policyFilePath === undefined ? {} : { policySource: policyFilePath }),
      formTargets: (process.env.MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST ?? '')
        .split(',')
        .flatMap((target) => (URL.canParse(target.trim()) ? [new URL(target.trim()).origin] : [])),
    })
  } catch (error) {
    const inUse = (error as { code?: string }).code === 'EADDRINUSE'
    process.stderr.write(
      inUse
        ? `Port ${options.providerPort} is in use: pick another with --provider-port.\n`
        : `The development provider did not start: ${String(error)}\n`,
    )
    return 1
  }

  const env = serviceEnvironment(process.env, {
    MCP_REGISTRY_OIDC_ISSUER: provider.issuer,
    MCP_REGISTRY_OIDC_CLIENT_ID: clientId,
    MCP_REGISTRY_OIDC_CLIENT_SECRET: clientSecret,
    MCP_REGISTRY_OIDC_PUBLIC_URL: baseUrl,
    MCP_REGISTRY_OIDC_COOKIE_SECRET: randomBytes(32).toString('hex'),
    MCP_REGISTRY_JWT_PRIVATE_KEY: randomBytes(32).toString('hex'),
    MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: 'true',
    ...(policyFilePath === undefined ? {} : { MCP_REGISTRY_OIDC_POLICY_FILE: policyFilePath }),
    PORT: String(options.port),
    HOST,
  })
  // Its own process group: the terminal's Ctrl-C reaches the demo only, which stops the service
  // once, gracefully.
  const service = spawn(process.execPath, [...(fromSource ? process.execArgv : []), serviceEntry], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  process.once('exit', () => service.exitCode === null && service.kill('SIGKILL'))
  createInterface({ input: service.stdout }).on('line', (line) => {
    const text = describeLogLine(line)
    if (text !== undefined) process.stdout.write(`${text}\n`)
  })
  createInterface({ input: service.stderr }).on('line', (line) => {
    const hint = /EADDRINUSE/.test(line) ? ` (pick another port with --port)` : ''
    process.stderr.write(`service  ${line}${hint}\n`)
  })

  const stopped = new Promise<number>((resolve) => {
    const stop = () => {
      if (service.exitCode === null) service.kill('SIGTERM')
      resolve(0)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    service.once('exit', () => resolve(1))
  })
  try {
    await waitUntilReady(baseUrl, service)
    process.stdout.write(banner(baseUrl, provider, env, policyFile))
  } catch (error) {
    process.stderr.write(
      `The demo did not start: ${error instanceof Error ? error.message : error}\n`,
    )
    service.kill('SIGTERM')
    await provider.close()
    return 1
  }

  const code = await stopped
  if (service.exitCode === null) {
    const exited = await Promise.race([
      once(service, 'exit').then(() => true),
      delay(SHUTDOWN_GRACE_MS, false, { ref: false }),
    ])
    // A browser's idle keep-alive and pre-connected sockets hold a graceful close for a minute.
    if (!exited) {
      service.kill('SIGKILL')
      await once(service, 'exit')
    }
  }
  await provider.close()
  process.stdout.write(code === 0 ? 'Stopped.\n' : 'The service stopped unexpectedly.\n')
  return code
}

process.exitCode = await run(process.argv.slice(2))
