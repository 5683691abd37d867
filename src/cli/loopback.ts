// The CLI's end of an RFC 8252 loopback login: a listener on 127.0.0.1 that takes exactly one
// request on its callback path, checks the state it was given, has the code it carries redeemed,
// shows the person a page saying how that went, and closes. Anything else about the request
// (host, method, missing or odd parameters) fails the login instead of waiting for a better one.

import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { pageSecurityHeaders } from '../http/respond.js'
import { icons, renderDocument } from '../pages/html.js'
import { html } from '../pages/html-template.js'

export const CALLBACK_PATH = '/callback'

export interface LoopbackListener<T> {
  /** `http://127.0.0.1:<port>/callback`, the redirect_uri to give the service. */
  readonly redirectUri: string
  /**
   * What `redeem` made of the one callback's code; rejects with a LoginFailure on a bad
   * callback, a failed redemption or at the deadline.
   */
  readonly result: Promise<T>
  close(): void
}

/** The login did not produce a token; the message is for the person at the terminal. */
export class LoginFailure extends Error {
  override name = 'LoginFailure'
}

/** No callback came before the deadline: the browser was closed, or the login never finished. */
export class LoginTimeout extends LoginFailure {
  override name = 'LoginTimeout'
}

/** A JWE compact serialisation: what the service's codes look like. */
const CODE_SHAPE = /^[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/

function sameSecret(received: string | null, expected: string): boolean {
  if (received === null) return false
  const a = Buffer.from(received)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function page(ok: boolean): string {
  const [badge, icon, title, text] = ok
    ? ['badge-ok', icons.check, 'Signed in', 'You can close this tab and go back to the terminal.']
    : ['badge-error', icons.alert, 'Sign-in not completed', 'Go back to the terminal to see why.']
  return renderDocument({
    title: `${title} · MCP Registry`,
    body: html`<main class="card">
<p class="brand">${icons.logo}<span>MCP Registry</span></p>
<header>
<div class="title-row"><span class="badge ${badge}">${icon}</span><h1>${title}</h1></div>
<p class="lead">${text}</p>
</header>
</main>`,
  })
}

/** Reads the one callback request's code; throws a LoginFailure naming what is wrong with it. */
function judge(request: IncomingMessage, origin: string, state: string): string {
  // A browser sends exactly this Host; anything else is not our redirect (DNS rebinding, a proxy).
  if (request.headers.host !== new URL(origin).host) {
    throw new LoginFailure('the callback came with an unexpected Host header')
  }
  const url = new URL(request.url ?? '/', origin)
  if (request.method !== 'GET') throw new LoginFailure('the callback was not a GET request')
  if (!sameSecret(url.searchParams.get('state'), state)) {
    throw new LoginFailure(
      'the callback carried the wrong state: it does not belong to this login, so it was ignored',
    )
  }
  const code = url.searchParams.get('code') ?? ''
  if (!CODE_SHAPE.test(code)) throw new LoginFailure('the callback carried no code')
  return code
}

/**
 * Starts listening on 127.0.0.1 (a free port) for one callback, until `timeoutMs`. The page
 * the browser gets waits for `redeem`, so it says "Signed in" only once the code was redeemed.
 */
export async function listenForCallback<T>(
  state: string,
  timeoutMs: number,
  redeem: (code: string) => Promise<T>,
): Promise<LoopbackListener<T>> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no loopback address')
  const origin = `http://127.0.0.1:${address.port}`

  let timer: NodeJS.Timeout | undefined
  const close = () => {
    clearTimeout(timer)
    server.close()
    server.closeAllConnections()
  }
  const result = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      close()
      reject(new LoginTimeout('no callback before the deadline'))
    }, timeoutMs)
    const answer = (response: ServerResponse, status: number, ok: boolean) => {
      response.writeHead(status, {
        ...pageSecurityHeaders,
        'content-type': 'text/html; charset=utf-8',
        connection: 'close',
      })
      response.end(page(ok), close)
    }
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      // Browsers ask for /favicon.ico and the like; only the callback path counts as the request.
      if (new URL(request.url ?? '/', origin).pathname !== CALLBACK_PATH) {
        response.writeHead(404, { ...pageSecurityHeaders, connection: 'close' }).end()
        return
      }
      server.removeAllListeners('request')
      // The callback came in time; the redemption has deadlines of its own.
      clearTimeout(timer)
      Promise.resolve()
        .then(() => redeem(judge(request, origin, state)))
        .then(
          (outcome) => {
            answer(response, 200, true)
            resolve(outcome)
          },
          (error: unknown) => {
            answer(response, 400, false)
            reject(error)
          },
        )
    })
  })
  // The caller may never await `result` (it failed to open the browser and gave up).
  result.catch(() => {})
  return { redirectUri: `${origin}${CALLBACK_PATH}`, result, close }
}
