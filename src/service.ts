// The service process: environment → buildApp → listen, and a graceful shutdown on SIGTERM or
// SIGINT. Started by main.ts.

import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { type Config, describeStartupError } from './config/config.js'

/**
 * How long a shutdown may take before the process gives up and exits 1. A
 * request in flight waits at most for the token endpoint and one JWKS
 * refetch, each bounded by the provider timeout; a second of slack on top.
 */
function shutdownGraceMs(config: Config): number {
  return 2 * config.providerTimeoutMs + 1000
}

async function main(): Promise<void> {
  let app: FastifyInstance
  try {
    app = await buildApp(process.env)
  } catch (error) {
    process.stderr.write(`${describeStartupError(error)}\n`)
    process.exit(1)
  }
  const { port, host } = app.config
  // SIGTERM/SIGINT: stop accepting, finish the requests in flight, exit 0; exit 1 if
  // that takes longer than the grace period, on a second signal, or after a crash.
  closeWithGrace(
    { delay: shutdownGraceMs(app.config), logger: app.log },
    async ({ signal, err }) => {
      const started = performance.now()
      if (err) app.log.error({ err }, 'unexpected error: shutting down')
      else app.log.info({ signal }, 'shutting down: finishing the requests in flight')
      await app.close()
      app.log.info({ durationMs: Math.round(performance.now() - started) }, 'shut down')
    },
  )
  try {
    await app.listen({ port, host })
  } catch (error) {
    process.stderr.write(`${describeStartupError(error)}\n`)
    process.exit(1)
  }
}

await main()
