// A real redis-server (Debian's package) for the shared-store tests: on a free loopback port,
// without persistence, in a temp directory of its own. It can be stopped and started again on the
// same port, as an outage and its end.

import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from './free-port.js'
import { programPath, skipWhenMissing } from './required-tool.js'
import { callbackUrlFor, testEnv } from './service.js'
import { builtService, type ServiceProcess, spawnService } from './service-process.js'
import { startTestProvider, type TestProvider } from './test-provider.js'
import { acceptsConnections, waitFor } from './wait.js'

/** Debian's redis-server binary, or undefined when it is not installed. */
export function redisServerBinary(): string | undefined {
  return programPath('redis-server', '/usr/bin')
}

/** Why the shared-store tests cannot run on this machine, or undefined when they can. */
export function redisServerMissing(): string | undefined {
  return redisServerBinary()
    ? undefined
    : 'redis-server is not installed: apt-get install redis-server (.ci/run does)'
}

/** For `t.test(name, { skip: skipWithoutRedis() }, …)`; always false under CI=true. */
export function skipWithoutRedis(): string | false {
  return skipWhenMissing(redisServerMissing())
}

export interface RunningRedis {
  readonly port: number
  /** `redis://127.0.0.1:<port>` (with TLS `rediss://localhost:<port>`), for MCP_REGISTRY_OIDC_REDIS_URL. */
  readonly url: string
  /** Kills the server (SIGKILL: no goodbye to the clients, as a crash or a network cut). */
  stop(): Promise<void>
  /** Starts it again on the same port, empty. */
  start(): Promise<void>
  /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
  pause(): void
  /** Lets a frozen process go on (SIGCONT). */
  resume(): void
  close(): Promise<void>
}

export interface RedisOptions {
  /** Serve TLS only, with this certificate and key (PEM files). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string }
}

/** Starts redis-server on 127.0.0.1 and a free port; throws (naming the fix) when it is missing. */
export async function startRedis(options: RedisOptions = {}): Promise<RunningRedis> {
  const binary = redisServerBinary()
  if (!binary) throw new Error(redisServerMissing())
  const port = await freePort()
  const directory = await mkdtemp(join(tmpdir(), 'mcp-oidc-redis-'))
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const start = async () => {
    let output = ''
    const server = spawn(
      binary,
      [
        ...(options.tls
          ? [
              '--port',
              '0',
              '--tls-port',
              String(port),
              '--tls-cert-file',
              options.tls.certFile,
              '--tls-key-file',
              options.tls.keyFile,
              '--tls-auth-clients',
              'no',
            ]
          : ['--port', String(port)]),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        directory,
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    for (const stream of [server.stdout, server.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk
      })
    }
    let running = true
    exited = new Promise((resolve) =>
      server.on('exit', () => {
        running = false
        resolve()
      }),
    )
    child = server
    await waitFor(`redis-server on port ${port}`, async () => {
      if (!running) throw new Error(`redis-server exited: ${output}`)
      return (await acceptsConnections(port)) ? true : undefined
    })
  }
  const stop = async () => {
    // A frozen process gets SIGKILL all the same.
    child?.kill('SIGKILL')
    await exited
    child = undefined
  }

  await start()
  return {
    port,
    url: options.tls ? `rediss://localhost:${port}` : `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async close() {
      await stop()
      await rm(directory, { recursive: true, force: true })
    },
  }
}

/** Whether a log message says the shared store is reachable (the first time or again). */
export function isStoreUp(message: unknown): boolean {
  return message === 'shared store connected' || message === 'shared store reachable again'
}

export interface ReplicasSharingRedis {
  readonly redis: RunningRedis
  readonly provider: TestProvider
  /** What a proxy in front would be: every replica has the first one's URL as its public URL. */
  readonly publicUrl: string
  readonly replicas: readonly ServiceProcess[]
}

/**
 * A redis-server, the test provider and `count` service processes sharing that server, each
 * connected to it; all stopped when `t` ends. The processes run the build, as `npm start` does:
 * no TypeScript loader to start, which matters when several start at once on a busy machine.
 */
export async function startReplicasSharingRedis(
  t: Test,
  count: number,
  overrides: Record<string, string> = {},
): Promise<ReplicasSharingRedis> {
  const redis = await startRedis()
  t.teardown(() => redis.close())
  const ports: number[] = []
  for (let index = 0; index < count; index++) ports.push(await freePort())
  const publicUrl = `http://127.0.0.1:${ports[0]}`
  const provider = await startTestProvider({ redirectUris: [callbackUrlFor(ports[0] as number)] })
  t.teardown(() => provider.close())
  const built = await builtService()
  const replicas = await Promise.all(
    ports.map((port) =>
      spawnService(
        testEnv(provider, port, {
          MCP_REGISTRY_OIDC_PUBLIC_URL: publicUrl,
          MCP_REGISTRY_OIDC_REDIS_URL: redis.url,
          ...overrides,
        }),
        { built },
      ),
    ),
  )
  t.teardown(() => Promise.all(replicas.map((replica) => replica.stop('SIGKILL'))))
  await Promise.all(replicas.map((replica) => replica.waitForReady()))
  for (const replica of replicas) {
    await waitFor(
      'the store connection',
      () => replica.logs.some((line) => isStoreUp(line.msg)) || undefined,
    )
  }
  return { redis, provider, publicUrl, replicas }
}
