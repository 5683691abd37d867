// `npm run bench`: every scenario in one run, against the built service (node dist/server.js) on
// 127.0.0.1, with the references and the peer measured in the same run so that their ratios hold
// on a noisy machine. Writes bench/results/results.{json,md} and requests-per-second.svg.
//
// Settings (environment): BENCH_CONNECTIONS (50), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3),
// BENCH_LOGINS (pre-issued logins per callback scenario, 1000), BENCH_MEMORY_REQUESTS (200000),
// BENCH_ONLY (comma-separated scenario ids, e.g. "bare,start"; results are then not written
// unless BENCH_WRITE=1), BENCH_LOG_LEVEL (the service's LOG_LEVEL; default info, its default),
// BENCH_PROFILE_DIR (the service writes a V8 CPU profile there for each scenario), BENCH_SERVER
// (another build's server.js, to compare two versions of the service), BENCH_RATE (a fixed
// request rate instead of as many as the service answers: CPU per request then moves less).

import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type autocannon from 'autocannon'
import type { FloorResult } from './crypto-floor.js'
import { type LoadOptions, load } from './load.js'
import {
  type BenchProcess,
  cpuMicroseconds,
  freePort,
  peakRssBytes,
  rssBytes,
  type SpawnOptions,
  spawnNode,
  waitFor200,
} from './processes.js'
import {
  type BenchResults,
  evaluateTargets,
  markdownReport,
  type ScenarioId,
  type ScenarioResult,
  scenarioLabels,
  svgChart,
} from './report.js'
import { percentile } from './stats.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '..')
const serverScript = process.env.BENCH_SERVER ?? join(root, 'dist', 'server.js')
const resultsDir = join(root, 'bench', 'results')

const numberSetting = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}
const settings = {
  connections: numberSetting('BENCH_CONNECTIONS', 50),
  seconds: numberSetting('BENCH_SECONDS', 10),
  warmUpSeconds: numberSetting('BENCH_WARMUP_SECONDS', 3),
  logins: numberSetting('BENCH_LOGINS', 1000),
  memoryRequests: numberSetting('BENCH_MEMORY_REQUESTS', 200_000),
  memoryWarmUpRequests: 20_000,
  startupSamples: 5,
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
}
/** RSS readings over the memory run. */
const memorySamples = 20
const only = process.env.BENCH_ONLY?.split(',').map((id) => id.trim())
const wanted = (id: ScenarioId | 'memory' | 'startup') => !only || only.includes(id)

const serviceClient = { id: 'mcp-registry', secret: randomBytes(24).toString('base64url') }
const peerClient = { id: 'express-peer', secret: randomBytes(24).toString('base64url') }
/** Where the CLI login (`mcp-publisher`) would listen; the service only redirects to it. */
const loopbackTarget = 'http://127.0.0.1:8976/callback'

const processes = new Set<BenchProcess>()
async function stopAll(): Promise<void> {
  await Promise.all([...processes].map((child) => child.stop()))
}
process.once('SIGINT', () => {
  stopAll().finally(() => process.exit(130))
})

function start(
  name: string,
  script: string,
  args: string[],
  options: SpawnOptions = {},
  nodeFlags: string[] = [],
) {
  const child = spawnNode(name, [...nodeFlags, resolve(here, script), ...args], options)
  processes.add(child)
  return {
    child,
    async stop() {
      await child.stop()
      processes.delete(child)
    },
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

function recorded(result: ScenarioResult): ScenarioResult {
  log(
    `  ${scenarioLabels[result.id]}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, peak RSS ${(result.peakRssBytes / 1e6).toFixed(1)} MB, ${Math.round(result.cpuMicrosecondsPerRequest)} µs CPU per request`,
  )
  scenarios.push(result)
  return result
}

/**
 * Warm-up (discarded), then the measured run against `server`, whose CPU time during the run
 * is divided by the requests it answered: on a shared machine that figure moves much less than
 * requests per second do.
 */
async function measure(
  id: ScenarioId,
  server: BenchProcess,
  options: Omit<LoadOptions, 'duration' | 'amount'>,
): Promise<ScenarioResult> {
  await load({ ...options, duration: settings.warmUpSeconds })
  const cpuBefore = cpuMicroseconds(server.pid)
  const result = await load({ ...options, duration: settings.seconds })
  const cpu = cpuMicroseconds(server.pid) - cpuBefore
  return recorded({
    id,
    ...result,
    peakRssBytes: peakRssBytes(server.pid),
    cpuMicrosecondsPerRequest: cpu / result.requests,
  })
}

// --- the provider stub, shared by the service and the peer ---------------------------------------

const [stubPort, servicePort, peerPort, barePort] = await Promise.all([
  freePort(),
  freePort(),
  freePort(),
  freePort(),
])
const issuer = `http://127.0.0.1:${stubPort}`
const serviceBase = `http://127.0.0.1:${servicePort}`
const peerBase = `http://127.0.0.1:${peerPort}`

const stub = start(
  'provider stub',
  'provider-stub.js',
  [
    String(stubPort),
    JSON.stringify([
      { ...serviceClient, redirectUris: [`${serviceBase}/v0/auth/oidc/callback`] },
      { ...peerClient, redirectUris: [`${peerBase}/callback`] },
    ]),
  ],
  { readyLine: 'ready' },
)
await stub.child.ready

const serviceEnv = {
  MCP_REGISTRY_OIDC_ISSUER: issuer,
  MCP_REGISTRY_OIDC_CLIENT_ID: serviceClient.id,
  MCP_REGISTRY_OIDC_CLIENT_SECRET: serviceClient.secret,
  MCP_REGISTRY_OIDC_PUBLIC_URL: serviceBase,
  MCP_REGISTRY_OIDC_COOKIE_SECRET: randomBytes(32).toString('hex'),
  MCP_REGISTRY_JWT_PRIVATE_KEY: randomBytes(32).toString('hex'),
  MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: 'true',
  MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '[{"email_verified":true}]',
  MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: 'com.example/*',
  MCP_REGISTRY_OIDC_EDIT_PERMISSIONS: 'com.example/*',
  LOG_LEVEL: settings.logLevel,
  HOST: '127.0.0.1',
  PORT: String(servicePort),
}
const serviceNodeFlags = process.env.BENCH_PROFILE_DIR
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
  : []

/** Starts the built service; returns it with the milliseconds from spawn to /healthz 200. */
async function startService() {
  const since = performance.now()
  const service = start('service', serverScript, [], { env: serviceEnv }, serviceNodeFlags)
  const startupMs = await waitFor200(`${serviceBase}/healthz`, since, service.child)
  await waitFor200(`${serviceBase}/readyz`, since, service.child)
  return { ...service, startupMs }
}

async function startPeer() {
  const peer = start('express-openid-connect', join('peer', 'server.js'), [
    String(peerPort),
    issuer,
    peerClient.id,
    peerClient.secret,
  ])
  await waitFor200(`${peerBase}/healthz`, performance.now(), peer.child)
  return peer
}

function cookieHeader(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';', 1)[0])
    .join('; ')
}

interface PendingLogin {
  readonly path: string
  readonly cookie: string
}

/**
 * Starts a login at `startUrl` and has the stub authorize it (which signs its ID token), up to
 * the callback URL and the cookies a browser would bring to it.
 */
async function preIssueLogin(startUrl: string): Promise<PendingLogin> {
  const started = await fetch(startUrl, { redirect: 'manual' })
  const authorizeUrl = started.headers.get('location')
  if (started.status !== 302 || !authorizeUrl?.startsWith(issuer)) {
    throw new Error(`${startUrl} answered ${started.status} ${await started.text()}`)
  }
  const authorized = await fetch(authorizeUrl, { redirect: 'manual' })
  const callback = authorized.headers.get('location')
  if (authorized.status !== 302 || !callback) {
    throw new Error(`the stub refused the login: ${authorized.status} ${await authorized.text()}`)
  }
  const url = new URL(callback)
  return { path: url.pathname + url.search, cookie: cookieHeader(started) }
}

async function preIssueLogins(startUrl: (index: number) => string): Promise<PendingLogin[]> {
  const logins: PendingLogin[] = []
  const lanes = Array.from({ length: 8 }, async () => {
    while (logins.length < settings.logins) {
      logins.push(await preIssueLogin(startUrl(logins.length)))
    }
  })
  await Promise.all(lanes)
  return logins
}

function cycling<T>(items: readonly T[], apply: (request: autocannon.Request, item: T) => void) {
  let next = 0
  return (request: autocannon.Request) => {
    apply(request, items[next++ % items.length] as T)
    return request
  }
}

const callbackRequests = (logins: readonly PendingLogin[]) =>
  cycling(logins, (request, login) => {
    request.path = login.path
    request.headers = { ...request.headers, cookie: login.cookie }
  })

/** One callback by hand before the load, so a run that measures refusals cannot pass unnoticed. */
async function checkCallback(base: string, login: PendingLogin, expect: (r: Response) => boolean) {
  const response = await fetch(base + login.path, {
    redirect: 'manual',
    headers: { cookie: login.cookie },
  })
  if (!expect(response)) {
    throw new Error(
      `${base}${login.path.split('?')[0]} answered ${response.status} ${await response.text()}`,
    )
  }
}

const startPath = `/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(loopbackTarget)}&state=cli-state`
const scenarios: ScenarioResult[] = []
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryBytes: totalmem(),
  kernel: release(),
  node: process.version,
  loadAverageAtStart: loadavg(),
  loadAverageAtEnd: [] as number[],
}
const common = {
  connections: settings.connections,
  ...(process.env.BENCH_RATE ? { rate: numberSetting('BENCH_RATE', 1) } : {}),
}
let memory: BenchResults['memory']
const startupSamplesMs: number[] = []

try {
  if (wanted('bare')) {
    log('bare Fastify route')
    const bare = start('bare fastify', 'bare-fastify.js', [String(barePort)], {
      readyLine: 'ready',
    })
    await bare.child.ready
    await measure('bare', bare.child, {
      ...common,
      url: `http://127.0.0.1:${barePort}/`,
      expectedStatus: 200,
    })
    await bare.stop()
  }

  if (wanted('start')) {
    log('service: start')
    const service = await startService()
    startupSamplesMs.push(service.startupMs)
    await measure('start', service.child, {
      ...common,
      url: serviceBase + startPath,
      expectedStatus: 302,
    })
    await service.stop()
  }

  if (wanted('peer-start')) {
    log('express-openid-connect: login')
    const peer = await startPeer()
    await measure('peer-start', peer.child, {
      ...common,
      url: `${peerBase}/login`,
      expectedStatus: 302,
    })
    await peer.stop()
  }

  if (wanted('callback')) {
    log('service: callback')
    const service = await startService()
    startupSamplesMs.push(service.startupMs)
    const logins = await preIssueLogins(
      (index) =>
        `${serviceBase}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(loopbackTarget)}&state=cli-${index}`,
    )
    await checkCallback(
      serviceBase,
      logins[0] as PendingLogin,
      (response) =>
        response.status === 302 &&
        new URL(response.headers.get('location') ?? 'x:').searchParams.has('registry_token'),
    )
    await measure('callback', service.child, {
      ...common,
      url: serviceBase,
      setupRequest: callbackRequests(logins),
      expectedStatus: 302,
    })
    await service.stop()
  }

  if (wanted('peer-callback')) {
    log('express-openid-connect: callback')
    const peer = await startPeer()
    const logins = await preIssueLogins(() => `${peerBase}/login`)
    await checkCallback(
      peerBase,
      logins[0] as PendingLogin,
      (response) =>
        response.status === 302 &&
        response.headers.getSetCookie().some((cookie) => cookie.startsWith('appSession=')),
    )
    await measure('peer-callback', peer.child, {
      ...common,
      url: peerBase,
      setupRequest: callbackRequests(logins),
      expectedStatus: 302,
    })
    await peer.stop()
  }

  if (wanted('floor')) {
    log('crypto floor')
    const floor = start(
      'crypto floor',
      'crypto-floor.js',
      [settings.connections, settings.warmUpSeconds, settings.seconds].map(String),
      { stdout: 'collect' },
    )
    if ((await floor.child.exited) !== 0) throw new Error(`crypto floor: ${floor.child.stderr()}`)
    await floor.stop()
    const parsed = JSON.parse(floor.child.stdout()) as FloorResult
    recorded({
      id: 'floor',
      requests: parsed.requests,
      seconds: parsed.seconds,
      requestsPerSecond: parsed.requests / parsed.seconds,
      latencyMs: parsed.latenciesMs,
      peakRssBytes: parsed.peakRssBytes,
      cpuMicrosecondsPerRequest: parsed.cpuMicroseconds / parsed.requests,
    })
  }

  if (wanted('exchange')) {
    log('service: exchange')
    const service = await startService()
    startupSamplesMs.push(service.startupMs)
    const tokens = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await fetch(`${issuer}/bench/id-token?aud=${serviceClient.id}`)
        return JSON.stringify({ oidc_token: await response.text() })
      }),
    )
    await measure('exchange', service.child, {
      ...common,
      url: `${serviceBase}/v0/auth/oidc`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: tokens[0] as string,
      setupRequest: cycling(tokens, (request, body) => {
        request.body = body
      }),
      expectedStatus: 200,
    })
    await service.stop()
  }

  if (wanted('memory')) {
    log(`memory: ${settings.memoryRequests} starts`)
    const service = await startService()
    startupSamplesMs.push(service.startupMs)
    const url = serviceBase + startPath
    await load({ ...common, url, amount: settings.memoryWarmUpRequests, expectedStatus: 302 })
    // RSS follows the garbage collector's sawtooth, so one reading can be off by the size of the
    // young generation either way: the run is read after each twentieth, and the first three
    // readings are compared with the last three.
    const chunk = Math.ceil(settings.memoryRequests / memorySamples)
    const samples: number[] = []
    for (let sent = 0; sent < settings.memoryRequests; sent += chunk) {
      await load({ ...common, url, amount: chunk, expectedStatus: 302 })
      samples.push(rssBytes(service.child.pid))
    }
    const median3 = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      )
    memory = {
      requests: settings.memoryRequests,
      warmRssBytes: median3(samples.slice(0, 3)),
      afterRssBytes: median3(samples.slice(-3)),
      peakRssBytes: peakRssBytes(service.child.pid),
      samplesRssBytes: samples,
    }
    log(
      `  RSS ${samples.map((sample) => (sample / 1e6).toFixed(0)).join(' ')} MB (after each ${chunk} starts)`,
    )
    await service.stop()
  }

  if (wanted('startup')) {
    log('start-up')
    for (let sample = 0; sample < settings.startupSamples; sample++) {
      const service = await startService()
      startupSamplesMs.push(service.startupMs)
      await service.stop()
    }
  }
} finally {
  await stopAll()
}

machine.loadAverageAtEnd = loadavg()
const sortedStartup = [...startupSamplesMs].sort((a, b) => a - b)
const results: BenchResults = {
  date: new Date().toISOString(),
  machine,
  settings,
  scenarios,
  ...(memory ? { memory } : {}),
  ...(sortedStartup.length > 0
    ? {
        startup: {
          samplesMs: startupSamplesMs,
          medianMs: percentile(sortedStartup, 50),
          maxMs: sortedStartup[sortedStartup.length - 1] as number,
        },
      }
    : {}),
}
results.targets = evaluateTargets(results)

const report = markdownReport(results)
process.stdout.write(`${report}\n`)
if (!only || process.env.BENCH_WRITE === '1') {
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(resultsDir, 'results.md'), `${report}\n`)
  writeFileSync(join(resultsDir, 'requests-per-second.svg'), svgChart(results))
  log(`written to ${resultsDir}`)
}
