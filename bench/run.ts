// `npm run bench`: every scenario in one run, against the built service (node dist/main.js) on
// 127.0.0.1, with the references and the peer measured in the same run. The machine may be
// shared, and its load moves within seconds, so the scenarios are measured in rounds: each round
// gives every scenario a slice of its time, in turn, and the figures add up the slices. A ratio
// then compares two scenarios that saw the same load. Writes bench/results/results.{json,md} and
// requests-per-second.svg.
//
// Settings (environment): BENCH_CONNECTIONS (50), BENCH_SECONDS (12 per scenario),
// BENCH_ROUNDS (4), BENCH_WARMUP_SECONDS (3), BENCH_LOGINS (pre-issued logins per callback
// scenario, 1000), BENCH_MEMORY_REQUESTS (200000), BENCH_ONLY (comma-separated scenario ids, e.g.
// "bare,start"; results are then not written unless BENCH_WRITE=1), BENCH_LOG_LEVEL (the
// service's LOG_LEVEL; default info, its default), BENCH_PROFILE_DIR (the service writes V8 CPU
// profiles there), BENCH_SERVER (another build's dist/main.js, to compare two versions), BENCH_RATE
// (a fixed request rate instead of as many as the service answers: CPU per request moves less),
// BENCH_SERVICE_CPU (a CPU number: the measured services run on that CPU alone, via taskset; run
// the benchmark itself on another, e.g. `taskset -c 0`), BENCH_BASELINE (another build's
// dist/main.js: its /start, callbacks and exchange are measured in the same rounds, slice beside
// slice, and compared; bench/compare.sh sets it).

import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type autocannon from 'autocannon'
import type { FloorRun } from './crypto-floor.js'
import { type LoadOptions, type LoadResult, load } from './load.js'
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
  evaluateCeilings,
  evaluateTargets,
  markdownReport,
  type ScenarioId,
  type ScenarioResult,
  scenarioLabels,
  svgChart,
} from './report.js'
import { percentile } from './stats.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '..', '..')
const serverScript = process.env.BENCH_SERVER ?? join(root, 'dist', 'main.js')
const baselineScript = process.env.BENCH_BASELINE
const resultsDir = join(root, 'bench', 'results')

const numberSetting = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}
const settings = {
  connections: numberSetting('BENCH_CONNECTIONS', 50),
  seconds: numberSetting('BENCH_SECONDS', 12),
  rounds: numberSetting('BENCH_ROUNDS', 4),
  warmUpSeconds: numberSetting('BENCH_WARMUP_SECONDS', 3),
  logins: numberSetting('BENCH_LOGINS', 1000),
  memoryRequests: numberSetting('BENCH_MEMORY_REQUESTS', 200_000),
  memoryWarmUpRequests: 20_000,
  startupSamples: 15,
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
/**
 * A web application on the redirect allow-list. It receives the token itself, as a loopback
 * target did before loopback codes: the scenario that compares like with like across versions.
 */
const webTarget = 'https://app.example.com/registry-login'
/** A loopback login carries the CLI's PKCE challenge (any valid one: the bench never redeems). */
const cliChallenge = `code_challenge=${'c'.repeat(43)}&code_challenge_method=S256`
const startPath = `/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(loopbackTarget)}&state=cli-state&${cliChallenge}`

const processes = new Set<BenchProcess>()
process.once('SIGINT', () => {
  Promise.all([...processes].map((child) => child.stop())).finally(() => process.exit(130))
})

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

function start(
  name: string,
  script: string,
  args: string[],
  options: SpawnOptions = {},
  nodeFlags: string[] = [],
): BenchProcess {
  const child = spawnNode(name, [...nodeFlags, resolve(here, script), ...args], options)
  processes.add(child)
  return child
}

async function stop(child: BenchProcess): Promise<void> {
  await child.stop()
  processes.delete(child)
}

const ports = async () => freePort()
const stubPort = await ports()
const issuer = `http://127.0.0.1:${stubPort}`
const servicePortsOf = async () => ({
  start: await ports(),
  callback: await ports(),
  callbackWeb: await ports(),
  exchange: await ports(),
})
type ServicePorts = Awaited<ReturnType<typeof servicePortsOf>>
const servicePorts = await servicePortsOf()
const baselinePorts = baselineScript ? await servicePortsOf() : undefined
const peerPorts = { start: await ports(), callback: await ports() }
const base = (port: number) => `http://127.0.0.1:${port}`

// --- the provider stub, shared by the service and the peer ---------------------------------------

const stub = start(
  'provider stub',
  'provider-stub.js',
  [
    String(stubPort),
    JSON.stringify([
      {
        ...serviceClient,
        redirectUris: [servicePorts, baselinePorts ?? {}]
          .flatMap(Object.values)
          .map((port) => `${base(port)}/v0/auth/oidc/callback`),
      },
      {
        ...peerClient,
        redirectUris: Object.values(peerPorts).map((port) => `${base(port)}/callback`),
      },
    ]),
  ],
  { readyLine: 'ready' },
)
await stub.ready

const serviceNodeFlags = process.env.BENCH_PROFILE_DIR
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
  : []
const signingKey = randomBytes(32).toString('hex')
const cookieSecret = randomBytes(32).toString('hex')

function serviceEnv(port: number, metricsPort: number) {
  return {
    MCP_REGISTRY_OIDC_ISSUER: issuer,
    MCP_REGISTRY_OIDC_CLIENT_ID: serviceClient.id,
    MCP_REGISTRY_OIDC_CLIENT_SECRET: serviceClient.secret,
    MCP_REGISTRY_OIDC_PUBLIC_URL: base(port),
    MCP_REGISTRY_OIDC_COOKIE_SECRET: cookieSecret,
    MCP_REGISTRY_JWT_PRIVATE_KEY: signingKey,
    MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: 'true',
    MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '[{"email_verified":true}]',
    MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: 'com.example/*',
    MCP_REGISTRY_OIDC_EDIT_PERMISSIONS: 'com.example/*',
    MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST: webTarget,
    // On, as by default, so its cost is measured, but never reached: all the load comes from one
    // address, where a deployment's clients would each have their own budget.
    MCP_REGISTRY_OIDC_RATE_LIMIT_MAX: '1000000',
    LOG_LEVEL: settings.logLevel,
    HOST: '127.0.0.1',
    PORT: String(port),
    // Metrics on, as by default, on a port of each service's own.
    METRICS_PORT: String(metricsPort),
  }
}

const startupSamplesMs: number[] = []

interface Build {
  readonly script: string
  readonly ports: ServicePorts
  readonly baseline: boolean
}
const builds: Build[] = [
  { script: serverScript, ports: servicePorts, baseline: false },
  ...(baselineScript && baselinePorts
    ? [{ script: baselineScript, ports: baselinePorts, baseline: true }]
    : []),
]

/** A service scenario on this build and, with BENCH_BASELINE, the same on the baseline build. */
async function forEachBuild(make: (build: Build) => Promise<Scenario>): Promise<Scenario[]> {
  const made: Scenario[] = []
  for (const build of builds) made.push({ ...(await make(build)), baseline: build.baseline })
  return made
}

/** Starts the built service; `onHealthy` gets the milliseconds from spawn to /healthz 200. */
async function startService(
  port: number,
  onHealthy: (ms: number) => void = () => {},
  script = serverScript,
): Promise<BenchProcess> {
  const metricsPort = await ports()
  const since = performance.now()
  const service = start(
    'service',
    script,
    [],
    { env: serviceEnv(port, metricsPort) },
    serviceNodeFlags,
  )
  onHealthy(await waitFor200(`${base(port)}/healthz`, since, service))
  await waitFor200(`${base(port)}/readyz`, since, service)
  return service
}

async function startPeer(port: number): Promise<BenchProcess> {
  const peer = start('express-openid-connect', join('peer', 'server.js'), [
    String(port),
    issuer,
    peerClient.id,
    peerClient.secret,
  ])
  await waitFor200(`${base(port)}/healthz`, performance.now(), peer)
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
async function checkCallback(url: string, login: PendingLogin, expect: (r: Response) => boolean) {
  const response = await fetch(url + login.path, {
    redirect: 'manual',
    headers: { cookie: login.cookie },
  })
  if (!expect(response)) {
    throw new Error(`${url}${login.path.split('?')[0]} answered ${response.status}`)
  }
}

/** One slice of a scenario: a number of seconds of load, and what the measured process did. */
interface Slice extends LoadResult {
  readonly cpuMicroseconds: number
}

interface Scenario {
  readonly id: ScenarioId
  readonly process: BenchProcess
  /** Measured against the BENCH_BASELINE build, beside the same scenario of this one. */
  readonly baseline?: boolean
  run(seconds: number): Promise<LoadResult>
}

function httpScenario(
  id: ScenarioId,
  server: BenchProcess,
  options: Omit<LoadOptions, 'duration' | 'amount' | 'connections'>,
): Scenario {
  const common = {
    connections: settings.connections,
    ...(process.env.BENCH_RATE ? { rate: numberSetting('BENCH_RATE', 1) } : {}),
  }
  return {
    id,
    process: server,
    run: (seconds) => load({ ...common, ...options, duration: seconds }),
  }
}

/** The crypto floor, driven over its stdin so its slices interleave with the others. */
function floorScenario(floor: BenchProcess): Scenario {
  const answers = createInterface({ input: floor.child.stdout as NodeJS.ReadableStream })
  const pending: Array<(line: string) => void> = []
  answers.on('line', (line) => {
    if (line !== 'ready') pending.shift()?.(line)
  })
  return {
    id: 'floor',
    process: floor,
    run: (seconds) =>
      new Promise<LoadResult>((done) => {
        pending.push((line) => {
          const result = JSON.parse(line) as FloorRun
          done(result)
        })
        floor.child.stdin?.write(`run ${seconds}\n`)
      }),
  }
}

const labelOf = (scenario: Scenario) =>
  `${scenarioLabels[scenario.id]}${scenario.baseline ? ' (baseline)' : ''}`

/** Each scenario's slices, in the order of the rounds. */
async function measureInRounds(list: Scenario[]): Promise<Map<Scenario, Slice[]>> {
  const slices = new Map<Scenario, Slice[]>(list.map((scenario) => [scenario, []]))
  for (const scenario of list) {
    log(`  warm-up: ${labelOf(scenario)}`)
    await scenario.run(settings.warmUpSeconds)
  }
  const sliceSeconds = settings.seconds / settings.rounds
  for (let round = 1; round <= settings.rounds; round++) {
    log(`  round ${round} of ${settings.rounds}`)
    // Every other round in reverse, so that no scenario always follows the same neighbour.
    for (const scenario of round % 2 === 1 ? list : [...list].reverse()) {
      const before = cpuMicroseconds(scenario.process.pid)
      const result = await scenario.run(sliceSeconds)
      const cpu = cpuMicroseconds(scenario.process.pid) - before
      slices.get(scenario)?.push({ ...result, cpuMicroseconds: cpu })
    }
  }
  return slices
}

function resultOf(scenario: Scenario, parts: readonly Slice[]): ScenarioResult {
  const requests = parts.reduce((sum, part) => sum + part.requests, 0)
  const seconds = parts.reduce((sum, part) => sum + part.seconds, 0)
  const cpu = parts.reduce((sum, part) => sum + part.cpuMicroseconds, 0)
  const latencies = parts.flatMap((part) => part.latenciesMs).sort((a, b) => a - b)
  const result: ScenarioResult = {
    id: scenario.id,
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    // Whole milliseconds, as autocannon reports them.
    latencyMs: {
      p50: Math.round(percentile(latencies, 50)),
      p99: Math.round(percentile(latencies, 99)),
    },
    peakRssBytes: peakRssBytes(scenario.process.pid),
    cpuMicrosecondsPerRequest: cpu / requests,
  }
  log(
    `  ${labelOf(scenario)}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, peak RSS ${(result.peakRssBytes / 1e6).toFixed(1)} MB, ${Math.round(result.cpuMicrosecondsPerRequest)} µs CPU per request`,
  )
  return result
}

/**
 * This build against the baseline, scenario by scenario: CPU per request over all slices, and
 * the median of the rounds' own ratios (each compares two slices measured one after the other).
 */
function baselineComparison(slices: Map<Scenario, Slice[]>): string {
  const perRequest = (slice: Slice) => slice.cpuMicroseconds / slice.requests
  const total = (parts: readonly Slice[]) =>
    parts.reduce((sum, part) => sum + part.cpuMicroseconds, 0) /
    parts.reduce((sum, part) => sum + part.requests, 0)
  const change = (ratio: number) =>
    `${ratio >= 1 ? '+' : '−'}${Math.abs(ratio * 100 - 100).toFixed(1)} %`
  const rows = [...slices].flatMap(([scenario, parts]) => {
    if (scenario.baseline) return []
    const baseline = [...slices].find(([other]) => other.baseline && other.id === scenario.id)?.[1]
    if (!baseline) return []
    const ratios = parts
      .map((part, round) => perRequest(part) / perRequest(baseline[round] as Slice))
      .sort((a, b) => a - b)
    return [
      `| ${scenarioLabels[scenario.id]} | ${Math.round(total(baseline))} µs | ${Math.round(total(parts))} µs | ${change(total(parts) / total(baseline))} | ${change(percentile(ratios, 50))} | ${change(ratios[0] as number)} … ${change(ratios.at(-1) as number)} |`,
    ]
  })
  return [
    `CPU per request against the baseline (${baselineScript}), ${settings.rounds} rounds:`,
    '',
    '| scenario | baseline | this build | change | median of the rounds | rounds |',
    '|---|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n')
}

/** The service's callback, after a check that it redirects with one of `delivered`. */
async function callbackScenario(
  id: ScenarioId,
  service: BenchProcess,
  port: number,
  logins: readonly PendingLogin[],
  delivered: readonly string[],
): Promise<Scenario> {
  await checkCallback(base(port), logins[0] as PendingLogin, (response) => {
    // In the query for a loopback target, in the fragment for a web one.
    const location = new URL(response.headers.get('location') ?? 'x:')
    const parameters = [location.searchParams, new URLSearchParams(location.hash.slice(1))]
    return (
      response.status === 302 &&
      delivered.some((name) => parameters.some((found) => found.has(name)))
    )
  })
  return httpScenario(id, service, {
    url: base(port),
    setupRequest: callbackRequests(logins),
    expectedStatus: 302,
  })
}

/** 100 ID tokens from the stub, as a CI job would bring them, for both exchange scenarios. */
let exchangeBodies: Promise<string[]> | undefined
const fetchExchangeBodies = () =>
  Promise.all(
    Array.from({ length: 100 }, async () => {
      const response = await fetch(`${issuer}/bench/id-token?aud=${serviceClient.id}`)
      return JSON.stringify({ oidc_token: await response.text() })
    }),
  )

async function exchangeScenario(id: ScenarioId, server: BenchProcess, port: number) {
  exchangeBodies ??= fetchExchangeBodies()
  const bodies = await exchangeBodies
  return httpScenario(id, server, {
    url: `${base(port)}/v0/auth/oidc`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bodies[0] as string,
    setupRequest: cycling(bodies, (request, body) => {
      request.body = body
    }),
    expectedStatus: 200,
  })
}

/** One ceiling process serves both ceiling scenarios. */
const ceilingPort = await ports()
let ceilingProcess: Promise<BenchProcess> | undefined
function ceiling(): Promise<BenchProcess> {
  ceilingProcess ??= (async () => {
    const child = start(
      'ceiling',
      'ceiling.js',
      [String(ceilingPort), issuer, serviceClient.id, base(ceilingPort)],
      { readyLine: 'ready' },
    )
    await child.ready
    return child
  })()
  return ceilingProcess
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryBytes: totalmem(),
  kernel: release(),
  node: process.version,
  loadAverageAtStart: loadavg(),
  loadAverageAtEnd: [] as number[],
}
let scenarios: ScenarioResult[] = []
/** The table against BENCH_BASELINE, when one is given. */
let comparison: string | undefined
let memory: BenchResults['memory']

try {
  log('starting the processes')
  const list: Scenario[] = []
  if (wanted('bare')) {
    const port = await ports()
    const bare = start('bare fastify', 'bare-fastify.js', [String(port)], { readyLine: 'ready' })
    await bare.ready
    list.push(httpScenario('bare', bare, { url: `${base(port)}/`, expectedStatus: 200 }))
  }
  if (wanted('ceiling-start')) {
    list.push(
      httpScenario('ceiling-start', await ceiling(), {
        url: base(ceilingPort) + startPath,
        expectedStatus: 302,
      }),
    )
  }
  if (wanted('start')) {
    list.push(
      ...(await forEachBuild(async ({ script, ports }) =>
        httpScenario('start', await startService(ports.start, undefined, script), {
          url: base(ports.start) + startPath,
          expectedStatus: 302,
        }),
      )),
    )
  }
  if (wanted('peer-start')) {
    const peer = await startPeer(peerPorts.start)
    list.push(
      httpScenario('peer-start', peer, {
        url: `${base(peerPorts.start)}/login`,
        expectedStatus: 302,
      }),
    )
  }
  if (wanted('callback')) {
    list.push(
      ...(await forEachBuild(async ({ script, ports }) => {
        const port = ports.callback
        const service = await startService(port, undefined, script)
        const logins = await preIssueLogins(
          (index) =>
            `${base(port)}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(loopbackTarget)}&state=cli-${index}&${cliChallenge}`,
        )
        // A one-time code; a build from before loopback codes (a baseline) sends the token.
        return callbackScenario('callback', service, port, logins, ['code', 'registry_token'])
      })),
    )
  }
  if (wanted('callback-web')) {
    list.push(
      ...(await forEachBuild(async ({ script, ports }) => {
        const port = ports.callbackWeb
        const service = await startService(port, undefined, script)
        const logins = await preIssueLogins(
          (index) =>
            `${base(port)}/v0/auth/oidc/start?redirect_uri=${encodeURIComponent(webTarget)}&state=web-${index}`,
        )
        return callbackScenario('callback-web', service, port, logins, ['registry_token'])
      })),
    )
  }
  if (wanted('peer-callback')) {
    const url = base(peerPorts.callback)
    const peer = await startPeer(peerPorts.callback)
    const logins = await preIssueLogins(() => `${url}/login`)
    await checkCallback(
      url,
      logins[0] as PendingLogin,
      (response) =>
        response.status === 302 &&
        response.headers.getSetCookie().some((cookie) => cookie.startsWith('appSession=')),
    )
    list.push(
      httpScenario('peer-callback', peer, {
        url,
        setupRequest: callbackRequests(logins),
        expectedStatus: 302,
      }),
    )
  }
  if (wanted('floor')) {
    const floor = start('crypto floor', 'crypto-floor.js', [String(settings.connections)], {
      readyLine: 'ready',
      stdin: 'pipe',
    })
    await floor.ready
    list.push(floorScenario(floor))
  }
  if (wanted('ceiling-exchange')) {
    list.push(await exchangeScenario('ceiling-exchange', await ceiling(), ceilingPort))
  }
  if (wanted('exchange')) {
    list.push(
      ...(await forEachBuild(async ({ script, ports }) =>
        exchangeScenario(
          'exchange',
          await startService(ports.exchange, undefined, script),
          ports.exchange,
        ),
      )),
    )
  }
  if (list.length > 0) {
    log(`measuring ${list.length} scenarios in ${settings.rounds} rounds`)
    const slices = await measureInRounds(list)
    scenarios = list
      .filter((scenario) => !scenario.baseline)
      .map((scenario) => resultOf(scenario, slices.get(scenario) ?? []))
    for (const scenario of list.filter((each) => each.baseline)) {
      resultOf(scenario, slices.get(scenario) ?? [])
    }
    if (baselineScript) comparison = baselineComparison(slices)
  }
  await Promise.all(list.map((scenario) => stop(scenario.process)))

  if (wanted('memory')) {
    log(`memory: ${settings.memoryRequests} starts`)
    const service = await startService(servicePorts.start)
    const url = base(servicePorts.start) + startPath
    const options = { url, connections: settings.connections, expectedStatus: 302 }
    await load({ ...options, amount: settings.memoryWarmUpRequests })
    // RSS follows the garbage collector's sawtooth, so one reading can be off by the size of the
    // young generation either way: the run is read after each twentieth, and the first three
    // readings are compared with the last three.
    const chunk = Math.ceil(settings.memoryRequests / memorySamples)
    const samples: number[] = []
    for (let sent = 0; sent < settings.memoryRequests; sent += chunk) {
      await load({ ...options, amount: chunk })
      samples.push(rssBytes(service.pid))
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
      peakRssBytes: peakRssBytes(service.pid),
      samplesRssBytes: samples,
    }
    log(
      `  RSS ${samples.map((sample) => (sample / 1e6).toFixed(0)).join(' ')} MB (after each ${chunk} starts)`,
    )
    await stop(service)
  }

  if (wanted('startup')) {
    log('start-up')
    // One start first that is not counted: after a build it writes Node's compile cache, and it
    // brings the files into the page cache, which every later start finds there.
    await stop(await startService(servicePorts.start))
    for (let sample = 0; sample < settings.startupSamples; sample++) {
      await stop(await startService(servicePorts.start, (ms) => startupSamplesMs.push(ms)))
    }
  }
} finally {
  await Promise.all([...processes].map((child) => stop(child)))
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
results.ceilings = evaluateCeilings(results)

const report = markdownReport(results)
process.stdout.write(`${report}\n`)
if (comparison) process.stdout.write(`\n${comparison}\n`)
if (!only || process.env.BENCH_WRITE === '1') {
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(resultsDir, 'results.md'), `${report}\n`)
  writeFileSync(join(resultsDir, 'requests-per-second.svg'), svgChart(results))
  log(`written to ${resultsDir}`)
}
