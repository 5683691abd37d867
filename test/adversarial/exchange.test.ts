// POST /v0/auth/oidc with the wrong thing: a registry token instead of an ID token, another
// client's ID token, oversized, malformed or mistyped bodies, the wrong method.

import t from 'tap'
import {
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'

const stage: RealStage = await startRealStage()
const exchangeUrl = `${stage.base}/v0/auth/oidc`

function post(body: string, contentType = 'application/json') {
  return refusal(stage.service, () =>
    fetch(exchangeUrl, { method: 'POST', headers: { 'content-type': contentType }, body }),
  )
}

async function obtained(options?: Parameters<typeof stage.provider.obtainIdToken>[0]) {
  const token = await stage.provider.obtainIdToken(options)
  stage.secrets.add(token)
  return token
}

t.test('a valid ID token is exchanged', async (t) => {
  const result = await post(JSON.stringify({ oidc_token: await obtained() }))
  t.match(result, { status: 200, logged: 0 })
})

t.test('a registry token submitted as an ID token', async (t) => {
  const exchanged = await fetch(exchangeUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: await obtained() }),
  })
  const { registry_token: registryToken } = (await exchanged.json()) as { registry_token: string }
  stage.secrets.add(registryToken)
  t.match(
    await post(JSON.stringify({ oidc_token: registryToken })),
    refused(401, 'id_token_invalid', /key|alg|iss/),
  )
})

t.test('an ID token issued to another client of the same provider', async (t) => {
  const foreign = await obtained({ clientId: stage.provider.otherClientId })
  t.match(
    await post(JSON.stringify({ oidc_token: foreign })),
    refused(401, 'id_token_invalid', /aud/),
  )
})

t.test('a body over 16 KiB', async (t) => {
  t.match(
    await post(JSON.stringify({ oidc_token: 'x'.repeat(17 * 1024) })),
    refused(413, 'payload_too_large'),
  )
})

t.test('bodies that are not the expected JSON', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"oidc_token":', /INVALID_JSON/],
    ['empty', '', /EMPTY_JSON/],
    ['a JSON string', '"eyJ.x.y"', /body/],
    ['a number instead of a token', '{"oidc_token":42}', /oidc_token/],
    ['an empty token', '{"oidc_token":""}', /oidc_token/],
    ['a missing token', '{"id_token":"x"}', /oidc_token|additional/],
    ['an extra field', '{"oidc_token":"a.b.c","admin":true}', /additional/],
  ]
  for (const [name, body, reason] of cases) {
    t.match(await post(body), refused(400, 'invalid_request', reason), name)
  }
  t.match(
    await post('{"oidc_token":"a.b.c"}'),
    refused(401, 'id_token_invalid'),
    'well-formed JSON, not a JWT',
  )
})

t.test('a wrong content type', async (t) => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
    t.match(
      await post(JSON.stringify({ oidc_token: 'a.b.c' }), type),
      refused(415, 'unsupported_media_type'),
      type,
    )
  }
})

t.test('a wrong method', async (t) => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const result = await refusal(stage.service, () => fetch(exchangeUrl, { method }))
    t.match(result, refused(405, 'method_not_allowed', /instead of POST/), method)
    t.equal(result.headers.get('allow'), 'POST')
  }
  const onStart = await refusal(stage.service, () =>
    fetch(`${stage.base}/v0.1/auth/oidc/start`, { method: 'POST' }),
  )
  t.match(onStart, refused(405, 'method_not_allowed'), 'POST to start')
  t.equal(onStart.headers.get('allow'), 'GET, HEAD')
})

checkLogsLast([stage])
