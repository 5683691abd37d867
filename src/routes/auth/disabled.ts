import type { FastifyPluginAsync } from 'fastify'
import { AuthError } from '../../errors.js'

/** With MCP_REGISTRY_OIDC_ENABLED=false every login route says so, instead of a bare 404. */
const disabled: FastifyPluginAsync = async (app) => {
  const refuse = async () => {
    throw new AuthError('oidc_disabled', undefined, 'MCP_REGISTRY_OIDC_ENABLED is false')
  }
  app.all('/auth/oidc', refuse)
  app.all('/auth/oidc/*', refuse)
}

export default disabled
