import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/**
 * Serves `GET /metrics` on METRICS_PORT, a listener of its own: a reverse
 * proxy that routes `/v0/auth/oidc` to the service port can never expose it.
 * It opens when the service gets ready (a port already taken fails the
 * start-up) and closes with it.
 */
async function metricsServer(app: FastifyInstance) {
  const { metricsPort, host } = app.config
  if (metricsPort === undefined) return
  const { registry } = app.metrics

  const server = Fastify({ logger: false })
  server.get('/metrics', async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  )

  app.addHook('onReady', async () => {
    await server.listen({ port: metricsPort, host })
    app.log.info({ port: metricsPort }, 'metrics served at /metrics')
  })
  app.addHook('onClose', async () => server.close())
}

export default fp(metricsServer, { name: 'metrics-server', decorators: { fastify: ['metrics'] } })
