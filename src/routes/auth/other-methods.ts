import type { FastifyPluginAsync, HTTPMethods } from 'fastify'
import { AuthError } from '../../errors.js'

const methods: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

/** Each login route and the methods it answers (GET routes answer HEAD as well). */
const routes: ReadonlyArray<[url: string, allowed: ReadonlyArray<'GET' | 'POST'>]> = [
  ['/auth/oidc/start', ['GET']],
  ['/auth/oidc/callback', ['GET']],
  ['/auth/oidc', ['POST']],
  ['/auth/oidc/token', ['POST']],
  ['/auth/oidc/device', ['GET', 'POST']],
  ['/auth/oidc/device/confirm', ['GET', 'POST']],
  ['/auth/oidc/device/cancel', ['POST']],
  ['/auth/oidc/device/token', ['POST']],
]

/** A wrong method on a login route is a 405 naming the right one, not a 404 that hides the route. */
const otherMethods: FastifyPluginAsync = async (app) => {
  for (const [url, allowed] of routes) {
    const served: string[] = allowed.flatMap((method) =>
      method === 'GET' ? ['GET', 'HEAD'] : [method],
    )
    const named = allowed.join(' and ')
    app.route({
      method: methods.filter((method) => !served.includes(method)),
      url,
      handler: async (request, reply) => {
        reply.header('allow', served.join(', '))
        throw new AuthError(
          'method_not_allowed',
          `This address only answers ${named} requests.`,
          `${request.method} instead of ${named}`,
        )
      },
    })
  }
}

export default otherMethods
