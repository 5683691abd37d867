// The store contract against the in-memory store (its own limits are in memory-store.test.ts).

import t from 'tap'
import { createMemoryDeviceStore } from '../../src/device/memory-store.js'
import { storeContract } from './store-contract.js'

storeContract(t, async (limits) => createMemoryDeviceStore({ sweepIntervalMs: 0, ...limits }))
