import type { FastifyPluginAsync } from 'fastify'

/** Liveness, readiness and the public key of the registry token signer. */
const health: FastifyPluginAsync = async (app) => {
  const { provider, tokenIssuer } = app
  const jwks = { keys: [tokenIssuer.signer.publicJwk] }

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    if (app.closing) return reply.code(503).send({ status: 'shutting_down' })
    if (provider.ready) return { status: 'ready' }
    return reply.code(503).send({ status: 'provider_unavailable' })
  })

  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(jwks),
  )
}

export default health
