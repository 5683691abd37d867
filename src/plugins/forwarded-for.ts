import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AuthError } from '../errors.js'

/**
 * X-Forwarded-For, both ways it can go wrong.
 *
 * From a peer that is not a trusted proxy it is ignored, with one warning per instance: behind
 * an unlisted proxy every client has the proxy's address, so all of them share one rate-limit
 * budget and one client can lock out the rest. Once is enough to find the setting.
 *
 * From a trusted proxy, the address it names is the client's: the rate limits count it, the
 * device login shows and stores it. A proxy appends what it saw, so that entry is always an IP
 * address; anything else came from the client past a proxy that did not overwrite the header
 * (proxy-addr hands on whatever text the entry holds). Such a request is refused instead of
 * letting that text stand for an address.
 */
async function forwardedFor(app: FastifyInstance) {
  let warned = false
  app.addHook('onRequest', async (request) => {
    if (request.headers['x-forwarded-for'] === undefined) return
    const peer = request.socket.remoteAddress
    if (peer === undefined) return
    if (app.isTrustedProxy(peer)) {
      if (isIP(request.ip) === 0) {
        throw new AuthError(
          'invalid_request',
          'The X-Forwarded-For header does not name the client by its IP address.',
          'forwarded client address is not an IP address',
        )
      }
    } else if (!warned) {
      warned = true
      request.log.warn(
        { peer },
        'X-Forwarded-For came from a peer that is not in MCP_REGISTRY_OIDC_TRUST_PROXY, so it is ignored and every client behind that proxy shares one rate-limit budget: list the proxy there (warned once)',
      )
    }
  })
}

export default fp(forwardedFor, {
  name: 'forwarded-for',
  decorators: { fastify: ['isTrustedProxy'] },
})
