import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { ProviderObserver } from '../provider/provider.js'

/** The steps of a login or an exchange that each end in exactly one outcome. */
export type AuthStep =
  | 'start'
  | 'callback'
  | 'exchange'
  | 'redeem'
  | 'device_request'
  | 'device_verify'
  | 'device_cancel'
  | 'device_poll'

/** The device login's own steps; a confirmed device login goes through `start` and `callback`. */
const deviceSteps = {
  device_request: 'request',
  device_verify: 'verify',
  device_cancel: 'cancel',
  device_poll: 'poll',
} as const satisfies Partial<Record<AuthStep, string>>

const prefix = 'mcp_registry_oidc_'

/**
 * The service's Prometheus metrics, in a registry of its own (never the
 * global default one: a process may run several instances, as the tests do).
 */
export interface Metrics {
  readonly registry: Registry
  /** One finished auth step; `error` is the error code (docs/http-api.md), absent on success. */
  authOutcome(step: AuthStep, error: string | undefined): void
  /** One finished HTTP request, labelled by route pattern (never the raw URL). */
  httpRequest(method: string, route: string, statusCode: number, seconds: number): void
  /** One minted token, counted once for each policy rule that granted it. */
  ruleGrants(rules: readonly string[]): void
  readonly provider: ProviderObserver
}

export interface MetricsOptions {
  /** Read at every scrape. */
  isReady(): boolean
  /** Process metrics (CPU, memory, event loop, GC). They install process-wide observers, so only a served registry wants them. */
  processMetrics: boolean
  /** The policy's rule names: the only values of the `rule` label, each exported from the start. */
  ruleNames: readonly string[]
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry()
  const registers = [registry]
  if (options.processMetrics) collectDefaultMetrics({ register: registry })

  const loginsStarted = new Counter({
    name: `${prefix}logins_started_total`,
    help: 'Logins sent to the provider (GET /auth/oidc/start answered 302).',
    registers,
  })
  const loginsCompleted = new Counter({
    name: `${prefix}logins_completed_total`,
    help: 'Logins that ended with a registry token (GET /auth/oidc/callback).',
    registers,
  })
  const loginsFailed = new Counter({
    name: `${prefix}logins_failed_total`,
    help: 'Logins refused, by step (start or callback) and SPEC error code.',
    labelNames: ['step', 'error'] as const,
    registers,
  })
  const exchanges = new Counter({
    name: `${prefix}exchanges_total`,
    help: 'ID-token exchanges (POST /auth/oidc) by outcome: ok or the SPEC error code.',
    labelNames: ['outcome'] as const,
    registers,
  })
  const redemptions = new Counter({
    name: `${prefix}code_redemptions_total`,
    help: 'Loopback codes redeemed (POST /auth/oidc/token) by outcome: ok or the SPEC error code.',
    labelNames: ['outcome'] as const,
    registers,
  })
  const deviceOutcomes = new Counter({
    name: `${prefix}device_steps_total`,
    help: 'Device login steps by step (request: POST /auth/oidc/device; verify: the code looked up for the confirmation page; cancel; poll: POST /auth/oidc/device/token) and outcome: ok or the SPEC error code (a poll answered authorization_pending or slow_down too).',
    labelNames: ['step', 'outcome'] as const,
    registers,
  })
  const providerRequests = new Histogram({
    name: `${prefix}provider_request_duration_seconds`,
    help: 'Requests to the OpenID provider by endpoint (discovery, jwks, token) and outcome (ok, http_error, failed).',
    labelNames: ['endpoint', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  })
  const providerRefreshes = new Counter({
    name: `${prefix}provider_refreshes_total`,
    help: 'Loads of the provider metadata (discovery) or keys (jwks) by outcome, whatever triggered them.',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  })
  new Gauge({
    name: `${prefix}ready`,
    help: '1 while provider metadata and keys are loaded (GET /readyz answers 200), else 0.',
    registers,
    collect() {
      this.set(options.isReady() ? 1 : 0)
    },
  })
  const ruleGrants = new Counter({
    name: `${prefix}rule_grants_total`,
    help: 'Registry tokens minted, counted once for each policy rule that granted permissions to it.',
    labelNames: ['rule'] as const,
    registers,
  })
  const ruleNames = new Set(options.ruleNames)
  for (const rule of ruleNames) ruleGrants.inc({ rule }, 0)
  const httpRequests = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'HTTP requests served, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  })

  return {
    registry,
    authOutcome(step, error) {
      if (Object.hasOwn(deviceSteps, step)) {
        deviceOutcomes.inc({
          step: deviceSteps[step as keyof typeof deviceSteps],
          outcome: error ?? 'ok',
        })
      } else if (step === 'exchange') {
        exchanges.inc({ outcome: error ?? 'ok' })
      } else if (step === 'redeem') {
        redemptions.inc({ outcome: error ?? 'ok' })
      } else if (error !== undefined) {
        loginsFailed.inc({ step, error })
      } else if (step === 'start') {
        loginsStarted.inc()
      } else {
        loginsCompleted.inc()
      }
    },
    httpRequest(method, route, statusCode, seconds) {
      httpRequests.observe({ method, route, status_code: String(statusCode) }, seconds)
    },
    ruleGrants(rules) {
      // Rule names come from the configuration; anything else would be an unbounded label.
      for (const rule of rules) if (ruleNames.has(rule)) ruleGrants.inc({ rule })
    },
    provider: {
      request(endpoint, outcome, seconds) {
        providerRequests.observe({ endpoint, outcome }, seconds)
      },
      refresh(kind, outcome) {
        providerRefreshes.inc({ kind, outcome })
      },
    },
  }
}
