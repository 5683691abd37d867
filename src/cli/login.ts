// `login`: a browser sign-in through the service that ends with the registry token where
// mcp-publisher reads it.

import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose'
import { s256 } from '../login/loopback-code.js'
import { formatRelative, formatUtc } from '../pages/token-page.js'
import { REGISTRY_ISSUER } from '../registry/token.js'
import { type CliIo, EXIT, UsageError } from './io.js'
import { LoginFailure, LoginTimeout, listenForCallback } from './loopback.js'
import { printable } from './terminal-text.js'
import { writePublisherLogin } from './token-file.js'

export const LOGIN_HELP = `Usage: mcp-registry-oidc login --url <service URL> [options]

Signs you in through an mcp-registry-oidc service in your browser and saves the registry token
where mcp-publisher reads it: ~/.mcp_publisher_token and ~/.config/mcp-publisher/token.json,
as {"token","method":"oidc","registry"}, readable only by you (mode 0600).

Options:
  --url <url>          the service's base URL, e.g. https://registry.example.com (required)
  --registry <url>     the registry the token is for, written into the token file
                       (default: the --url value, the usual setup behind one reverse proxy)
  --no-browser         do not start a browser; open the printed URL yourself
  --print              write the token to stdout instead of the token files
  --timeout <seconds>  how long to wait for the sign-in to come back (default 300)
  -h, --help           show this help

The browser returns to http://127.0.0.1:<random port>/callback with a one-time code, which
the command redeems with its PKCE verifier; the token it gets must verify against the service's
/.well-known/jwks.json before anything is written. URLs must use https, except on loopback
(127.0.0.1, localhost, [::1]).

Exit status: 0 signed in, 1 the sign-in failed or timed out, 2 wrong usage.
`

const DEFAULT_TIMEOUT_SECONDS = 300
/** Each request to the service (redeeming the code, fetching its keys). */
const REQUEST_TIMEOUT_MS = 30_000
/** The clock difference tolerated between this machine and the service when checking `exp`. */
const CLOCK_TOLERANCE_SECONDS = 30
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

interface LoginOptions {
  help: boolean
  url: string
  registry: string
  browser: boolean
  print: boolean
  timeoutSeconds: number
}

/** A base URL for tokens to travel to: https (or http on loopback), nothing after the path. */
function baseUrlOption(value: string, option: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`--${option} is not a URL: ${value}`)
  }
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
  if (url.protocol !== 'https:' && !loopbackHttp) {
    throw new UsageError(`--${option} must be an https URL (http only on 127.0.0.1 or localhost)`)
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new UsageError(`--${option} must be a plain base URL, without credentials, query or #`)
  }
  return url.href.replace(/\/+$/, '')
}

function parseLoginOptions(argv: string[]): LoginOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      registry: { type: 'string' },
      'no-browser': { type: 'boolean' },
      print: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  const help = values.help === true
  if (help) {
    return { help, url: '', registry: '', browser: false, print: false, timeoutSeconds: 0 }
  }
  if (values.url === undefined) throw new UsageError('--url is required')
  const url = baseUrlOption(values.url, 'url')
  const timeout = values.timeout ?? String(DEFAULT_TIMEOUT_SECONDS)
  const timeoutSeconds = Number(timeout)
  if (!/^\d+$/.test(timeout) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
    throw new UsageError('--timeout must be a number of seconds between 1 and 3600')
  }
  return {
    help,
    url,
    registry: values.registry === undefined ? url : baseUrlOption(values.registry, 'registry'),
    browser: values['no-browser'] !== true,
    print: values.print === true,
    timeoutSeconds,
  }
}

function duration(seconds: number): string {
  if (seconds % 60 !== 0) return seconds === 1 ? '1 second' : `${seconds} seconds`
  const minutes = seconds / 60
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}

/** Who the token is for and what it may do, for the summary; printable whatever the claims hold. */
function describeToken(claims: JWTPayload): { subject: string; permissions: string } {
  const list = Array.isArray(claims.permissions) ? claims.permissions : []
  const permissions = list
    .map((entry: { action?: unknown; resource?: unknown }) => `${entry.action} ${entry.resource}`)
    .join(', ')
  return {
    subject: printable(String(claims.auth_method_sub ?? 'unknown')),
    permissions: printable(permissions) || 'none',
  }
}

interface VerifiedLogin {
  readonly token: string
  readonly expiresAt: number
  readonly claims: JWTPayload
}

/** The service's JSON answer, or undefined when it is not JSON. */
async function jsonOf(response: Response): Promise<Record<string, unknown> | undefined> {
  try {
    const body: unknown = await response.json()
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/**
 * Redeems the loopback code with this login's verifier, then verifies the token against the
 * service's published key (signature, `iss`, `exp`): a forged callback, or anything but the
 * service's own token, ends the login here, before a file is written.
 */
async function redeem(baseUrl: string, code: string, codeVerifier: string): Promise<VerifiedLogin> {
  let response: Response
  try {
    response = await fetch(`${baseUrl}/v0/auth/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ code, code_verifier: codeVerifier }),
      redirect: 'error',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
  } catch {
    throw new LoginFailure('the service could not be reached to redeem the code')
  }
  const body = await jsonOf(response)
  if (response.status !== 200) {
    const error = typeof body?.error === 'string' ? `: ${body.error}` : ''
    throw new LoginFailure(`the service refused the code (${response.status}${printable(error)})`)
  }
  const token = body?.registry_token
  if (typeof token !== 'string') {
    throw new LoginFailure('the service answered the code without a registry token')
  }
  const keys = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`), {
    timeoutDuration: REQUEST_TIMEOUT_MS,
  })
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ['EdDSA'],
      issuer: REGISTRY_ISSUER,
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    })
    // The expiry shown is the verified one, not the answer's expires_at.
    return { token, expiresAt: payload.exp as number, claims: payload }
  } catch {
    throw new LoginFailure(
      `the token does not verify against ${baseUrl}/.well-known/jwks.json (signature, issuer or expiry)`,
    )
  }
}

export async function login(argv: string[], io: CliIo): Promise<number> {
  const options = parseLoginOptions(argv)
  if (options.help) {
    io.stdout.write(LOGIN_HELP)
    return EXIT.ok
  }

  const state = randomBytes(32).toString('base64url')
  const codeVerifier = randomBytes(32).toString('base64url')
  const listener = await listenForCallback(state, options.timeoutSeconds * 1000, (code) =>
    redeem(options.url, code, codeVerifier),
  )
  const start = new URL(`${options.url}/v0/auth/oidc/start`)
  start.searchParams.set('redirect_uri', listener.redirectUri)
  start.searchParams.set('state', state)
  start.searchParams.set('code_challenge', s256(codeVerifier))
  start.searchParams.set('code_challenge_method', 'S256')

  if (options.browser) {
    io.stderr.write(
      `Opening your browser to sign in. If it does not open, go to:\n\n  ${start}\n\n`,
    )
    await io.openBrowser(start.href).catch(() => {
      io.stderr.write('No browser could be started: open the URL above yourself.\n\n')
    })
  } else {
    io.stderr.write(`Open this URL in a browser to sign in:\n\n  ${start}\n\n`)
  }
  io.stderr.write(
    `Waiting for the sign-in to finish (up to ${duration(options.timeoutSeconds)}; Ctrl-C cancels)…\n`,
  )

  let result: VerifiedLogin
  try {
    result = await listener.result
  } catch (error) {
    listener.close()
    if (error instanceof LoginTimeout) {
      io.stderr.write(
        `No sign-in came back within ${duration(options.timeoutSeconds)}: the browser was closed or the sign-in was not finished. Run the command again.\n`,
      )
      return EXIT.failed
    }
    if (error instanceof LoginFailure) {
      io.stderr.write(`The sign-in failed: ${printable(error.message)}. Run the command again.\n`)
      return EXIT.failed
    }
    throw error
  }

  const { token, expiresAt } = result
  const summary = describeToken(result.claims)
  const expiry = `${formatUtc(expiresAt)} (${formatRelative(expiresAt, Math.floor(Date.now() / 1000))})`
  const signedIn = `Signed in as ${summary.subject}. Permissions: ${summary.permissions}.`
  if (options.print) {
    io.stdout.write(`${token}\n`)
    io.stderr.write(`${signedIn}\nThe token expires at ${expiry}.\n`)
    return EXIT.ok
  }
  try {
    const [legacy, config] = await writePublisherLogin(io.homeDir, {
      token,
      method: 'oidc',
      registry: options.registry,
    })
    io.stdout.write(
      `${signedIn}\nToken for ${options.registry} saved to ${legacy} (and ${config}); it expires at ${expiry}.\nNext: mcp-publisher publish\n`,
    )
    return EXIT.ok
  } catch (error) {
    io.stderr.write(
      `Signed in, but the token could not be saved: ${printable(error instanceof Error ? error.message : String(error))}. Use --print to get it on stdout.\n`,
    )
    return EXIT.failed
  }
}
