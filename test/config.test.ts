import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { describeStartupError, loadConfig } from '../src/config/config.js'
import { githubIssuer, policyFileText, weatherRelease } from './helpers/policy.js'
import { testCookieSecret, testSigningSeedHex } from './helpers/service.js'

/** A complete, valid environment; its provider is never reached in these tests. */
const validEnv: Record<string, string | undefined> = {
  MCP_REGISTRY_OIDC_ISSUER: 'https://idp.invalid',
  MCP_REGISTRY_OIDC_CLIENT_ID: 'registry',
  MCP_REGISTRY_OIDC_CLIENT_SECRET: 'client-secret-value-do-not-print',
  MCP_REGISTRY_OIDC_PUBLIC_URL: 'https://registry.example.com',
  MCP_REGISTRY_OIDC_COOKIE_SECRET: testCookieSecret,
  MCP_REGISTRY_JWT_PRIVATE_KEY: testSigningSeedHex,
  LOG_LEVEL: 'silent',
  METRICS_PORT: '0',
}

async function startupLine(overrides: Record<string, string | undefined>): Promise<string> {
  try {
    const app = await buildApp({ ...validEnv, ...overrides })
    await app.close()
    return 'started'
  } catch (error) {
    return describeStartupError(error)
  }
}

t.test('bad configuration names the variable and the fix, never the value', async (t) => {
  const cases: Array<[string, Record<string, string | undefined>, RegExp]> = [
    [
      'missing issuer',
      { MCP_REGISTRY_OIDC_ISSUER: undefined },
      /MCP_REGISTRY_OIDC_ISSUER is required/,
    ],
    [
      'http issuer',
      { MCP_REGISTRY_OIDC_ISSUER: 'http://idp.example' },
      /MCP_REGISTRY_OIDC_ISSUER must be https/,
    ],
    [
      'issuer not a URL',
      { MCP_REGISTRY_OIDC_ISSUER: 'idp.example' },
      /MCP_REGISTRY_OIDC_ISSUER is not an absolute URL/,
    ],
    [
      'missing client id',
      { MCP_REGISTRY_OIDC_CLIENT_ID: undefined },
      /MCP_REGISTRY_OIDC_CLIENT_ID is required/,
    ],
    [
      '63-character key',
      { MCP_REGISTRY_JWT_PRIVATE_KEY: testSigningSeedHex.slice(1) },
      /MCP_REGISTRY_JWT_PRIVATE_KEY .*openssl rand -hex 32/,
    ],
    [
      'non-hex key',
      { MCP_REGISTRY_JWT_PRIVATE_KEY: `${testSigningSeedHex.slice(2)}zz` },
      /MCP_REGISTRY_JWT_PRIVATE_KEY must be exactly 64 hex/,
    ],
    [
      'missing key',
      { MCP_REGISTRY_JWT_PRIVATE_KEY: undefined },
      /MCP_REGISTRY_JWT_PRIVATE_KEY is required.*openssl rand -hex 32/,
    ],
    [
      'short cookie secret',
      { MCP_REGISTRY_OIDC_COOKIE_SECRET: 'too-short' },
      /MCP_REGISTRY_OIDC_COOKIE_SECRET must be at least 32/,
    ],
    [
      'short rotated cookie secret',
      { MCP_REGISTRY_OIDC_COOKIE_SECRET: `${testCookieSecret},short` },
      /MCP_REGISTRY_OIDC_COOKIE_SECRET must be at least 32/,
    ],
    [
      'claims not JSON',
      { MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '{hd:' },
      /MCP_REGISTRY_OIDC_EXTRA_CLAIMS must be a JSON array of objects/,
    ],
    [
      'claims an object',
      { MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '{"hd":"corp.example"}' },
      /MCP_REGISTRY_OIDC_EXTRA_CLAIMS must be a JSON array/,
    ],
    [
      'claims an array of strings',
      { MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '["hd"]' },
      /MCP_REGISTRY_OIDC_EXTRA_CLAIMS must be a JSON array/,
    ],
    [
      'TTL of 5',
      { MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS: '5' },
      /MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS must be a whole number from 30 to 3600/,
    ],
    [
      'TTL of 3601',
      { MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS: '3601' },
      /MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS must be a whole number from 30 to 3600/,
    ],
    [
      'TTL with a fraction',
      { MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS: '300.5' },
      /MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS is malformed: expected a whole number from 30 to 3600/,
    ],
    [
      'TTL not a number',
      { MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS: 'soon' },
      /MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS is malformed/,
    ],
    [
      'public URL relative',
      { MCP_REGISTRY_OIDC_PUBLIC_URL: 'relative/path/only' },
      /MCP_REGISTRY_OIDC_PUBLIC_URL is not an absolute URL/,
    ],
    [
      'public URL not http',
      { MCP_REGISTRY_OIDC_PUBLIC_URL: 'ftp://registry.example.com' },
      /MCP_REGISTRY_OIDC_PUBLIC_URL must be an http\(s\) URL/,
    ],
    [
      'enabled not boolean',
      { MCP_REGISTRY_OIDC_ENABLED: 'maybe' },
      /MCP_REGISTRY_OIDC_ENABLED is malformed: expected "true" or "false"/,
    ],
    [
      'allow-list entry with userinfo',
      { MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST: 'https://u:p@app.example.com/cb' },
      /MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST has an invalid entry/,
    ],
    [
      'scopes without openid',
      { MCP_REGISTRY_OIDC_SCOPES: 'email profile' },
      /MCP_REGISTRY_OIDC_SCOPES must include "openid"/,
    ],
    [
      'unknown log level',
      { LOG_LEVEL: 'loud' },
      /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/,
    ],
    ['port out of range', { PORT: '70000' }, /PORT must be a whole number from 0 to 65535/],
    [
      'metrics on the service port',
      { PORT: '8080', METRICS_PORT: '8080' },
      /METRICS_PORT must differ from PORT/,
    ],
    [
      'allow-http not boolean',
      { MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: 'yes please' },
      /MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER is malformed: expected "true" or "false"/,
    ],
    [
      'blank client id',
      { MCP_REGISTRY_OIDC_CLIENT_ID: '   ' },
      /MCP_REGISTRY_OIDC_CLIENT_ID is empty: set it to the OAuth client id/,
    ],
    [
      'provider timeout too short',
      { MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: '10' },
      /MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS must be a whole number from 100 to 60000/,
    ],
    [
      'trusting every proxy',
      { MCP_REGISTRY_OIDC_TRUST_PROXY: 'true' },
      /MCP_REGISTRY_OIDC_TRUST_PROXY entry 1 must be an IP address, a CIDR range/,
    ],
    [
      'trusting every address by range',
      { MCP_REGISTRY_OIDC_TRUST_PROXY: '10.0.0.1, 0.0.0.0/0' },
      /MCP_REGISTRY_OIDC_TRUST_PROXY entry 2 .*not \/0/,
    ],
    [
      'a hop count',
      { MCP_REGISTRY_OIDC_TRUST_PROXY: '1' },
      /MCP_REGISTRY_OIDC_TRUST_PROXY entry 1/,
    ],
    [
      'a negative rate limit',
      { MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '-1' },
      /MCP_REGISTRY_OIDC_RATE_LIMIT_MAX must be a whole number from 0/,
    ],
    [
      'a rate window of 0',
      { MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS: '0' },
      /MCP_REGISTRY_OIDC_RATE_LIMIT_WINDOW_SECONDS must be a whole number from 1/,
    ],
    [
      'a negative JWKS cooldown',
      { MCP_REGISTRY_OIDC_JWKS_REFETCH_COOLDOWN_MS: '-5' },
      /MCP_REGISTRY_OIDC_JWKS_REFETCH_COOLDOWN_MS must be a whole number from 0/,
    ],
    [
      'a proxy that is not a URL',
      { HTTPS_PROXY: 'http://user:proxy-password@[proxy' },
      /HTTPS_PROXY is not a proxy URL/,
    ],
    [
      'a proxy of another kind',
      { http_proxy: 'socks5://user:proxy-password@proxy:1080' },
      /http_proxy must be an http:\/\/ or https:\/\/ proxy URL/,
    ],
    [
      'a store URL of another scheme',
      { MCP_REGISTRY_OIDC_REDIS_URL: 'http://:store-password@valkey:6379' },
      /MCP_REGISTRY_OIDC_REDIS_URL must start with redis:\/\/ or rediss:\/\/ \(TLS\)/,
    ],
    [
      'a store URL that is no URL',
      { MCP_REGISTRY_OIDC_REDIS_URL: 'valkey:6379:store-password' },
      /MCP_REGISTRY_OIDC_REDIS_URL (is not a URL|must start with redis)/,
    ],
    [
      'a store URL with options in its query',
      { MCP_REGISTRY_OIDC_REDIS_URL: 'redis://:store-password@valkey:6379?enableOfflineQueue=1' },
      /MCP_REGISTRY_OIDC_REDIS_URL must not contain a query string/,
    ],
    [
      'a store URL with a path',
      { MCP_REGISTRY_OIDC_REDIS_URL: 'rediss://:store-password@valkey:6379/some/path' },
      /MCP_REGISTRY_OIDC_REDIS_URL has a path that is not a database number/,
    ],
    [
      'a store URL without a host',
      { MCP_REGISTRY_OIDC_REDIS_URL: 'redis://:store-password@:6379' },
      /MCP_REGISTRY_OIDC_REDIS_URL (names no host|is not a URL)/,
    ],
  ]
  for (const [name, overrides, expected] of cases) {
    const line = await startupLine(overrides)
    t.match(line, expected, name)
    t.notMatch(line, /\n/, `${name}: one line`)
    for (const value of Object.values(overrides)) {
      if (value && value.length > 8) t.notMatch(line, value, `${name}: the value is not printed`)
    }
  }
})

t.test('a valid configuration starts, and the deprecated spellings are accepted', async (t) => {
  t.equal(await startupLine({}), 'started')
  const app = await buildApp({
    ...validEnv,
    MCP_REGISTRY_OIDC_PUBLISH_PERISSIONS: 'com.example/*',
    MCP_REGISTRY_OIDC_EDIT_PERISSIONS: 'com.example/tools',
    MCP_REGISTRY_OIDC_AUDIENCE: 'a, b',
  })
  t.teardown(() => app.close())
  const [rule] = app.config.policy.rules
  t.same(
    [rule?.publish.map((pattern) => pattern.source), rule?.edit.map((pattern) => pattern.source)],
    [['com.example/*'], ['com.example/tools']],
  )
  t.same(app.config.audiences, ['a', 'b'])
  t.same(app.config.trustedProxies, [])
  t.equal(app.config.rateLimitMax, 120)
  t.equal(app.config.rateLimitWindowSeconds, 60)
  t.equal(app.config.jwksRefetchCooldownMs, 30_000)
  t.equal(app.config.providerTimeoutMs, 5000)
  t.equal(app.config.callbackUrl, 'https://registry.example.com/v0/auth/oidc/callback')
  t.equal(app.config.secureCookies, true)
  t.same(app.config.warnings, [
    'MCP_REGISTRY_OIDC_PUBLISH_PERISSIONS is deprecated: rename it to MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS',
    'MCP_REGISTRY_OIDC_EDIT_PERISSIONS is deprecated: rename it to MCP_REGISTRY_OIDC_EDIT_PERMISSIONS',
  ])
})

t.test('the egress proxy: either spelling (lower case wins), http:// when no scheme', async (t) => {
  const app = await buildApp({
    ...validEnv,
    HTTPS_PROXY: 'http://ignored.example:3128',
    https_proxy: 'https://user:pass@egress.example:8443',
    HTTP_PROXY: 'egress.example:3128',
    NO_PROXY: ' .internal.example,127.0.0.1 ',
  })
  t.teardown(() => app.close())
  t.same(app.config.outboundProxy, {
    httpsProxy: 'https://user:pass@egress.example:8443/',
    httpProxy: 'http://egress.example:3128/',
    noProxy: '.internal.example,127.0.0.1',
  })
  const direct = await buildApp(validEnv)
  t.teardown(() => direct.close())
  t.same(direct.config.outboundProxy, { httpsProxy: '', httpProxy: '', noProxy: '' })
})

t.test('one configuration, validated once, is what the app runs with', async (t) => {
  const env = { ...validEnv, MCP_REGISTRY_OIDC_TOKEN_TTL_SECONDS: '600', LOG_LEVEL: 'warn' }
  const config = loadConfig(env)
  t.equal(config.tokenTtlSeconds, 600)
  t.equal(config.logLevel, 'warn')
  t.equal(config.issuerIdentifier, 'https://idp.invalid', 'the issuer as configured')
  t.equal(config.issuer.href, 'https://idp.invalid/')
  const app = await buildApp(env)
  t.teardown(() => app.close())
  t.same(app.config, config)
  t.equal(app.log.level, 'warn', 'the logger is built at the configured level')
  t.equal(app.hasDecorator('env'), false, 'no raw environment beside the configuration')
  t.notOk('PORT' in env, 'defaults are not written back into the environment')
})

t.test('trusted proxies: addresses, CIDR ranges and proxy-addr names', async (t) => {
  const app = await buildApp({
    ...validEnv,
    MCP_REGISTRY_OIDC_TRUST_PROXY: 'loopback, 10.0.0.0/8, 192.0.2.7, fd00::/8',
  })
  t.teardown(() => app.close())
  t.same(app.config.trustedProxies, ['loopback', '10.0.0.0/8', '192.0.2.7', 'fd00::/8'])
})

t.test('the process exits 1 with one line on stderr', async (t) => {
  const server = fileURLToPath(new URL('../src/main.ts', import.meta.url))
  const child = spawn(process.execPath, [...process.execArgv, server], {
    // process.env carries the TypeScript loader's settings (transpile only).
    env: { ...process.env, ...validEnv, MCP_REGISTRY_JWT_PRIVATE_KEY: 'abc123' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  const code = await new Promise((resolve) => child.on('exit', resolve))
  t.equal(code, 1)
  t.equal(stdout, '')
  t.equal(stderr.trim().split('\n').length, 1, stderr)
  t.match(stderr, /MCP_REGISTRY_JWT_PRIVATE_KEY must be exactly 64 hex characters/)
  t.notMatch(stderr, 'abc123')
  t.notMatch(stderr, 'client-secret-value-do-not-print')
})

// The policy file: its own mistakes are in test/registry/policy-file.test.ts; here, the line the
// process prints for them and for a conflict with the environment form.

const policyExample = policyFileText(githubIssuer, weatherRelease)

t.test('start-up: the file, the rule and the problem; conflicts name the variable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-'))
  const good = join(dir, 'policy.yaml')
  writeFileSync(good, policyExample)
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'rules:\n  - name: r\n    grant: {publish: ["a/{}"]}\n')

  t.equal(await startupLine({ MCP_REGISTRY_OIDC_POLICY_FILE: good }), 'started')
  t.equal(
    await startupLine({ MCP_REGISTRY_OIDC_POLICY_FILE: bad }),
    `mcp-registry-oidc: configuration error: MCP_REGISTRY_OIDC_POLICY_FILE ${bad}: rule "r", grant.publish[0]: has a malformed template "{}": write {claim} or {claim.member}, names of letters, digits, "_" and "-"`,
  )
  t.equal(
    await startupLine({ MCP_REGISTRY_OIDC_POLICY_FILE: join(dir, 'missing.yaml') }),
    `mcp-registry-oidc: configuration error: MCP_REGISTRY_OIDC_POLICY_FILE ${join(dir, 'missing.yaml')}: does not exist`,
  )
  t.equal(
    await startupLine({ MCP_REGISTRY_OIDC_POLICY_FILE: dir }),
    `mcp-registry-oidc: configuration error: MCP_REGISTRY_OIDC_POLICY_FILE ${dir}: is a directory`,
  )
  for (const variable of [
    'MCP_REGISTRY_OIDC_EXTRA_CLAIMS',
    'MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS',
    'MCP_REGISTRY_OIDC_EDIT_PERMISSIONS',
    'MCP_REGISTRY_OIDC_PUBLISH_PERISSIONS',
    'MCP_REGISTRY_OIDC_EDIT_PERISSIONS',
  ]) {
    t.equal(
      await startupLine({ MCP_REGISTRY_OIDC_POLICY_FILE: good, [variable]: '[{"hd":"x"}]' }),
      `mcp-registry-oidc: configuration error: MCP_REGISTRY_OIDC_POLICY_FILE cannot be combined with ${variable}: move its setting into the policy file's rules and unset it`,
      variable,
    )
  }
  t.equal(
    await startupLine({ MCP_REGISTRY_OIDC_POLICY_FILE: good, MCP_REGISTRY_OIDC_EXTRA_CLAIMS: ' ' }),
    'started',
    'a blank variable counts as unset',
  )
  const app = await buildApp({ ...validEnv, MCP_REGISTRY_OIDC_POLICY_FILE: good })
  t.teardown(() => app.close())
  t.same(
    app.config.policy.rules.map((r) => r.name),
    ['admins', 'own-namespace', 'platform-team', 'weather-release'],
  )
})

t.test('an issuer no rule names is worth a warning', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-'))
  const file = join(dir, 'policy.yaml')
  writeFileSync(
    file,
    'issuers:\n  - {name: gitlab, issuer: "https://gitlab.com", audiences: [x]}\nrules:\n  - name: r\n    grant: {publish: [a]}\n',
  )
  const app = await buildApp({ ...validEnv, MCP_REGISTRY_OIDC_POLICY_FILE: file })
  t.teardown(() => app.close())
  t.same(app.config.warnings, [
    'the policy file lists issuer "gitlab" but no rule names it: its tokens will all be refused',
  ])
})
