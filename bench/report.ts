export type ScenarioId =
  | 'bare'
  | 'floor'
  | 'start'
  | 'callback'
  | 'callback-web'
  | 'exchange'
  | 'peer-start'
  | 'peer-callback'
  | 'ceiling-start'
  | 'ceiling-exchange'

export const scenarioLabels: Record<ScenarioId, string> = {
  bare: 'reference: bare Fastify route',
  floor: 'reference: crypto floor (RS256 verify + EdDSA sign)',
  start: 'GET /v0/auth/oidc/start',
  callback: 'GET /v0/auth/oidc/callback',
  'callback-web': 'GET /v0/auth/oidc/callback, allow-listed web target',
  exchange: 'POST /v0/auth/oidc',
  'peer-start': 'peer: express-openid-connect GET /login',
  'peer-callback': 'peer: express-openid-connect GET /callback',
  'ceiling-start': "ceiling: Fastify doing only /start's work",
  'ceiling-exchange': "ceiling: Fastify doing only the exchange's work",
}

const order: ScenarioId[] = [
  'bare',
  'ceiling-start',
  'start',
  'peer-start',
  'callback',
  'callback-web',
  'peer-callback',
  'floor',
  'ceiling-exchange',
  'exchange',
]

export interface ScenarioResult {
  readonly id: ScenarioId
  readonly requests: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly latencyMs: { readonly p50: number; readonly p99: number }
  readonly peakRssBytes: number
  /** CPU time of the measured process (all threads) per answered request. */
  readonly cpuMicrosecondsPerRequest: number
}

export interface Target {
  readonly name: string
  readonly wanted: string
  readonly measured: string
  readonly met: boolean
}

export interface BenchResults {
  readonly date: string
  readonly machine: {
    readonly cpu: string
    readonly cores: number
    readonly memoryBytes: number
    readonly kernel: string
    readonly node: string
    readonly loadAverageAtStart: number[]
    loadAverageAtEnd: number[]
  }
  readonly settings: {
    readonly connections: number
    readonly seconds: number
    readonly rounds: number
    readonly warmUpSeconds: number
    readonly logins: number
    readonly memoryRequests: number
    readonly memoryWarmUpRequests: number
    readonly logLevel: string
  }
  readonly scenarios: readonly ScenarioResult[]
  readonly memory?: {
    readonly requests: number
    readonly warmRssBytes: number
    readonly afterRssBytes: number
    readonly peakRssBytes: number
    /** RSS after each twentieth of the run. */
    readonly samplesRssBytes: readonly number[]
  }
  readonly startup?: {
    readonly samplesMs: number[]
    readonly medianMs: number
    readonly maxMs: number
  }
  targets?: Target[]
  ceilings?: Ceiling[]
}

/** A ratio that is not a target but says where a target's gap comes from. */
export interface Ceiling {
  readonly name: string
  readonly measured: string
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1)
const percent = (ratio: number) => `${Math.round(ratio * 100)} %`
const round = (value: number) => Math.round(value).toLocaleString('en-US')

/** `a`'s requests per second over `b`'s, when this run measured both. */
function ratioOf(results: BenchResults, a: ScenarioId, b: ScenarioId) {
  const x = results.scenarios.find((scenario) => scenario.id === a)
  const y = results.scenarios.find((scenario) => scenario.id === b)
  if (!x || !y) return undefined
  const value = x.requestsPerSecond / y.requestsPerSecond
  return {
    value,
    measured: `${percent(value)} (${round(x.requestsPerSecond)} / ${round(y.requestsPerSecond)} req/s)`,
  }
}

/** The targets, for the scenarios this run measured. */
export function evaluateTargets(results: BenchResults): Target[] {
  const byId = new Map(results.scenarios.map((scenario) => [scenario.id, scenario]))
  const targets: Target[] = []
  const ratio = (name: string, a: ScenarioId, b: ScenarioId, minimum: number, wanted: string) => {
    const measured = ratioOf(results, a, b)
    if (!measured) return
    const met = minimum === 1 ? measured.value > 1 : measured.value >= minimum
    targets.push({ name, wanted, measured: measured.measured, met })
  }
  ratio('/start vs bare Fastify', 'start', 'bare', 0.6, '≥ 60 %')
  ratio('exchange vs crypto floor', 'exchange', 'floor', 0.7, '≥ 70 %')
  ratio('/start vs express-openid-connect', 'start', 'peer-start', 1, '> 100 %')
  ratio('callback vs express-openid-connect', 'callback', 'peer-callback', 1, '> 100 %')
  for (const id of ['start', 'callback', 'exchange'] as const) {
    const scenario = byId.get(id)
    if (!scenario) continue
    targets.push({
      name: `p99 of ${scenarioLabels[id]}`,
      wanted: '< 20 ms',
      measured: `${scenario.latencyMs.p99} ms`,
      met: scenario.latencyMs.p99 < 20,
    })
  }
  if (results.memory) {
    const growth = results.memory.afterRssBytes - results.memory.warmRssBytes
    targets.push({
      name: `RSS growth after ${round(results.memory.requests)} starts`,
      wanted: '< 10 MB',
      measured: `${mb(growth)} MB (median of the first three readings ${mb(results.memory.warmRssBytes)} MB, of the last three ${mb(results.memory.afterRssBytes)} MB)`,
      met: growth < 10e6,
    })
  }
  if (results.startup) {
    targets.push({
      name: 'process start to /healthz 200 (median)',
      wanted: '< 600 ms',
      measured: `${Math.round(results.startup.medianMs)} ms (max ${Math.round(results.startup.maxMs)} ms, ${results.startup.samplesMs.length} starts)`,
      met: results.startup.medianMs < 600,
    })
  }
  return targets
}

/** Where the ratio targets' gaps come from: the work itself, or what the service adds to it. */
export function evaluateCeilings(results: BenchResults): Ceiling[] {
  const pairs: Array<[string, ScenarioId, ScenarioId]> = [
    ["/start's ceiling vs bare Fastify", 'ceiling-start', 'bare'],
    ['/start vs its ceiling', 'start', 'ceiling-start'],
    ["exchange's ceiling vs crypto floor", 'ceiling-exchange', 'floor'],
    ['exchange vs its ceiling', 'exchange', 'ceiling-exchange'],
  ]
  return pairs.flatMap(([name, a, b]) => {
    const measured = ratioOf(results, a, b)
    return measured ? [{ name, measured: measured.measured }] : []
  })
}

function sorted(results: BenchResults): ScenarioResult[] {
  return [...results.scenarios].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id))
}

export function markdownReport(results: BenchResults): string {
  const { machine, settings } = results
  const lines = [
    `Measured ${results.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cores} × ${machine.cpu}, ${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB RAM, Linux ${machine.kernel}, Node ${machine.node}; load average ${machine.loadAverageAtStart.map((load) => load.toFixed(1)).join(' ')} at the start, ${machine.loadAverageAtEnd.map((load) => load.toFixed(1)).join(' ')} at the end. ${settings.connections} connections; ${settings.seconds} s per scenario after ${settings.warmUpSeconds} s of warm-up, measured in ${settings.rounds} rounds that give each scenario a slice in turn; service LOG_LEVEL=${settings.logLevel}.`,
    '',
    '| scenario | req/s | p50 | p99 | peak RSS | CPU per request |',
    '|---|---:|---:|---:|---:|---:|',
    ...sorted(results).map(
      (scenario) =>
        `| ${scenarioLabels[scenario.id]} | ${round(scenario.requestsPerSecond)} | ${scenario.latencyMs.p50} ms | ${scenario.latencyMs.p99} ms | ${mb(scenario.peakRssBytes)} MB | ${round(scenario.cpuMicrosecondsPerRequest)} µs |`,
    ),
  ]
  if (results.targets && results.targets.length > 0) {
    lines.push(
      '',
      '| target | wanted | measured | met |',
      '|---|---|---|---|',
      ...results.targets.map(
        (target) =>
          `| ${target.name} | ${target.wanted} | ${target.measured} | ${target.met ? 'yes' : '**no**'} |`,
      ),
    )
  }
  if (results.ceilings && results.ceilings.length > 0) {
    lines.push(
      '',
      '| where the gap comes from | measured |',
      '|---|---|',
      ...results.ceilings.map((ceiling) => `| ${ceiling.name} | ${ceiling.measured} |`),
    )
  }
  return lines.join('\n')
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

const colours: Record<'reference' | 'service' | 'peer', string> = {
  reference: '#9aa5b1',
  service: '#2f6fde',
  peer: '#e08a2c',
}

const kindOf = (id: ScenarioId) =>
  id === 'bare' || id === 'floor' || id.startsWith('ceiling-')
    ? 'reference'
    : id.startsWith('peer-')
      ? 'peer'
      : 'service'

/** A horizontal bar chart of requests per second, one bar per scenario. */
export function svgChart(results: BenchResults): string {
  const rows = sorted(results)
  const labelWidth = 360
  const barWidth = 380
  const rowHeight = 30
  const top = 40
  const width = labelWidth + barWidth + 90
  const height = top + rows.length * rowHeight + 30
  const max = Math.max(...rows.map((row) => row.requestsPerSecond), 1)
  const bars = rows.map((row, index) => {
    const y = top + index * rowHeight
    const length = Math.max(1, Math.round((row.requestsPerSecond / max) * barWidth))
    return [
      `<text x="${labelWidth - 10}" y="${y + 19}" text-anchor="end">${escapeXml(scenarioLabels[row.id])}</text>`,
      `<rect x="${labelWidth}" y="${y + 5}" width="${length}" height="${rowHeight - 10}" fill="${colours[kindOf(row.id)]}"/>`,
      `<text x="${labelWidth + length + 6}" y="${y + 19}">${round(row.requestsPerSecond)}</text>`,
    ].join('\n  ')
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="#ffffff"/>
  <text x="10" y="24" font-size="15" font-weight="bold">Requests per second (${results.settings.connections} connections, one run, ${escapeXml(results.date.slice(0, 10))})</text>
  ${bars.join('\n  ')}
  <text x="10" y="${height - 10}" fill="#555">grey: references · blue: this service · orange: express-openid-connect</text>
</svg>
`
}
