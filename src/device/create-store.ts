import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/config.js'
import type { SharedStoreConnection } from '../shared-store/connection.js'
import { createMemoryDeviceStore } from './memory-store.js'
import { createRedisDeviceStore } from './redis-store.js'
import type { DeviceStore } from './store.js'

/**
 * The device store this configuration asks for: the one place that chooses. With
 * MCP_REGISTRY_OIDC_REDIS_URL, the Redis or Valkey server every replica shares (on `sharedStore`,
 * the connection the app opened for it, which the store then owns); otherwise the memory of this
 * one instance.
 */
export function createDeviceStore(
  _config: Config,
  log: FastifyBaseLogger,
  sharedStore: SharedStoreConnection | undefined,
): DeviceStore {
  if (sharedStore !== undefined) {
    log.debug('device logins are kept in the shared store')
    return createRedisDeviceStore(sharedStore)
  }
  log.debug('device logins are kept in memory: one instance only')
  return createMemoryDeviceStore()
}
