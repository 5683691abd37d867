import { StoreFullError, StoreUnavailableError } from '../../../device/store.js'
import { AuthError } from '../../../errors.js'

/**
 * A device store call, its outage turned into 503 `store_unavailable`. Only device routes call
 * the store, so browser logins and the exchange never see this error.
 */
export async function fromStore<T>(call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (error) {
    if (error instanceof StoreUnavailableError || error instanceof StoreFullError) {
      throw new AuthError('store_unavailable', undefined, `device store: ${error.message}`)
    }
    throw error
  }
}
