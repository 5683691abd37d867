import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { describeStartupError } from './config.js'

async function main(): Promise<void> {
  let app: FastifyInstance
  try {
    app = await buildApp(process.env)
  } catch (error) {
    process.stderr.write(`${describeStartupError(error)}\n`)
    process.exit(1)
  }
  const { port, host } = app.config
  const shutdown = async (signal: NodeJS.Signals) => {
    app.log.info({ signal }, 'shutting down')
    await app.close()
    process.exit(0)
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
  try {
    await app.listen({ port, host })
  } catch (error) {
    process.stderr.write(`${describeStartupError(error)}\n`)
    process.exit(1)
  }
}

await main()
