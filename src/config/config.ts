import { isIP } from 'node:net'
import { Ajv } from 'ajv'
import { parseRedirectAllowlist, type RedirectAllowlist } from '../login/redirect-target.js'
import type { OutboundProxy } from '../provider/http.js'
import { type ClaimRequirement, parseClaimRequirements } from '../registry/policy.js'
import { issuersWithoutRules, loadPolicyFile, PolicyFileError } from '../registry/policy-file.js'
import { environmentPolicy, type Policy } from '../registry/rules.js'

/** The process environment, or a test's stand-in for it. */
export type Environment = Readonly<Record<string, string | undefined>>

/** The environment after {@link envSchema} was applied: defaults filled in, numbers and booleans read. */
interface ValidatedEnv {
  MCP_REGISTRY_OIDC_ISSUER: string
  MCP_REGISTRY_OIDC_CLIENT_ID: string
  MCP_REGISTRY_OIDC_CLIENT_SECRET?: string
  MCP_REGISTRY_OIDC_PUBLIC_URL: string
  MCP_REGISTRY_OIDC_COOKIE_SECRET: string
  MCP_REGISTRY_JWT_PRIVATE_KEY: string
  MCP_REGISTRY_OIDC_ENABLED: boolean
  MCP_REGISTRY_OIDC_AUDIENCE?: string
  MCP_REGISTRY_OIDC_SCOPES: string
  MCP_REGISTRY_OIDC_EXTRA_CLAIMS?: string
  MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS?: string
  MCP_REGISTRY_OIDC_EDIT_PERMISSIONS?: string
  MCP_REGISTRY_OIDC_PUBLISH_PERISSIONS?: string
  MCP_REGISTRY_OIDC_EDIT_PERISSIONS?: string
  MCP_REGISTRY_BLOCKED_NAMESPACES?: string
  MCP_REGISTRY_OIDC_POLICY_FILE?: string
  MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST?: string
  MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS: number
  MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: boolean
  MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: number
  MCP_REGISTRY_OIDC_JWKS_REFETCH_COOLDOWN_MS: number
  MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: number
  MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS: number
  MCP_REGISTRY_OIDC_TRUST_PROXY?: string
  MCP_REGISTRY_OIDC_REDIS_URL?: string
  MCP_REGISTRY_OIDC_PROVIDER_REFRESH_SECONDS: number
  MCP_REGISTRY_OIDC_REQUEST_TIMEOUT_SECONDS: number
  PORT: number
  HOST: string
  LOG_LEVEL: LogLevel
  METRICS_PORT: number
  HTTPS_PROXY?: string
  https_proxy?: string
  HTTP_PROXY?: string
  http_proxy?: string
  NO_PROXY?: string
  no_proxy?: string
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
type LogLevel = (typeof logLevels)[number]

const wholeNumber = (minimum: number, maximum: number, defaultValue: number) =>
  ({ type: 'integer', minimum, maximum, default: defaultValue }) as const

/**
 * Everything a JSON schema can judge: presence, defaults, booleans, whole
 * numbers and their ranges, the log level, the key's format. The rest (URLs,
 * lists, the claims JSON) is judged in {@link buildConfig}. Every message
 * names the variable and the fix ({@link configErrorFromSchema}). Variables
 * read as strings declare no type unless a `pattern` needs one (Ajv's strict
 * mode): they arrive as strings, and each `type: 'string'` adds Ajv code
 * compiled at every start-up.
 */
export const envSchema = {
  type: 'object',
  required: [
    'MCP_REGISTRY_OIDC_ISSUER',
    'MCP_REGISTRY_OIDC_CLIENT_ID',
    'MCP_REGISTRY_OIDC_PUBLIC_URL',
    'MCP_REGISTRY_OIDC_COOKIE_SECRET',
    'MCP_REGISTRY_JWT_PRIVATE_KEY',
  ],
  properties: {
    MCP_REGISTRY_OIDC_ISSUER: {},
    // Not blank.
    MCP_REGISTRY_OIDC_CLIENT_ID: { type: 'string', pattern: '\\S' },
    MCP_REGISTRY_OIDC_CLIENT_SECRET: {},
    MCP_REGISTRY_OIDC_PUBLIC_URL: {},
    MCP_REGISTRY_OIDC_COOKIE_SECRET: {},
    MCP_REGISTRY_JWT_PRIVATE_KEY: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
    MCP_REGISTRY_OIDC_ENABLED: { type: 'boolean', default: true },
    MCP_REGISTRY_OIDC_AUDIENCE: {},
    MCP_REGISTRY_OIDC_SCOPES: { default: 'openid email profile' },
    MCP_REGISTRY_OIDC_EXTRA_CLAIMS: {},
    MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: {},
    MCP_REGISTRY_OIDC_EDIT_PERMISSIONS: {},
    MCP_REGISTRY_OIDC_PUBLISH_PERISSIONS: {},
    MCP_REGISTRY_OIDC_EDIT_PERISSIONS: {},
    MCP_REGISTRY_BLOCKED_NAMESPACES: {},
    MCP_REGISTRY_OIDC_POLICY_FILE: {},
    MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST: {},
    MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS: wholeNumber(30, 3600, 300),
    MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: { type: 'boolean', default: false },
    MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: wholeNumber(100, 60_000, 5000),
    MCP_REGISTRY_OIDC_JWKS_REFETCH_COOLDOWN_MS: wholeNumber(0, 3_600_000, 30_000),
    // 0 turns the limit off.
    MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: wholeNumber(0, 1_000_000, 120),
    MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS: wholeNumber(1, 86_400, 60),
    MCP_REGISTRY_OIDC_TRUST_PROXY: {},
    MCP_REGISTRY_OIDC_REDIS_URL: {},
    MCP_REGISTRY_OIDC_PROVIDER_REFRESH_SECONDS: wholeNumber(1, 86_400, 600),
    // Headers and body must have arrived within this many seconds, else 408 (slow clients).
    MCP_REGISTRY_OIDC_REQUEST_TIMEOUT_SECONDS: wholeNumber(1, 300, 10),
    PORT: wholeNumber(0, 65_535, 8080),
    HOST: { default: '0.0.0.0' },
    LOG_LEVEL: { enum: logLevels, default: 'info' },
    // 0 turns the metrics listener off.
    METRICS_PORT: wholeNumber(0, 65_535, 9464),
    HTTPS_PROXY: {},
    https_proxy: {},
    HTTP_PROXY: {},
    http_proxy: {},
    NO_PROXY: {},
    no_proxy: {},
  },
} as const

export interface Config {
  readonly issuer: URL
  /**
   * The issuer exactly as configured: the identifier ID tokens carry in `iss`, as operators
   * recognise it in the logs (URL parsing would add a trailing slash to a bare origin).
   */
  readonly issuerIdentifier: string
  readonly clientId: string
  readonly clientSecret: string | undefined
  /** External base URL without a trailing slash. */
  readonly publicUrl: string
  readonly callbackUrl: string
  /** Cookies get `Secure` and the `__Host-` prefix when the public URL is https. */
  readonly secureCookies: boolean
  /** The first signs, all verify. */
  readonly cookieSecrets: readonly string[]
  readonly signingSeedHex: string
  readonly enabled: boolean
  readonly audiences: readonly string[]
  readonly scopes: string
  /** The policy file's rules and issuers, or the environment form as one rule. */
  readonly policy: Policy
  readonly blockedNamespaces: readonly string[]
  readonly redirectAllowlist: RedirectAllowlist
  readonly tokenTtlSeconds: number
  readonly allowHttpIssuer: boolean
  readonly providerTimeoutMs: number
  /** Minimum time between two JWKS fetches caused by unknown `kid`s. */
  readonly jwksRefetchCooldownMs: number
  /** Requests per window and client address on the login routes; 0 turns the limit off. */
  readonly rateLimitMax: number
  readonly rateLimitWindowSeconds: number
  /**
   * The Redis or Valkey server the replicas share (device logins, the login rate limit); undefined:
   * device logins live in this process's memory and each process counts its own rate limit.
   */
  readonly redisUrl: URL | undefined
  /** Proxies whose X-Forwarded-For is believed (addresses, CIDR ranges, proxy-addr names); empty: none. */
  readonly trustedProxies: readonly string[]
  /** How often provider metadata and keys are fetched again once loaded. */
  readonly providerRefreshMs: number
  /** Time a client has to send a request's headers and body; then 408 and the connection closes. */
  readonly requestTimeoutMs: number
  readonly port: number
  readonly host: string
  readonly logLevel: LogLevel
  /** Where Prometheus metrics are served (on `host`); undefined: not served. */
  readonly metricsPort: number | undefined
  /** The egress proxy requests to the provider go through (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). */
  readonly outboundProxy: OutboundProxy
  /** Things worth a warning once the logger exists (deprecated names). */
  readonly warnings: readonly string[]
}

/** A configuration problem; the message names the variable and the fix, never the value. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`)
  }
}

const fixes: Record<string, string> = {
  MCP_REGISTRY_OIDC_ISSUER:
    'set it to the issuer URL of your OpenID provider, e.g. https://accounts.google.com',
  MCP_REGISTRY_OIDC_CLIENT_ID: 'set it to the OAuth client id registered at your provider',
  MCP_REGISTRY_OIDC_PUBLIC_URL:
    "set it to this service's external base URL, e.g. https://registry.example.com",
  MCP_REGISTRY_OIDC_COOKIE_SECRET: 'generate one with `openssl rand -hex 32`',
  MCP_REGISTRY_JWT_PRIVATE_KEY:
    "set it to the registry's signing key (64 hex characters); generate one with `openssl rand -hex 32`",
}

/** What a value that does not match the variable's `pattern` in {@link envSchema} should be. */
const patternProblems: Record<string, string> = {
  MCP_REGISTRY_OIDC_CLIENT_ID: `is empty: ${fixes.MCP_REGISTRY_OIDC_CLIENT_ID}`,
  MCP_REGISTRY_JWT_PRIVATE_KEY:
    'must be exactly 64 hex characters (a 32-byte Ed25519 seed): generate one with `openssl rand -hex 32`',
}

/** One property of {@link envSchema}. */
interface VariableSchema {
  type?: string
  minimum?: number
  maximum?: number
  pattern?: string
  enum?: readonly string[]
  default?: unknown
}

interface SchemaError {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
}

/** Turns the first error of a failed {@link envSchema} validation (Ajv's) into a {@link ConfigError}. */
function configErrorFromSchema(errors: unknown): ConfigError | undefined {
  if (!Array.isArray(errors) || errors.length === 0) return undefined
  const { keyword, instancePath, params } = errors[0] as SchemaError
  if (keyword === 'required') {
    const variable = String(params.missingProperty)
    return new ConfigError(variable, `is required: ${fixes[variable] ?? 'set it'}`)
  }
  const variable = instancePath.replace(/^\//, '')
  const properties: Record<string, VariableSchema> = envSchema.properties
  const property = properties[variable] ?? {}
  const range = `a whole number from ${property.minimum} to ${property.maximum}`
  switch (keyword) {
    case 'minimum':
    case 'maximum':
      return new ConfigError(variable, `must be ${range}`)
    case 'enum':
      return new ConfigError(variable, `must be one of ${property.enum?.join(', ')}`)
    case 'pattern':
      return new ConfigError(variable, patternProblems[variable] ?? 'is malformed')
    case 'type':
      return new ConfigError(
        variable,
        `is malformed: expected ${property.type === 'boolean' ? '"true" or "false"' : range}`,
      )
    default:
      return new ConfigError(variable, 'is malformed')
  }
}

function list(value: string | undefined, separator: string | RegExp = ','): string[] {
  if (value === undefined) return []
  return value
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
}

function absoluteHttpUrl(variable: string, value: string, allowHttp: boolean): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(variable, `is not an absolute URL: ${fixes[variable]}`)
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw new ConfigError(
      variable,
      allowHttp ? 'must be an http(s) URL' : 'must be an https URL (http only for development)',
    )
  }
  if (url.username || url.password || url.hash) {
    throw new ConfigError(variable, 'must not contain credentials or a #fragment')
  }
  return url
}

function parsePublicUrl(value: string): string {
  const variable = 'MCP_REGISTRY_OIDC_PUBLIC_URL'
  const url = absoluteHttpUrl(variable, value, true)
  if (url.search) throw new ConfigError(variable, 'must not contain a query string')
  return url.href.replace(/\/+$/, '')
}

function parseIssuer(value: string, allowHttp: boolean): URL {
  const variable = 'MCP_REGISTRY_OIDC_ISSUER'
  const url = absoluteHttpUrl(variable, value, true)
  if (url.protocol === 'http:' && !allowHttp) {
    throw new ConfigError(
      variable,
      'must be https; set MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER=true only for development',
    )
  }
  return url
}

function parseCookieSecrets(value: string): string[] {
  const secrets = list(value)
  if (secrets.length === 0 || secrets.some((secret) => secret.length < 32)) {
    throw new ConfigError(
      'MCP_REGISTRY_OIDC_COOKIE_SECRET',
      `must be at least 32 characters (each, when rotating a comma-separated list): ${fixes.MCP_REGISTRY_OIDC_COOKIE_SECRET}`,
    )
  }
  return secrets
}

const proxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * MCP_REGISTRY_OIDC_TRUST_PROXY: the reverse proxies whose X-Forwarded-For
 * names the client (for rate limiting and logs). Off unless set, and only
 * explicit addresses: trusting every peer would let any client pick its own
 * address, and Fastify ignores bare hop counts for the same reason.
 */
function parseTrustedProxies(value: string | undefined): string[] {
  const entries = list(value)
  for (const [index, entry] of entries.entries()) {
    if (proxyRangeNames.has(entry)) continue
    const [address = '', prefix, ...rest] = entry.split('/')
    const version = isIP(address)
    const prefixOk =
      prefix === undefined ||
      (/^[0-9]{1,3}$/.test(prefix) &&
        Number(prefix) > 0 &&
        Number(prefix) <= (version === 6 ? 128 : 32))
    if (version === 0 || !prefixOk || rest.length > 0) {
      throw new ConfigError(
        'MCP_REGISTRY_OIDC_TRUST_PROXY',
        `entry ${index + 1} must be an IP address, a CIDR range such as 10.0.0.0/8 (not /0), or one of loopback, linklocal, uniquelocal`,
      )
    }
  }
  return entries
}

/**
 * MCP_REGISTRY_OIDC_REDIS_URL: `redis://` or `rediss://` (TLS), a host, optionally a port, a user
 * and password, and a database number as the path. A query string is refused: the client library
 * would read it as connection options that override the service's fail-fast settings. Messages
 * never repeat the value, which may hold a password.
 */
function parseRedisUrl(value: string | undefined): URL | undefined {
  const variable = 'MCP_REGISTRY_OIDC_REDIS_URL'
  const trimmed = value?.trim()
  if (!trimmed) return undefined
  const example = 'e.g. redis://valkey:6379 or rediss://:password@redis.example.com:6380/0'
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    throw new ConfigError(variable, `is not a URL: set it to ${example}`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(
      variable,
      `must start with redis:// or rediss:// (TLS): set it to ${example}`,
    )
  }
  if (url.hostname === '') throw new ConfigError(variable, `names no host: set it to ${example}`)
  if (url.search || url.hash) {
    throw new ConfigError(variable, 'must not contain a query string or a #fragment')
  }
  if (!/^\/?([0-9]{1,5})?$/.test(url.pathname)) {
    throw new ConfigError(
      variable,
      'has a path that is not a database number: use e.g. /0, or no path',
    )
  }
  return url
}

/** The metrics listener must never share the port the proxy routes to. */
function parseMetricsPort(metricsPort: number, port: number): number | undefined {
  if (metricsPort === 0) return undefined
  if (metricsPort === port) {
    throw new ConfigError('METRICS_PORT', 'must differ from PORT (or be 0 to turn metrics off)')
  }
  return metricsPort
}

function permissionsVariable(
  raw: ValidatedEnv,
  name: 'PUBLISH' | 'EDIT',
  warnings: string[],
): string[] {
  const current = `MCP_REGISTRY_OIDC_${name}_PERMISSIONS` as const
  const alias = `MCP_REGISTRY_OIDC_${name}_PERISSIONS` as const
  if (raw[alias] !== undefined) {
    warnings.push(`${alias} is deprecated: rename it to ${current}`)
  }
  return list(raw[current] ?? raw[alias])
}

/**
 * A proxy variable: the lower-case spelling wins, as in curl and undici. A
 * value without a scheme is an http:// proxy, as curl reads it; credentials
 * in it are allowed (and never printed).
 */
function proxyVariable(raw: ValidatedEnv, name: 'HTTPS_PROXY' | 'HTTP_PROXY'): string {
  const lower = name.toLowerCase() as 'https_proxy' | 'http_proxy'
  const variable = raw[lower] ? lower : name
  const value = raw[variable]?.trim()
  if (!value) return ''
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new ConfigError(
      variable,
      'is not a proxy URL: set it to e.g. http://proxy.example.com:3128',
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(variable, 'must be an http:// or https:// proxy URL')
  }
  return url.href
}

function parseOutboundProxy(raw: ValidatedEnv): OutboundProxy {
  return {
    httpsProxy: proxyVariable(raw, 'HTTPS_PROXY'),
    httpProxy: proxyVariable(raw, 'HTTP_PROXY'),
    noProxy: (raw.no_proxy || raw.NO_PROXY || '').trim(),
  }
}

/** The variables a policy file replaces; setting one of them as well is a mistake. */
const policyFileReplaces = [
  'MCP_REGISTRY_OIDC_EXTRA_CLAIMS',
  'MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS',
  'MCP_REGISTRY_OIDC_EDIT_PERMISSIONS',
  'MCP_REGISTRY_OIDC_PUBLISH_PERISSIONS',
  'MCP_REGISTRY_OIDC_EDIT_PERISSIONS',
] as const

/**
 * The policy: from MCP_REGISTRY_OIDC_POLICY_FILE when it is set, else from
 * EXTRA_CLAIMS and the permission variables (a blank variable counts as unset).
 */
function parsePolicy(raw: ValidatedEnv, warnings: string[]): Policy {
  const file = raw.MCP_REGISTRY_OIDC_POLICY_FILE?.trim()
  if (file) {
    const conflicting = policyFileReplaces.find((variable) => raw[variable]?.trim())
    if (conflicting !== undefined) {
      throw new ConfigError(
        'MCP_REGISTRY_OIDC_POLICY_FILE',
        `cannot be combined with ${conflicting}: move its setting into the policy file's rules and unset it`,
      )
    }
    let policy: Policy
    try {
      policy = loadPolicyFile(file, {
        allowHttpIssuer: raw.MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER,
        loginIssuer: raw.MCP_REGISTRY_OIDC_ISSUER,
      })
    } catch (error) {
      if (error instanceof PolicyFileError) {
        throw new ConfigError('MCP_REGISTRY_OIDC_POLICY_FILE', error.message)
      }
      throw error
    }
    for (const issuer of issuersWithoutRules(policy)) {
      warnings.push(
        `the policy file lists issuer "${issuer}" but no rule names it: its tokens will all be refused`,
      )
    }
    return policy
  }
  let claimRequirements: ClaimRequirement[]
  try {
    claimRequirements = parseClaimRequirements(raw.MCP_REGISTRY_OIDC_EXTRA_CLAIMS ?? '')
  } catch (error) {
    throw new ConfigError(
      'MCP_REGISTRY_OIDC_EXTRA_CLAIMS',
      `must be a JSON array of objects, e.g. [{"hd":"example.com"}]: ${(error as Error).message}`,
    )
  }
  return environmentPolicy(
    claimRequirements,
    permissionsVariable(raw, 'PUBLISH', warnings),
    permissionsVariable(raw, 'EDIT', warnings),
  )
}

/** Builds the typed configuration from the schema-checked environment: what a schema cannot judge. */
function buildConfig(raw: ValidatedEnv): Config {
  const warnings: string[] = []
  const allowHttpIssuer = raw.MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER
  const issuer = parseIssuer(raw.MCP_REGISTRY_OIDC_ISSUER, allowHttpIssuer)
  const clientId = raw.MCP_REGISTRY_OIDC_CLIENT_ID.trim()
  const publicUrl = parsePublicUrl(raw.MCP_REGISTRY_OIDC_PUBLIC_URL)

  const policy = parsePolicy(raw, warnings)

  let redirectAllowlist: RedirectAllowlist
  try {
    redirectAllowlist = parseRedirectAllowlist(list(raw.MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST))
  } catch (error) {
    throw new ConfigError(
      'MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST',
      `has an invalid entry: ${(error as Error).message}`,
    )
  }

  const scopes = list(raw.MCP_REGISTRY_OIDC_SCOPES, /\s+/)
  if (!scopes.includes('openid')) {
    throw new ConfigError('MCP_REGISTRY_OIDC_SCOPES', 'must include "openid"')
  }
  const audiences = list(raw.MCP_REGISTRY_OIDC_AUDIENCE)

  return {
    issuer,
    issuerIdentifier: raw.MCP_REGISTRY_OIDC_ISSUER,
    clientId,
    clientSecret: raw.MCP_REGISTRY_OIDC_CLIENT_SECRET || undefined,
    publicUrl,
    callbackUrl: `${publicUrl}/v0/auth/oidc/callback`,
    secureCookies: publicUrl.startsWith('https:'),
    cookieSecrets: parseCookieSecrets(raw.MCP_REGISTRY_OIDC_COOKIE_SECRET),
    signingSeedHex: raw.MCP_REGISTRY_JWT_PRIVATE_KEY.toLowerCase(),
    enabled: raw.MCP_REGISTRY_OIDC_ENABLED,
    audiences: audiences.length > 0 ? audiences : [clientId],
    scopes: scopes.join(' '),
    policy,
    blockedNamespaces: list(raw.MCP_REGISTRY_BLOCKED_NAMESPACES),
    redirectAllowlist,
    tokenTtlSeconds: raw.MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS,
    allowHttpIssuer,
    providerTimeoutMs: raw.MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS,
    jwksRefetchCooldownMs: raw.MCP_REGISTRY_OIDC_JWKS_REFETCH_COOLDOWN_MS,
    rateLimitMax: raw.MCP_REGISTRY_OIDC_RATE_LIMIT_MAX,
    rateLimitWindowSeconds: raw.MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS,
    redisUrl: parseRedisUrl(raw.MCP_REGISTRY_OIDC_REDIS_URL),
    trustedProxies: parseTrustedProxies(raw.MCP_REGISTRY_OIDC_TRUST_PROXY),
    providerRefreshMs: raw.MCP_REGISTRY_OIDC_PROVIDER_REFRESH_SECONDS * 1000,
    requestTimeoutMs: raw.MCP_REGISTRY_OIDC_REQUEST_TIMEOUT_SECONDS * 1000,
    port: raw.PORT,
    host: raw.HOST,
    logLevel: raw.LOG_LEVEL,
    metricsPort: parseMetricsPort(raw.METRICS_PORT, raw.PORT),
    outboundProxy: parseOutboundProxy(raw),
    warnings,
  }
}

/**
 * The one configuration path: validates the environment once, against
 * {@link envSchema} and then what a schema cannot judge, and builds the typed
 * configuration. Throws a {@link ConfigError} that names the variable and the
 * fix, never the value.
 */
export function loadConfig(env: Environment): Config {
  // Validated before Fastify is built (it takes the trusted proxies and the log level at
  // construction), so not through the @fastify/env plugin, and with Ajv itself rather than
  // env-schema, the function that plugin wraps: same options, but no check of the schema against
  // the JSON Schema meta-schema. The schema is this module's constant, and Ajv's strict mode still
  // refuses an unknown keyword as it compiles it. env-schema compiles that meta-schema as soon as
  // it is imported: about 60 ms of main-thread CPU at every start (docs/performance.md, start-up).
  const validate = new Ajv({
    allErrors: true,
    coerceTypes: true,
    useDefaults: true,
    // Variables the schema does not name are dropped, not refused: the environment holds many.
    removeAdditional: true,
    allowUnionTypes: true,
    validateSchema: false,
  }).compile<ValidatedEnv>({ ...envSchema, additionalProperties: false })
  const validated: unknown = { ...env }
  if (!validate(validated)) {
    throw configErrorFromSchema(validate.errors) ?? new ConfigError('environment', 'is invalid')
  }
  return buildConfig(validated)
}

/** The one line the process prints before exiting 1: the variable and the fix, never a value. */
export function describeStartupError(error: unknown): string {
  if (error instanceof ConfigError)
    return `mcp-registry-oidc: configuration error: ${error.message}`
  return `mcp-registry-oidc: failed to start: ${(error as Error)?.message ?? String(error)}`
}
