// The outbound client every request to the provider goes through (undici): what it sends, and
// the bounds it keeps whatever the other side does: a deadline over the whole request and a cap
// on the body, declared or not.

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
const noProxy = { httpProxy: '', httpsProxy: '', noProxy: '' }
const client = createOutboundClient({ timeoutMs: 500, maxBytes: 1024, proxy: noProxy })
t.teardown(async () => {
  await client.close()
  server.closeAllConnections()
  server.close()
})

t.test('sends a form body and reads the whole answer', async (t) => {
  handler = (request, body, response) => {
    response.setHeader('content-type', 'application/json')
    response.setHeader('set-cookie', ['a=1', 'b=2'])
    response.end(
      JSON.stringify({
        method: request.method,
        type: request.headers['content-type'],
        authorization: request.headers.authorization,
        userAgent: request.headers['user-agent'],
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
  t.same(answer.headers.getSetCookie(), ['a=1', 'b=2'], 'repeated headers stay apart')
  t.same(await answer.json(), {
    method: 'POST',
    type: 'application/x-www-form-urlencoded;charset=UTF-8',
    authorization: 'Basic abc',
    userAgent: 'mcp-registry-oidc',
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
  await t.rejects(client.fetchBuffered(`${base}/token`), {
    name: 'OutboundRequestError',
    message: 'no complete answer within 500 ms',
  })
})

t.test('a body that never ends ends at the deadline', async (t) => {
  handler = (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.write('{"id_token":')
  }
  await t.rejects(client.fetchBuffered(`${base}/token`), {
    message: 'no complete answer within 500 ms',
  })
})

t.test(
  'a body trickling in, each byte within the body timeout, ends at the deadline',
  async (t) => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      const drip = setInterval(() => response.write(' '), 50)
      response.on('close', () => clearInterval(drip))
    }
    await t.rejects(client.fetchBuffered(`${base}/token`), {
      message: 'no complete answer within 500 ms',
    })
  },
)

t.test('bodies over the cap are refused, declared or not', async (t) => {
  handler = (_request, _body, response) => {
    response.setHeader('content-length', 4096)
    response.end('x'.repeat(4096))
  }
  await t.rejects(client.fetchBuffered(`${base}/a`), {
    message: 'response body exceeds 1024 bytes',
  })
  handler = (_request, _body, response) => {
    response.write('x'.repeat(1000))
    response.end('x'.repeat(1000))
  }
  await t.rejects(client.fetchBuffered(`${base}/b`), {
    message: 'response body exceeds 1024 bytes',
  })
  handler = (_request, _body, response) => response.end('x'.repeat(1024))
  t.equal((await client.fetchBuffered(`${base}/c`)).body.length, 1024, 'the cap itself is fine')
})

t.test('a connection closed mid-answer is a failure', async (t) => {
  handler = (_request, _body, response) => {
    response.writeHead(200, { 'content-length': 100 })
    response.write('partial')
    setTimeout(() => response.socket?.destroy(), 20)
  }
  await t.rejects(client.fetchBuffered(`${base}/token`), {
    name: 'OutboundRequestError',
    message: /^request failed: /,
  })
})

t.test('nothing but http and https, and no unknown body types', async (t) => {
  await t.rejects(client.fetchBuffered('file:///etc/passwd'), OutboundRequestError)
  await t.rejects(
    client.fetchBuffered(`${base}/x`, { method: 'POST', body: new Uint8Array(1) }),
    TypeError,
  )
})

t.test("the caller's signal stops the request", async (t) => {
  handler = () => {}
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 20)
  await t.rejects(client.fetchBuffered(`${base}/slow`, { signal: controller.signal }), {
    message: 'the request was aborted',
  })
  await t.rejects(client.fetchBuffered(`${base}/slow`, { signal: AbortSignal.timeout(20) }), {
    message: 'no complete answer within 500 ms',
  })
})

t.test('connections are kept alive between requests', async (t) => {
  const peers = new Set<number | undefined>()
  handler = (request, _body, response) => {
    peers.add(request.socket.remotePort)
    response.end('ok')
  }
  for (let index = 0; index < 5; index++) await client.fetchBuffered(`${base}/again`)
  t.ok(peers.size < 5, `five requests, one after the other, over ${peers.size} connection(s)`)
})

t.test('proxy variables in process.env are not read: only the configured ones count', async (t) => {
  const saved = { ...process.env }
  t.teardown(() => {
    for (const name of ['http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY']) {
      if (saved[name] === undefined) delete process.env[name]
      else process.env[name] = saved[name]
    }
  })
  // Nothing listens on port 1: a request sent to this "proxy" would fail.
  process.env.http_proxy = 'http://127.0.0.1:1'
  process.env.HTTP_PROXY = 'http://127.0.0.1:1'
  process.env.no_proxy = ''
  const direct = createOutboundClient({ timeoutMs: 500, maxBytes: 1024, proxy: noProxy })
  t.teardown(() => direct.close())
  handler = (_request, _body, response) => response.end('direct')
  t.equal((await direct.fetchBuffered(`${base}/x`)).body.toString(), 'direct')
})
