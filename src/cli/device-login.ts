// `login --device`: the device login of RFC 8628 for terminals whose browser is on another
// machine. The command asks the service for a code, shows where to enter it, and polls until the
// person has signed in there; the token it then gets is verified and saved as `login` saves it.

import { hostname as osHostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { renderUnicodeCompact } from 'uqr'
import { MAX_CLIENT_NAME_LENGTH } from '../device/client-name.js'
import {
  DeviceAnswerError,
  type DeviceAuthorization,
  readDeviceAuthorization,
} from './device-authorization.js'
import { type CliIo, type Clock, EXIT } from './io.js'
import { duration, saveLogin } from './login-result.js'
import { LoginFailure } from './loopback.js'
import { jsonOf, postJson, verifyServiceToken } from './service-client.js'
import { printable } from './terminal-text.js'

export interface DeviceLoginOptions {
  readonly url: string
  readonly registry: string
  readonly print: boolean
  /** Stop waiting earlier than the code's lifetime; undefined: wait as long as the code lives. */
  readonly timeoutSeconds: number | undefined
  /** Print a QR code of the link when a terminal shows the messages. */
  readonly qr: boolean
  /** The name the confirmation page shows; undefined: {@link deviceClientName} of the host name. */
  readonly clientName: string | undefined
}

const CLIENT_NAME_PREFIX = 'mcp-registry-oidc'
/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval, for the rest of the login. */
const SLOW_DOWN_SECONDS = 5
/** The service's error descriptions are a sentence; a longer one is cut. */
const MAX_DESCRIPTION_LENGTH = 200

const realClock: Clock = { now: () => Date.now(), sleep: (ms) => sleep(ms) }

/**
 * What the confirmation page shows as the requesting client, so the person recognises their own
 * terminal: `mcp-registry-oidc on <host name>`. Only a host name's own characters are kept, and
 * the whole stays within the 64 the service accepts.
 */
export function deviceClientName(hostname: string): string {
  const room = MAX_CLIENT_NAME_LENGTH - `${CLIENT_NAME_PREFIX} on `.length
  const host = hostname.replace(/[^A-Za-z0-9.-]/g, '').slice(0, room)
  return host === '' ? CLIENT_NAME_PREFIX : `${CLIENT_NAME_PREFIX} on ${host}`
}

/** The service's error code and description from an error answer, safe to print on one line. */
function describeError(status: number, body: Record<string, unknown> | undefined): string {
  const code = typeof body?.error === 'string' ? printable(body.error).slice(0, 64) : ''
  const description =
    typeof body?.error_description === 'string'
      ? printable(body.error_description).slice(0, MAX_DESCRIPTION_LENGTH)
      : ''
  return [`${status}${code === '' ? '' : `: ${code}`}`, description].filter(Boolean).join(', ')
}

/** What one poll of the token endpoint came to. */
export type PollResult =
  | { readonly kind: 'token'; readonly token: unknown }
  | { readonly kind: 'pending' }
  | { readonly kind: 'slow_down' }
  /** The service or its store cannot answer now: polled again at the interval. */
  | { readonly kind: 'unavailable'; readonly why: string }
  /** The login is over without a token; the message says why. */
  | { readonly kind: 'failed'; readonly message: string }

/** Reads one answer of `POST …/device/token` (RFC 8628 §3.5), whatever the service sent. */
export function readPollAnswer(
  status: number,
  body: Record<string, unknown> | undefined,
): PollResult {
  if (status === 200) return { kind: 'token', token: body?.registry_token }
  const error = body?.error
  if (status === 400 && error === 'authorization_pending') return { kind: 'pending' }
  // 429 is the rate limit of the service (or a proxy before it): the same request, politer.
  if ((status === 400 && error === 'slow_down') || status === 429) return { kind: 'slow_down' }
  if (status >= 500) {
    const why =
      status === 503 && error === 'store_unavailable'
        ? 'The service cannot reach its store of device logins'
        : `The service answered ${describeError(status, body)}`
    return { kind: 'unavailable', why }
  }
  if (status === 400 && error === 'access_denied') {
    return {
      kind: 'failed',
      message:
        'the sign-in was refused: the account has no permission on this registry, or the request was cancelled on the confirmation page',
    }
  }
  if (status === 400 && error === 'expired_token') {
    return { kind: 'failed', message: 'the code expired before the sign-in was finished' }
  }
  if (status === 400 && error === 'invalid_grant') {
    return {
      kind: 'failed',
      message:
        'the service no longer accepts this login (invalid_grant): its token was handed out already, or the service forgot it',
    }
  }
  return {
    kind: 'failed',
    message: `the service refused the poll (${describeError(status, body)})`,
  }
}

async function requestDeviceCode(url: string, clientName: string): Promise<DeviceAuthorization> {
  let response: Response
  try {
    response = await postJson(`${url}/v0/auth/oidc/device`, { client_name: clientName })
  } catch {
    throw new LoginFailure(`the service at ${url} could not be reached`)
  }
  const body = await jsonOf(response)
  if (response.status === 503 && body?.error === 'store_unavailable') {
    throw new LoginFailure(
      'the service cannot take device logins right now (store_unavailable): try again in a minute, or sign in with --no-device on a machine with a browser',
    )
  }
  if (response.status !== 200) {
    throw new LoginFailure(
      `the service refused the device login (${describeError(response.status, body)})`,
    )
  }
  try {
    return readDeviceAuthorization(body, url)
  } catch (error) {
    if (error instanceof DeviceAnswerError) {
      throw new LoginFailure(`the service's answer is not a device login: ${error.message}`)
    }
    throw error
  }
}

function instructions(device: DeviceAuthorization, clientName: string, qr: boolean): string {
  const lines = [
    'Open this page in a browser, on this or any other device:',
    '',
    `  ${printable(device.verificationUri)}`,
    '',
    `and enter the code  ${printable(device.userCode)}`,
    '',
  ]
  if (device.verificationUriComplete !== undefined) {
    const complete = printable(device.verificationUriComplete)
    lines.push('Or open this link, which fills the code in:', '', `  ${complete}`, '')
    if (qr) {
      lines.push('or scan it:', '', renderUnicodeCompact(complete, { ecc: 'L', border: 2 }), '')
    }
  }
  lines.push(
    `The page names this request "${clientName}" and asks you to confirm: do so only for the code shown here.`,
    `Waiting for the sign-in (the code expires in ${duration(device.expiresInSeconds)}; Ctrl-C cancels)…`,
    '',
  )
  return lines.join('\n')
}

/** Polls until the service hands out the token, refuses, or the code's time is up. */
async function pollForToken(
  url: string,
  device: DeviceAuthorization,
  deadline: { readonly at: number; readonly missed: string },
  io: CliIo,
  clock: Clock,
): Promise<unknown> {
  let intervalSeconds = device.intervalSeconds
  let lastTrouble: string | undefined
  for (;;) {
    await clock.sleep(intervalSeconds * 1000)
    if (clock.now() >= deadline.at) throw new LoginFailure(deadline.missed)
    let result: PollResult
    try {
      const response = await postJson(`${url}/v0/auth/oidc/device/token`, {
        device_code: device.deviceCode,
      })
      result = readPollAnswer(response.status, await jsonOf(response))
    } catch {
      result = { kind: 'unavailable', why: 'The service could not be reached' }
    }
    switch (result.kind) {
      case 'token':
        return result.token
      case 'pending':
        break
      case 'slow_down':
        intervalSeconds += SLOW_DOWN_SECONDS
        break
      case 'unavailable':
        // Said once per kind of trouble, not at every poll.
        if (result.why !== lastTrouble) {
          io.stderr.write(
            `${result.why}; trying again every ${duration(intervalSeconds)} until the code expires.\n`,
          )
        }
        lastTrouble = result.why
        break
      case 'failed':
        throw new LoginFailure(result.message)
    }
    if (result.kind !== 'unavailable' && lastTrouble !== undefined) {
      io.stderr.write('The service answers again; still waiting for the sign-in.\n')
      lastTrouble = undefined
    }
  }
}

/** Runs the device login; `reason` says why it was chosen when the person did not ask for it. */
export async function deviceLogin(
  options: DeviceLoginOptions,
  io: CliIo,
  reason: string | undefined,
): Promise<number> {
  const clock = io.clock ?? realClock
  const clientName = options.clientName ?? deviceClientName(io.hostname ?? osHostname())
  if (reason !== undefined) {
    io.stderr.write(
      `Signing in with a code to enter in a browser elsewhere, because ${reason}. Use --no-device to sign in with a browser on this machine.\n\n`,
    )
  }
  try {
    const started = clock.now()
    const device = await requestDeviceCode(options.url, clientName)
    const timeout = options.timeoutSeconds ?? Number.POSITIVE_INFINITY
    const deadline =
      timeout < device.expiresInSeconds
        ? {
            at: started + timeout * 1000,
            missed: `no sign-in was finished within ${duration(timeout)}`,
          }
        : {
            at: started + device.expiresInSeconds * 1000,
            missed: 'no sign-in was finished before the code expired',
          }
    io.stderr.write(instructions(device, clientName, options.qr && io.stderr.isTTY === true))
    const token = await pollForToken(options.url, device, deadline, io, clock)
    const result = await verifyServiceToken(options.url, token)
    return await saveLogin(io, result, options)
  } catch (error) {
    if (error instanceof LoginFailure) {
      io.stderr.write(`The sign-in failed: ${printable(error.message)}. Run the command again.\n`)
      return EXIT.failed
    }
    throw error
  }
}
