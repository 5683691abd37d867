// A development OpenID provider (oidc-provider) with a real login form: any user name signs in,
// and the person picks the claims that policies look at. It backs `npm run demo`, the compose
// stack and the browser tests. Development only: it checks no password, keeps everything in
// memory, and is never part of dist/ or the production image.

import { createServer, type IncomingMessage } from 'node:http'
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import { type LoginValues, loginFromForm, valuesFromForm } from './login-form.js'
import {
  type CheckContext,
  EMAIL_CLAIMS,
  forgetSession,
  grantConsent,
  type KoaContext,
  loadOidcProvider,
  PROFILE_CLAIMS,
  sharedConfiguration,
} from './oidc-provider.js'
import { pageHeaders, renderLoginPage, renderProviderErrorPage } from './pages.js'

export interface DevClient {
  readonly clientId: string
  readonly clientSecret: string
  readonly redirectUris: readonly string[]
}

export interface DevProviderOptions {
  /** Interface to listen on; 127.0.0.1 unless it runs in a container. */
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** The URL browsers and clients reach it at; default `http://<host>:<port>`. */
  readonly issuer?: string
  readonly clients: readonly DevClient[]
  /** What the login form shows first. */
  readonly values: LoginValues
  /** Claims besides the standard ones, hd and groups, that the form may add (a policy's keys). */
  readonly extraClaimNames?: readonly string[]
  /** The service's policy as text (its MCP_REGISTRY_OIDC_EXTRA_CLAIMS, or its rules), shown on the form. */
  readonly policy?: string
  /** Where that policy comes from; default MCP_REGISTRY_OIDC_EXTRA_CLAIMS. */
  readonly policySource?: string
  /** Further origins a sign-in may end at (the service's redirect allow-list). */
  readonly formTargets?: readonly string[]
}

export interface DevProvider {
  readonly issuer: string
  close(): Promise<void>
}

/** Accounts live as long as the process; this many are plenty for anyone trying things out. */
const MAX_ACCOUNTS = 1000
const MAX_FORM_BYTES = 16 * 1024
const INTERACTION_PATH = /^\/interaction\/[\w-]+$/

/** Loopback origins on any port, where CLI logins (RFC 8252) end. `[::1]` has no CSP spelling. */
const LOOPBACK_TARGETS = ['http://127.0.0.1:*', 'http://localhost:*']

class FormError extends Error {}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') throw new FormError('expected a form')
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_FORM_BYTES) throw new FormError('the form is too large')
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

async function signingKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = await exportJWK(privateKey)
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' }
}

export async function startDevProvider(options: DevProviderOptions): Promise<DevProvider> {
  const { Provider, interactionPolicy } = await loadOidcProvider()
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, resolve)
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  const issuer = (options.issuer ?? `http://${options.host}:${address.port}`).replace(/\/+$/, '')

  const extraClaimNames = options.extraClaimNames ?? []
  const accounts = new Map<string, Record<string, unknown>>()
  const clientNames = new Map(
    options.clients.map((client) => {
      const origins = [...new Set(client.redirectUris.map((uri) => new URL(uri).origin))]
      return [client.clientId, `${client.clientId} at ${origins.join(', ')}`]
    }),
  )
  const formTargets = [
    ...new Set([
      ...options.clients.flatMap((client) => client.redirectUris.map((uri) => new URL(uri).origin)),
      ...(options.formTargets ?? []),
      ...LOOPBACK_TARGETS,
    ]),
  ]
  const headers = pageHeaders(formTargets)
  const send = (ctx: KoaContext, html: string) => {
    for (const [name, value] of Object.entries(headers)) ctx.set(name, value)
    ctx.body = html
  }

  // Every authorization request shows the form, even with a provider session: trying another
  // user or other claims must not need a fresh browser.
  const policy = interactionPolicy.base()
  policy
    .get('login')
    ?.checks.add(
      new interactionPolicy.Check(
        'login_form',
        'the development provider asks at every sign-in',
        (ctx: CheckContext) => ctx.oidc.result?.login === undefined,
      ),
    )

  const provider = new Provider(issuer, {
    ...sharedConfiguration(policy),
    jwks: { keys: [await signingKey()] },
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    claims: {
      openid: ['sub', 'hd', 'groups', ...extraClaimNames],
      email: EMAIL_CLAIMS,
      profile: PROFILE_CLAIMS,
    },
    scopes: ['openid', 'email', 'profile'],
    findAccount: async (_ctx: unknown, id: string) => {
      const claims = accounts.get(id)
      if (claims === undefined) return undefined
      return { accountId: id, claims: async () => structuredClone(claims) }
    },
    renderError: async (ctx: KoaContext, out: { error?: string; error_description?: string }) => {
      send(
        ctx,
        renderProviderErrorPage(
          out.error ?? 'server_error',
          out.error_description ?? 'The request could not be handled.',
        ),
      )
    },
  })

  const page = (ctx: KoaContext, status: number, html: string) => {
    ctx.status = status
    send(ctx, html)
  }

  provider.use(async (ctx, next) => {
    if (!INTERACTION_PATH.test(ctx.path)) return next()
    try {
      const interaction = await provider.interactionDetails(ctx.req, ctx.res)
      const loginPage = (values: LoginValues, problem?: string) =>
        renderLoginPage({
          action: ctx.path,
          client: clientNames.get(String(interaction.params.client_id)) ?? 'the application',
          values,
          extraClaimNames,
          ...(options.policy === undefined ? {} : { policy: options.policy }),
          ...(options.policySource === undefined ? {} : { policySource: options.policySource }),
          ...(problem === undefined ? {} : { problem }),
        })
      if (interaction.prompt.name === 'consent' && ctx.method === 'GET') {
        ctx.redirect(await grantConsent(provider, ctx, interaction))
        ctx.status = 303
        return
      }
      if (interaction.prompt.name !== 'login') throw new FormError('nothing to sign in to')
      if (ctx.method === 'GET') return page(ctx, 200, loginPage(options.values))
      if (ctx.method !== 'POST') throw new FormError('unexpected method')

      const outcome = loginFromForm(valuesFromForm(await readForm(ctx.req)), extraClaimNames)
      if (!outcome.ok) return page(ctx, 400, loginPage(outcome.values, outcome.problem))
      accounts.delete(outcome.accountId)
      accounts.set(outcome.accountId, outcome.claims)
      if (accounts.size > MAX_ACCOUNTS) accounts.delete(accounts.keys().next().value as string)
      await forgetSession(provider, ctx, interaction)
      const returnTo = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { login: { accountId: outcome.accountId } },
        { mergeWithLastSubmission: false },
      )
      ctx.redirect(returnTo)
      ctx.status = 303
    } catch (error) {
      // An unknown or expired interaction (its cookie is gone), or a malformed request.
      const description =
        error instanceof FormError
          ? `This request is not a sign-in form: ${error.message}.`
          : `This sign-in has expired or was already used (${error instanceof Error ? error.message : String(error)}).`
      page(ctx, 400, renderProviderErrorPage('invalid_request', description))
    }
  })

  server.on('request', provider.callback())

  return {
    issuer,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
