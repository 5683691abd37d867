// Slow-loris clients: a request whose headers or body trickle in, one byte at a time, is answered
// 408 (or closed) once the request timeout passes, instead of holding its connection for as long
// as the client likes. The service here allows 1 s (MCP_REGISTRY_OIDC_REQUEST_TIMEOUT_SECONDS) so
// that the test stays short; the default is 10 s.

import { connect } from 'node:net'
import t from 'tap'
import { checkLogsLast, type RealStage, startRealStage } from '../helpers/adversarial.js'

const stage: RealStage = await startRealStage({ MCP_REGISTRY_OIDC_REQUEST_TIMEOUT_SECONDS: '1' })
const port = Number(new URL(stage.base).port)

interface Trickle {
  /** What the service answered before it closed the connection (empty: closed without one). */
  readonly answer: string
  /** Bytes of the request the client had sent by then. */
  readonly sent: number
  readonly total: number
}

/**
 * Sends `head` at once, then `trickled` one byte every `intervalMs`, until the service closes the
 * connection or everything was sent.
 */
function trickle(head: string, trickled: string, intervalMs: number): Promise<Trickle> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    let sent = 0
    let timer: NodeJS.Timeout | undefined
    const total = head.length + trickled.length
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
    })
    const finish = () => {
      clearInterval(timer)
      resolve({ answer, sent, total })
    }
    socket.on('close', finish)
    socket.on('error', finish)
    socket.write(head, () => {
      sent = head.length
      timer = setInterval(() => {
        if (sent === total || socket.destroyed) return clearInterval(timer)
        socket.write(trickled[sent - head.length] ?? '')
        sent++
      }, intervalMs)
    })
  })
}

t.test('a body sent one byte every 250 ms is cut off with 408', async (t) => {
  const body = JSON.stringify({ oidc_token: 'x'.repeat(40) })
  const head = `POST /v0/auth/oidc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
  const result = await trickle(head, body, 250)
  t.match(result.answer, /^HTTP\/1\.1 408 /, 'answered 408 Request Timeout')
  t.ok(result.sent < result.total, `cut off after ${result.sent} of ${result.total} bytes`)
})

t.test('headers sent one byte every 250 ms are cut off', async (t) => {
  const headers = `GET /v0/auth/oidc/start HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'p'.repeat(40)}\r\n\r\n`
  const result = await trickle('', headers, 250)
  t.ok(result.sent < result.total, `cut off after ${result.sent} of ${result.total} bytes`)
  t.match(result.answer, /^(HTTP\/1\.1 408 [\s\S]*)?$/, 'answered 408, or closed without an answer')
})

t.test('fifty slow requests at once are all cut off; the service still answers', async (t) => {
  const body = JSON.stringify({ oidc_token: 'x'.repeat(40) })
  const head = `POST /v0/auth/oidc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
  const results = await Promise.all(Array.from({ length: 50 }, () => trickle(head, body, 250)))
  t.equal(results.filter((result) => result.sent < result.total).length, 50, 'all 50 cut off')
  t.equal((await fetch(`${stage.base}/healthz`)).status, 200)
})

checkLogsLast([stage])
