import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/config.js'
import { createMemoryDeviceStore } from './memory-store.js'
import type { DeviceStore } from './store.js'

/**
 * The device store this configuration asks for: the one place that chooses. For now always
 * the memory store of this one instance.
 */
export function createDeviceStore(_config: Config, log: FastifyBaseLogger): DeviceStore {
  log.debug('device logins are kept in memory: one instance only')
  return createMemoryDeviceStore()
}
