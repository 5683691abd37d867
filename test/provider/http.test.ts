import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import t from 'tap'
import { createOutboundClient, OutboundRequestError, toResponse } from '../../src/provider/http.js'

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void

let handler: Handler = (_request, _body, response) => response.end('ok')
const server = createServer((request, response) => {
  let body = ''
  request.on('data', (chunk) => {
    body += chunk
  })
  request.on('end', () => handler(request, body, response))
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as { port: number }
const base = `http://127.0.0.1:${port}`
const limits = { timeoutMs: 500, maxBytes: 1024 }
const client = createOutboundClient(limits)
t.teardown(() => {
  client.close()
  server.closeAllConnections()
  server.close()
})

t.test('sends a form body and reads the whole answer', async (t) => {
  handler = (request, body, response) => {
    response.setHeader('content-type', 'application/json')
    response.end(
      JSON.stringify({
        method: request.method,
        type: request.headers['content-type'],
        authorization: request.headers.authorization,
        body,
      }),
    )
  }
  const answer = toResponse(
    await client.fetchBuffered(`${base}/token`, {
      method: 'POST',
      headers: { authorization: 'Basic abc' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'a b' }),
    }),
  )
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('content-type'), 'application/json')
  t.same(await answer.json(), {
    method: 'POST',
    type: 'application/x-www-form-urlencoded;charset=UTF-8',
    authorization: 'Basic abc',
    body: 'grant_type=authorization_code&code=a+b',
  })
})

t.test('a redirect is an answer, not followed', async (t) => {
  handler = (_request, _body, response) => {
    response.writeHead(302, { location: `${base}/elsewhere` })
    response.end()
  }
  const answer = await client.fetchBuffered(`${base}/jwks`)
  t.equal(answer.status, 302)
  t.equal(answer.headers.get('location'), `${base}/elsewhere`)
})

t.test('an answer that never comes ends at the deadline', async (t) => {
  handler = () => {}
  const started = Date.now()
  await t.rejects(client.fetchBuffered(`${base}/token`), {
    name: 'OutboundRequestError',
    message: 'no complete answer within 500 ms',
  })
  t.ok(Date.now() - started < 5000, 'well before the test timeout')
})

t.test('a body that never ends ends at the deadline', async (t) => {
  handler = (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.write('{"id_token":')
  }
  await t.rejects(client.fetchBuffered(`${base}/token`), OutboundRequestError)
})

t.test('bodies over the cap are refused, declared or not', async (t) => {
  handler = (_request, _body, response) => {
    response.setHeader('content-length', 4096)
    response.end('x'.repeat(4096))
  }
  await t.rejects(client.fetchBuffered(`${base}/a`), {
    message: 'response body of 4096 bytes exceeds 1024',
  })
  handler = (_request, _body, response) => {
    response.write('x'.repeat(1000))
    response.end('x'.repeat(1000))
  }
  await t.rejects(client.fetchBuffered(`${base}/b`), {
    message: 'response body exceeds 1024 bytes',
  })
})

t.test('a connection closed mid-answer is a failure', async (t) => {
  handler = (_request, _body, response) => {
    response.writeHead(200, { 'content-length': 100 })
    response.write('partial')
    setTimeout(() => response.socket?.destroy(), 20)
  }
  await t.rejects(client.fetchBuffered(`${base}/token`), OutboundRequestError)
})

t.test('nothing but http and https, and no unknown body types', async (t) => {
  await t.rejects(client.fetchBuffered('file:///etc/passwd'), OutboundRequestError)
  await t.rejects(
    client.fetchBuffered(`${base}/x`, { method: 'POST', body: new Uint8Array(1) }),
    TypeError,
  )
})

t.test('an aborted signal stops the request', async (t) => {
  handler = () => {}
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 20)
  await t.rejects(client.fetchBuffered(`${base}/slow`, { signal: controller.signal }), {
    message: 'the request was aborted',
  })
})
