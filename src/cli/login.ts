// `login`: a browser sign-in through the service that ends with the registry token where
// mcp-publisher reads it. The loopback flow lives here; the device flow in device-login.ts.

import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { clientNameProblem } from '../device/client-name.js'
import { s256 } from '../login/loopback-code.js'
import { deviceLogin } from './device-login.js'
import { chooseLoginFlow } from './flow-choice.js'
import { type CliIo, EXIT, UsageError } from './io.js'
import { duration, saveLogin } from './login-result.js'
import { LoginFailure, LoginTimeout, listenForCallback } from './loopback.js'
import { jsonOf, postJson, type VerifiedLogin, verifyServiceToken } from './service-client.js'
import { printable } from './terminal-text.js'

export const LOGIN_HELP = `Usage: mcp-registry-oidc login --url <service URL> [options]

Signs you in through an mcp-registry-oidc service, in a browser on this machine or with a code
entered in a browser on any device, and saves the registry token where mcp-publisher reads it:
~/.mcp_publisher_token and ~/.config/mcp-publisher/token.json, as {"token","method":"oidc",
"registry"}, readable only by you (mode 0600).

Options:
  --url <url>          the service's base URL, e.g. https://registry.example.com (required)
  --registry <url>     the registry the token is for, written into the token file
                       (default: the --url value, the usual setup behind one reverse proxy)
  --device             sign in with a code entered in a browser on any device (device login)
  --no-device          sign in with a browser on this machine, even over SSH or without a display
  --no-browser         do not start a browser; open the printed URL yourself
  --no-qr              device login: no QR code of the link (shown only on a terminal anyway)
  --client-name <name> device login: the name the confirmation page shows for this terminal
                       (default "mcp-registry-oidc on <this machine's host name>")
  --print              write the token to stdout instead of the token files
  --timeout <seconds>  how long to wait for the sign-in (default 300; device login: as long as
                       the code lives, 10 minutes with the service's defaults)
  -h, --help           show this help

Which login: --device or --no-device when given; otherwise the device login in an SSH session
(SSH_CONNECTION or SSH_TTY set) and on Linux or BSD without a display (neither DISPLAY nor
WAYLAND_DISPLAY set), the browser on this machine everywhere else. The device login is chosen
by itself only when stdin and stderr are terminals; a run without them (CI, scripts) that would
need it fails and asks for --device or --no-device, so no live code lands in a log unasked.

The device login sends the client name, by default this machine's host name, to the service,
which shows it to whoever opens the confirmation page with the code. Its verification page
must be on the origin of --url; the command refuses a page anywhere else.

On this machine, the browser returns to http://127.0.0.1:<random port>/callback with a one-time
code, which the command redeems with its PKCE verifier. The device login prints a page and a
code to enter there, and polls the service until the sign-in is done. Either way the token must
verify against the service's /.well-known/jwks.json before anything is written. URLs must use
https, except on loopback (127.0.0.1, localhost, [::1]).

Exit status: 0 signed in, 1 the sign-in failed or timed out, 2 wrong usage.
`

const DEFAULT_TIMEOUT_SECONDS = 300
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

interface LoginOptions {
  help: boolean
  url: string
  registry: string
  device: boolean
  noDevice: boolean
  browser: boolean
  qr: boolean
  /** Device login: the name to show on the confirmation page; undefined: from the host name. */
  clientName: string | undefined
  print: boolean
  /** Undefined when not given: the loopback flow then waits 300 s, the device flow the code's life. */
  timeoutSeconds: number | undefined
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
      device: { type: 'boolean' },
      'no-device': { type: 'boolean' },
      'no-browser': { type: 'boolean' },
      'no-qr': { type: 'boolean' },
      'client-name': { type: 'string' },
      print: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  const options: LoginOptions = {
    help: values.help === true,
    url: '',
    registry: '',
    device: values.device === true,
    noDevice: values['no-device'] === true,
    browser: values['no-browser'] !== true,
    qr: values['no-qr'] !== true,
    clientName: values['client-name'],
    print: values.print === true,
    timeoutSeconds: undefined,
  }
  if (options.help) return options
  if (values.url === undefined) throw new UsageError('--url is required')
  if (options.device && options.noDevice) {
    throw new UsageError('--device and --no-device exclude each other')
  }
  if (options.clientName !== undefined) {
    const problem = clientNameProblem(options.clientName)
    if (problem !== undefined) throw new UsageError(`--client-name ${problem}`)
  }
  options.url = baseUrlOption(values.url, 'url')
  options.registry =
    values.registry === undefined ? options.url : baseUrlOption(values.registry, 'registry')
  if (values.timeout !== undefined) {
    const timeoutSeconds = Number(values.timeout)
    if (!/^\d+$/.test(values.timeout) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
      throw new UsageError('--timeout must be a number of seconds between 1 and 3600')
    }
    options.timeoutSeconds = timeoutSeconds
  }
  return options
}

/**
 * Redeems the loopback code with this login's verifier, then verifies the token against the
 * service's published key (signature, `iss`, `exp`): a forged callback, or anything but the
 * service's own token, ends the login here, before a file is written.
 */
async function redeem(baseUrl: string, code: string, codeVerifier: string): Promise<VerifiedLogin> {
  let response: Response
  try {
    response = await postJson(`${baseUrl}/v0/auth/oidc/token`, {
      code,
      code_verifier: codeVerifier,
    })
  } catch {
    throw new LoginFailure('the service could not be reached to redeem the code')
  }
  const body = await jsonOf(response)
  if (response.status !== 200) {
    const error = typeof body?.error === 'string' ? `: ${body.error}` : ''
    throw new LoginFailure(`the service refused the code (${response.status}${printable(error)})`)
  }
  return verifyServiceToken(baseUrl, body?.registry_token)
}

export async function login(argv: string[], io: CliIo): Promise<number> {
  const options = parseLoginOptions(argv)
  if (options.help) {
    io.stdout.write(LOGIN_HELP)
    return EXIT.ok
  }
  const choice = chooseLoginFlow(
    options,
    io.env ?? {},
    io.platform ?? process.platform,
    io.interactive === true,
  )
  if (choice.flow === 'device') return deviceLogin(options, io, choice.reason)
  return loopbackLogin(options, io)
}

async function loopbackLogin(options: LoginOptions, io: CliIo): Promise<number> {
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS
  const state = randomBytes(32).toString('base64url')
  const codeVerifier = randomBytes(32).toString('base64url')
  const listener = await listenForCallback(state, timeoutSeconds * 1000, (code) =>
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
    `Waiting for the sign-in to finish (up to ${duration(timeoutSeconds)}; Ctrl-C cancels)…\n`,
  )

  let result: VerifiedLogin
  try {
    result = await listener.result
  } catch (error) {
    listener.close()
    if (error instanceof LoginTimeout) {
      io.stderr.write(
        `No sign-in came back within ${duration(timeoutSeconds)}: the browser was closed or the sign-in was not finished. Run the command again.\n`,
      )
      return EXIT.failed
    }
    if (error instanceof LoginFailure) {
      io.stderr.write(`The sign-in failed: ${printable(error.message)}. Run the command again.\n`)
      return EXIT.failed
    }
    throw error
  }
  return saveLogin(io, result, options)
}
