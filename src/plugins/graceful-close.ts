import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** True from the moment `close()` starts: the instance is draining. */
    readonly closing: boolean
  }
}

/**
 * Draining without errors: once `close()` starts (SIGTERM), the listener
 * stops accepting and idle connections are closed; every answer sent from
 * then on, to a request in flight or to one that arrived on a kept-alive
 * connection, closes its connection, so the drain ends as soon as the last
 * request is answered. `/readyz` turns 503 so load balancers move on.
 */
async function gracefulClose(app: FastifyInstance) {
  let closing = false
  app.decorate('closing', {
    getter: () => closing,
  })
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
}

export default fp(gracefulClose, { name: 'graceful-close' })
