// The parts of oidc-provider (a devDependency) that the development provider and the test
// provider share: a quiet import, the slice of its API they use (it ships no type declarations),
// an in-memory adapter, token lifetimes, and automatic consent. Development and tests only: nothing
// under dev/ is compiled into dist/ or copied into the production image.

import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

// A variable, so TypeScript does not look for the (missing) declarations of the package.
const OIDC_PROVIDER: string = 'oidc-provider'

/** Standard claims of the `profile` scope (OpenID Connect Core 5.4). */
export const PROFILE_CLAIMS: readonly string[] = [
  'name',
  'family_name',
  'given_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'updated_at',
]
export const EMAIL_CLAIMS: readonly string[] = ['email', 'email_verified']

/** Lifetimes (seconds) of everything the provider stores; explicit, so it never warns about defaults. */
export const PROVIDER_TTL = {
  AccessToken: 600,
  AuthorizationCode: 60,
  ClientCredentials: 600,
  DeviceCode: 600,
  Grant: 3600,
  IdToken: 600,
  Interaction: 600,
  RefreshToken: 3600,
  Session: 3600,
  BackchannelAuthenticationRequest: 600,
  PreAuthorizedCode: 600,
} as const

export interface CheckContext {
  oidc: {
    session: { accountId?: string }
    params: Record<string, unknown>
    /** what the interaction that just finished decided, on the request it resumes */
    result?: { login?: unknown }
  }
}

export interface KoaContext {
  path: string
  method: string
  status: number
  type: string
  body: unknown
  req: IncomingMessage
  res: ServerResponse
  get(field: string): string
  set(field: string, value: string): void
  append(field: string, value: string): void
  redirect(url: string): void
}

export interface GrantInstance {
  addOIDCScope(scope: string): void
  addOIDCClaims(claims: string[]): void
  addResourceScope(indicator: string, scope: string): void
  save(): Promise<string>
}

export interface Interaction {
  uid: string
  exp: number
  grantId?: string
  params: Record<string, unknown>
  prompt: {
    name: string
    reasons: string[]
    details: {
      missingOIDCScope?: string[]
      missingOIDCClaims?: string[]
      missingResourceScopes?: Record<string, string[]>
    }
  }
  session?: { accountId?: string; uid?: string }
  save(ttl: number): Promise<unknown>
}

export interface ProviderInstance {
  urlFor(name: string): string
  cookieName(type: 'session' | 'interaction' | 'resume'): string
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): unknown
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>
  interactionResult(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<string>
  Grant: {
    new (properties: { accountId: string; clientId: string }): GrantInstance
    find(id: string): Promise<GrantInstance | undefined>
  }
}

export interface OidcProviderModule {
  Provider: new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance
  interactionPolicy: {
    base(): {
      get(name: string): { checks: { add(check: unknown): void } } | undefined
    }
    Check: new (
      reason: string,
      description: string,
      check: (ctx: CheckContext) => boolean | Promise<boolean>,
    ) => unknown
  }
}

let loading: Promise<OidcProviderModule> | undefined

/** Imports oidc-provider once, swallowing its import-time "Unsupported runtime" warning (Node 20). */
export function loadOidcProvider(): Promise<OidcProviderModule> {
  loading ??= (async () => {
    const warn = console.warn
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported')) {
        return
      }
      warn(...args)
    }
    try {
      return (await import(OIDC_PROVIDER)) as OidcProviderModule
    } finally {
      console.warn = warn
    }
  })()
  return loading
}

interface StoredPayload {
  [key: string]: unknown
  grantId?: string
  uid?: string
  userCode?: string
  consumed?: number
}

/** A per-provider in-memory adapter (our own, so oidc-provider does not warn about its dev one). */
export function memoryAdapterFactory(): (model: string) => unknown {
  const store = new Map<string, { payload: StoredPayload; expiresAt: number }>()
  const read = (key: string): StoredPayload | undefined => {
    const entry = store.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= Date.now()) {
      store.delete(key)
      return undefined
    }
    return entry.payload
  }
  return (model: string) => {
    const key = (id: string) => `${model}:${id}`
    return {
      async upsert(id: string, payload: StoredPayload, expiresIn?: number) {
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity
        store.set(key(id), { payload, expiresAt })
        if (model === 'Session' && typeof payload.uid === 'string') {
          store.set(`sessionUid:${payload.uid}`, { payload: { id }, expiresAt })
        }
        if (typeof payload.userCode === 'string') {
          store.set(`userCode:${payload.userCode}`, { payload: { id }, expiresAt })
        }
      },
      async find(id: string) {
        return read(key(id))
      },
      async findByUid(uid: string) {
        const id = read(`sessionUid:${uid}`)?.id
        return typeof id === 'string' ? read(key(id)) : undefined
      },
      async findByUserCode(userCode: string) {
        const id = read(`userCode:${userCode}`)?.id
        return typeof id === 'string' ? read(key(id)) : undefined
      },
      async consume(id: string) {
        const payload = read(key(id))
        if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000)
      },
      async destroy(id: string) {
        store.delete(key(id))
      },
      async revokeByGrantId(grantId: string) {
        for (const [k, entry] of store) {
          if (entry.payload.grantId === grantId) store.delete(k)
        }
      },
    }
  }
}

/**
 * Grants whatever the pending consent prompt asks for (scopes, claims, resource scopes) to the
 * signed-in account, and returns where the browser resumes the authorization request.
 */
export async function grantConsent(
  provider: ProviderInstance,
  ctx: KoaContext,
  interaction: Interaction,
): Promise<string> {
  const accountId = interaction.session?.accountId
  const clientId = interaction.params.client_id
  if (accountId === undefined || typeof clientId !== 'string') {
    throw new Error('consent without a signed-in account or client')
  }
  const grant =
    (interaction.grantId !== undefined
      ? await provider.Grant.find(interaction.grantId)
      : undefined) ?? new provider.Grant({ accountId, clientId })
  const { details } = interaction.prompt
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '))
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims)
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '))
  }
  return provider.interactionResult(
    ctx.req,
    ctx.res,
    { consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: true },
  )
}

/**
 * Forgets the provider session a login interaction found, so that the login about to be recorded
 * starts a fresh one: oidc-provider would otherwise end the old session through its logout
 * confirmation page when the account changes.
 */
export async function forgetSession(
  provider: ProviderInstance,
  ctx: KoaContext,
  interaction: Interaction,
): Promise<void> {
  if (interaction.session?.accountId === undefined) return
  interaction.session = undefined
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000))
  const name = provider.cookieName('session')
  for (const cookie of [name, `${name}.sig`]) {
    ctx.append('Set-Cookie', `${cookie}=; path=/; max-age=0; httponly; samesite=lax`)
  }
}

/**
 * The configuration both providers share: in-memory storage, explicit lifetimes, PKCE required,
 * claims in the ID token itself (as Google's and most enterprise providers' tokens carry them),
 * interactions at `/interaction/:uid` decided by `policy`, and none of oidc-provider's own pages.
 */
export function sharedConfiguration(policy: unknown): Record<string, unknown> {
  return {
    adapter: memoryAdapterFactory(),
    ttl: PROVIDER_TTL,
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
    },
    interactions: {
      policy,
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
  }
}
