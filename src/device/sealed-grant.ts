// The policy's verdict on the person who confirmed a device login, as it waits in the store for
// the terminal's poll. It is sealed before it leaves the process (src/login/sealing.ts) and bound
// to the request's device key: whoever can write to the store (another application on a shared
// Redis, anyone on the path of a cleartext redis://) can neither forge a grant nor move one to a
// request of their own, because only a value sealed here, for this device code, opens at the poll.

import { createSealer } from '../login/sealing.js'
import type { Action, Permission } from '../registry/policy.js'
import { deviceLoginLifetimeSeconds } from './device-login.js'

/** The token is minted at poll time from this, so the store never holds a token. */
export interface DeviceGrant {
  readonly subject: string
  readonly permissions: readonly Permission[]
  /** Names of the rules that granted the permissions, for the log line of the poll. */
  readonly rules: readonly string[]
}

const keyInfo = 'mcp-registry-oidc device grant A256GCM v1'
const grantType = 'mcp-device-grant+jwt'

export interface DeviceGrants {
  /** The opaque string the store keeps for the request whose device key is `deviceKey`. */
  seal(grant: DeviceGrant, deviceKey: string, nowSeconds?: number): Promise<string>
  /** The grant, or undefined when it was not sealed here, for this device key, or expired. */
  open(sealed: string, deviceKey: string, nowSeconds?: number): Promise<DeviceGrant | undefined>
}

const knownActions: readonly Action[] = ['publish', 'edit']
const isString = (value: unknown): value is string => typeof value === 'string'

function isPermission(value: unknown): value is Permission {
  if (typeof value !== 'object' || value === null) return false
  const { action, resource } = value as Record<string, unknown>
  return knownActions.includes(action as Action) && isString(resource)
}

/** `cookieSecrets` rotate as for the flow cookie; `audience` is this deployment's URL. */
export function createDeviceGrants(
  cookieSecrets: readonly string[],
  audience: string,
): DeviceGrants {
  const sealer = createSealer(cookieSecrets, { keyInfo, type: grantType, audience })
  return {
    seal({ subject, permissions, rules }, deviceKey, nowSeconds) {
      // Good for a whole request's lifetime: the store's own expiry ends it sooner.
      const claims = {
        sub: subject,
        permissions: [...permissions],
        rules: [...rules],
        dk: deviceKey,
      }
      return sealer.seal(claims, deviceLoginLifetimeSeconds, nowSeconds)
    },

    async open(sealed, deviceKey, nowSeconds) {
      const opened = await sealer.open(sealed, nowSeconds)
      if (!opened.ok) return undefined
      const { sub, permissions, rules, dk } = opened.claims
      if (dk !== deviceKey || !isString(sub)) return undefined
      if (!Array.isArray(permissions) || !permissions.every(isPermission)) return undefined
      if (!Array.isArray(rules) || !rules.every(isString)) return undefined
      return { subject: sub, permissions, rules }
    },
  }
}
