// docker-compose.yml without Docker: parsed with `yaml`, then checked for what `docker compose
// config` would refuse (interpolation syntax, references to unknown or profile-only services) and
// for what the stack needs to work (one issuer URL, one client, one signing key, the nginx file).

import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'

interface Service {
  image?: string
  build?: string | { context: string; dockerfile?: string }
  profiles?: string[]
  ports?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  depends_on?: Record<string, { condition: string }>
  networks?: Record<string, { aliases?: string[] }>
  healthcheck?: { test: string[] }
}

const root = new URL('../../', import.meta.url)
const text = await readFile(new URL('docker-compose.yml', root), 'utf8')
const compose = parse(text) as { services: Record<string, Service>; volumes?: object } & Record<
  string,
  unknown
>
const { services } = compose
const env = (name: string): Record<string, string> => services[name]?.environment ?? {}

t.test(
  'Compose Specification: no version key, every value a string compose can take',
  async (t) => {
    t.notOk('version' in compose, 'the obsolete top-level version key is absent')
    t.same(Object.keys(services).sort(), [
      'idp',
      'mcp-registry-oidc',
      'nginx',
      'postgres',
      'registry',
      'valkey',
    ])
    for (const [name, service] of Object.entries(services)) {
      t.ok(service.image ?? service.build, `${name} has an image or a build`)
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        t.type(value, 'string', `${name}.${variable} is a string`)
      }
    }
    // Compose interpolates $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
    // ${NAME?error} in values (not comments); $$ is a literal $. Anything else after a $ is an error.
    const values = (node: unknown): string[] =>
      typeof node === 'string'
        ? [node]
        : node !== null && typeof node === 'object'
          ? Object.values(node).flatMap(values)
          : []
    const interpolation = /\$(\$|\{[A-Z_][A-Z0-9_]*(?::?[-?][^{}$]*)?\}|[A-Z_][A-Z0-9_]*)?/g
    for (const value of values(compose)) {
      for (const [match] of value.matchAll(interpolation)) {
        t.not(match, '$', `no stray $ in ${JSON.stringify(value)}`)
      }
    }
  },
)

t.test('profiles: the registry and PostgreSQL only with --profile registry', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    const expected = name === 'registry' || name === 'postgres' ? ['registry'] : undefined
    t.same(service.profiles, expected, `${name} profiles`)
    for (const dependency of Object.keys(service.depends_on ?? {})) {
      t.ok(services[dependency], `${name} depends on a service that exists: ${dependency}`)
      if (service.profiles === undefined) {
        t.same(services[dependency]?.profiles, undefined, `${name} starts without any profile`)
      }
    }
  }
  t.ok(compose.volumes && 'registry-db' in compose.volumes, 'the database volume is declared')
})

t.test('nginx: published on loopback, the one config file, upstreams that exist', async (t) => {
  const nginx = services.nginx as Service
  t.same(nginx.ports, ['127.0.0.1:8080:8080'])
  t.equal(env('nginx').NGINX_PORT, '8080', 'listens on the published container port')
  const [mount] = nginx.volumes ?? []
  const [source, target, mode] = (mount ?? '').split(':')
  t.equal(source, './deploy/nginx/mcp-registry.conf.template')
  t.ok(existsSync(fileURLToPath(new URL(source as string, root))), 'the mounted file exists')
  t.equal(target, '/etc/nginx/templates/default.conf.template', "the image's template folder")
  t.equal(mode, 'ro')
  const template = await readFile(new URL(source as string, root), 'utf8')
  const needed = new Set([...template.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1] as string))
  const given = new Set(Object.keys(env('nginx')))
  // the image derives NGINX_LOCAL_RESOLVERS itself when asked to
  if (env('nginx').NGINX_ENTRYPOINT_LOCAL_RESOLVERS === '1') given.add('NGINX_LOCAL_RESOLVERS')
  for (const name of needed) t.ok(given.has(name), `the template's ${name} is set`)
  for (const variable of ['OIDC_UPSTREAM', 'REGISTRY_UPSTREAM']) {
    const [host, port] = (env('nginx')[variable] ?? '').split(':')
    t.ok(services[host as string], `${variable} names a service: ${host}`)
    t.equal(port, '8080')
  }
})

t.test('the service, the provider and the registry agree', async (t) => {
  const service = env('mcp-registry-oidc')
  const idp = env('idp')
  const registry = env('registry')
  t.equal(service.MCP_REGISTRY_OIDC_ISSUER, idp.DEV_OIDC_ISSUER, 'one issuer URL')
  const issuer = new URL(service.MCP_REGISTRY_OIDC_ISSUER as string)
  t.ok(issuer.hostname.endsWith('.localhost'), 'browsers resolve it to this machine by themselves')
  t.same(
    services.idp?.networks?.default?.aliases,
    [issuer.hostname],
    'containers reach it by alias',
  )
  t.same(services.idp?.ports, [`127.0.0.1:${issuer.port}:${idp.DEV_OIDC_PORT}`])
  t.equal(service.MCP_REGISTRY_OIDC_CLIENT_ID, idp.DEV_OIDC_CLIENT_ID)
  t.equal(service.MCP_REGISTRY_OIDC_CLIENT_SECRET, idp.DEV_OIDC_CLIENT_SECRET)
  t.equal(service.MCP_REGISTRY_OIDC_EXTRA_CLAIMS, idp.MCP_REGISTRY_OIDC_EXTRA_CLAIMS)
  const publicUrl = service.MCP_REGISTRY_OIDC_PUBLIC_URL as string
  t.equal(publicUrl, 'http://localhost:8080', "nginx's published port")
  t.same(idp.DEV_OIDC_REDIRECT_URIS?.split(','), [
    `${publicUrl}/v0/auth/oidc/callback`,
    `${publicUrl}/v0.1/auth/oidc/callback`,
  ])

  t.equal(
    service.MCP_REGISTRY_OIDC_TRUST_PROXY,
    'uniquelocal',
    "nginx's X-Forwarded-For is believed from the compose network: one rate-limit budget per client",
  )

  const key = service.MCP_REGISTRY_JWT_PRIVATE_KEY
  t.equal(registry.MCP_REGISTRY_JWT_PRIVATE_KEY, key, 'the registry verifies with the same key')
  t.match(key, /^\$\{MCP_REGISTRY_JWT_PRIVATE_KEY:\?[^}]+\}$/, 'required from .env, no default')
  t.match(
    service.MCP_REGISTRY_OIDC_COOKIE_SECRET,
    /^\$\{MCP_REGISTRY_OIDC_COOKIE_SECRET:\?[^}]+\}$/,
  )
  t.match(services.registry?.image, 'ghcr.io/modelcontextprotocol/registry:')
  t.match(registry.MCP_REGISTRY_DATABASE_URL, /^postgres:\/\/[^@]+@postgres:5432\//)
})

t.test(
  'the shared store: Valkey, pinned to a major version, unpublished, not persisted',
  async (t) => {
    const valkey = services.valkey as Service & { command?: string[] }
    t.match(
      valkey.image,
      /^valkey\/valkey:[0-9]+(-alpine)?$/,
      'the official image, a major version',
    )
    t.same(valkey.ports, undefined, 'only the login service reaches it')
    t.same(valkey.volumes, undefined, 'no data volume')
    t.same(valkey.command, ['valkey-server', '--save', '', '--appendonly', 'no'])
    const url = new URL(env('mcp-registry-oidc').MCP_REGISTRY_OIDC_REDIS_URL as string)
    t.equal(url.protocol, 'redis:')
    t.ok(services[url.hostname], `the URL names a service: ${url.hostname}`)
    t.equal(url.port, '6379')
    t.same(services['mcp-registry-oidc']?.depends_on?.valkey, { condition: 'service_started' })
  },
)
