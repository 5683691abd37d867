import type { FastifyPluginAsync, HTTPMethods } from 'fastify'
import { AuthError } from '../../errors.js'

const methods: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

/** Each login route and the one method it answers (GET routes answer HEAD as well). */
const routes: ReadonlyArray<[url: string, allowed: 'GET' | 'POST']> = [
  ['/auth/oidc/start', 'GET'],
  ['/auth/oidc/callback', 'GET'],
  ['/auth/oidc', 'POST'],
  ['/auth/oidc/token', 'POST'],
]

/** A wrong method on a login route is a 405 naming the right one, not a 404 that hides the route. */
const otherMethods: FastifyPluginAsync = async (app) => {
  for (const [url, allowed] of routes) {
    const served = allowed === 'GET' ? ['GET', 'HEAD'] : [allowed]
    app.route({
      method: methods.filter((method) => !served.includes(method)),
      url,
      handler: async (request, reply) => {
        reply.header('allow', served.join(', '))
        throw new AuthError(
          'method_not_allowed',
          `This address only answers ${allowed} requests.`,
          `${request.method} instead of ${allowed}`,
        )
      },
    })
  }
}

export default otherMethods
