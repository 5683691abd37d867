// rediss:// against a real redis-server that speaks only TLS: the service connects when it trusts
// the server's certificate (NODE_EXTRA_CA_CERTS, as docs/configuration.md says) and refuses to
// when it does not, saying why in its log.

import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { freePort } from '../helpers/free-port.js'
import { isStoreUp, redisServerMissing, startRedis } from '../helpers/redis.js'
import { whenToolPresent } from '../helpers/required-tool.js'
import { testEnv } from '../helpers/service.js'
import { builtService, type ServiceProcess, spawnService } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait.js'

await whenToolPresent(t, redisServerMissing(), async () => {
  const directory = await mkdtemp(join(tmpdir(), 'mcp-oidc-redis-tls-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const certFile = join(directory, 'cert.pem')
  const keyFile = join(directory, 'key.pem')
  // A self-signed certificate for the name the URL uses.
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost',
  ])
  const redis = await startRedis({ tls: { certFile, keyFile } })
  t.teardown(() => redis.close())
  // No provider is needed to connect to the store: nothing listens at this issuer.
  const provider = { issuer: 'http://127.0.0.1:1', clientId: 'c', clientSecret: 's' }

  // The build, as `npm start` runs it: it starts quicker than the source under the TypeScript
  // loader, and takes only the environment given here (so NODE_EXTRA_CA_CERTS is ours alone).
  const built = await builtService()
  async function service(extra: Record<string, string>): Promise<ServiceProcess> {
    const started = await spawnService(
      testEnv(provider, await freePort(), { MCP_REGISTRY_OIDC_REDIS_URL: redis.url, ...extra }),
      { built },
    )
    t.teardown(() => started.stop('SIGKILL'))
    return started
  }
  const storeLine = (started: ServiceProcess, wanted: (line: Record<string, unknown>) => boolean) =>
    waitFor('a shared store log line', () => started.logs.find(wanted))

  t.test('trusted certificate: connected over TLS', async (t) => {
    const line = await storeLine(await service({ NODE_EXTRA_CA_CERTS: certFile }), (line) =>
      isStoreUp(line.msg),
    )
    t.match(line, { store: { host: 'localhost', tls: true } })
  })

  t.test('untrusted certificate: not connected, and the log says why', async (t) => {
    const started = await service({ NODE_EXTRA_CA_CERTS: '' })
    const line = await storeLine(started, (line) =>
      /shared store unreachable/.test(String(line.msg)),
    )
    t.match(line, { level: 40, reason: /CERT|SELF_SIGNED/ })
    // Never connected, however long it keeps trying.
    t.notOk(started.logs.some((line) => isStoreUp(line.msg)))
  })
})
