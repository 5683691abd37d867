import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/**
 * One warning per instance when X-Forwarded-For arrives from a peer that is
 * not a trusted proxy: behind an unlisted proxy every client has the proxy's
 * address, so all of them share one rate-limit budget and one client can lock
 * out the rest. Once is enough to find the setting; per request would flood.
 */
async function forwardedForWarning(app: FastifyInstance) {
  let warned = false
  app.addHook('onRequest', async (request) => {
    if (!warned && request.headers['x-forwarded-for'] !== undefined) {
      const peer = request.socket.remoteAddress
      if (peer !== undefined && !app.isTrustedProxy(peer)) {
        warned = true
        request.log.warn(
          { peer },
          'X-Forwarded-For came from a peer that is not in MCP_REGISTRY_OIDC_TRUST_PROXY, so it is ignored and every client behind that proxy shares one rate-limit budget: list the proxy there (warned once)',
        )
      }
    }
  })
}

export default fp(forwardedForWarning, {
  name: 'forwarded-for-warning',
  decorators: { fastify: ['isTrustedProxy'] },
})
