// What comes back to the callback: a missing or foreign `iss` (RFC 9207, mix-up), a missing,
// empty, repeated or foreign `state`, a replayed callback URL, a provider error. Every refusal
// happens before the token endpoint is asked, except a replay with a stolen cookie, which the
// provider's single-use code stops.

import t from 'tap'
import {
  callbackWith,
  checkLogsLast,
  type HostileStage,
  refusal,
  refused,
  startHostileStage,
} from '../helpers/adversarial.js'

const advertising = await startHostileStage()
const silent = await startHostileStage(
  {},
  { discovery: { authorization_response_iss_parameter_supported: undefined } },
)

/** Runs `act` and reports whether the token endpoint was asked meanwhile. */
async function tokenEndpointCalls<T>(stage: HostileStage, act: () => Promise<T>) {
  const before = stage.provider.tokenCalls.length
  const result = await act()
  return { result, calls: stage.provider.tokenCalls.length - before }
}

t.test('RFC 9207 iss parameter', async (t) => {
  t.test('missing while the provider advertises it', async (t) => {
    advertising.provider.authorizationAnswer = (_request, standard) => ({
      ...standard,
      iss: undefined,
    })
    const login = await advertising.login()
    t.notOk(login.callbackUrl.searchParams.has('iss'))
    const { result, calls } = await tokenEndpointCalls(advertising, () =>
      refusal(advertising.service, () => advertising.finish(login)),
    )
    t.match(result, refused(401, 'id_token_invalid', /"iss"/))
    t.equal(calls, 0, 'the token endpoint was not asked')
    advertising.provider.reset()
  })

  t.test('of another issuer (mix-up)', async (t) => {
    for (const stage of [advertising, silent]) {
      stage.provider.authorizationAnswer = (_request, standard) => ({
        ...standard,
        iss: 'https://attacker.example/realms/Test',
      })
      const login = await stage.login()
      const { result, calls } = await tokenEndpointCalls(stage, () =>
        refusal(stage.service, () => stage.finish(login)),
      )
      t.match(result, refused(401, 'id_token_invalid', /"iss"/))
      t.equal(calls, 0, 'the token endpoint was not asked')
      stage.provider.reset()
    }
  })

  t.test('missing from a provider that does not advertise it: accepted', async (t) => {
    silent.provider.authorizationAnswer = (_request, standard) => ({ ...standard, iss: undefined })
    const login = await silent.login()
    t.equal((await silent.finish(login)).status, 200)
    silent.provider.reset()
  })
})

t.test('state', async (t) => {
  const stage = advertising
  const cases: Array<[string, (state: string) => Record<string, string | string[]>, RegExp]> = [
    ['missing', () => ({}), /no state/],
    ['empty', () => ({ state: '' }), /no state/],
    ['repeated, same value', (state) => ({ state: [state, state] }), /several states/],
    ['repeated, another value', (state) => ({ state: [state, 'x'.repeat(43)] }), /several states/],
    ['not of this login', () => ({ state: 'x'.repeat(43) }), /no flow cookie belongs/],
  ]
  for (const [name, state, reason] of cases) {
    t.test(name, async (t) => {
      const login = await stage.login()
      const query = login.callbackUrl.searchParams
      const url = callbackWith(login, {
        code: query.get('code') as string,
        iss: query.get('iss') as string,
        ...state(query.get('state') as string),
      })
      const { result, calls } = await tokenEndpointCalls(stage, () =>
        refusal(stage.service, () => login.browser.request(url)),
      )
      t.match(result, refused(400, 'state_mismatch', reason))
      t.equal(calls, 0, 'the token endpoint was not asked')
    })
  }

  t.test("from another browser's flow", async (t) => {
    const victim = await stage.login()
    const attacker = await stage.login()
    const { result, calls } = await tokenEndpointCalls(stage, () =>
      refusal(stage.service, () => victim.browser.request(attacker.callbackUrl)),
    )
    t.match(
      result,
      refused(400, 'state_mismatch', /no flow cookie belongs/),
      'a browser with its own login',
    )
    t.equal(calls, 0)
    const fresh = stage.browser()
    const { result: planted, calls: plantedCalls } = await tokenEndpointCalls(stage, () =>
      refusal(stage.service, () => fresh.request(attacker.callbackUrl)),
    )
    t.match(planted, refused(400, 'flow_cookie_missing'), 'a browser with no login (login CSRF)')
    t.equal(plantedCalls, 0)
  })
})

t.test('a replayed callback URL', async (t) => {
  const stage = advertising
  const login = await stage.login()
  const [cookieName, cookieValue] = [...login.browser.cookies(stage.base)][0] as [string, string]
  t.equal((await stage.finish(login)).status, 200, 'the first use logs in')

  const again = await tokenEndpointCalls(stage, () =>
    refusal(stage.service, () => stage.finish(login)),
  )
  t.match(again.result, refused(400, 'flow_cookie_missing'), 'the same browser: the cookie is gone')
  t.equal(again.calls, 0)

  // Someone who copied the cookie too gets past the service's checks; the code is single-use.
  const stolen = await tokenEndpointCalls(stage, () =>
    refusal(stage.service, () =>
      fetch(login.callbackUrl, {
        headers: { cookie: `${cookieName}=${cookieValue}`, accept: 'application/json' },
      }),
    ),
  )
  t.match(
    stolen.result,
    refused(502, 'token_exchange_failed', /invalid_grant/),
    'with a copied cookie',
  )
  t.equal(stolen.calls, 1)
})

t.test('a provider error', async (t) => {
  const stage = advertising
  stage.provider.authorizationAnswer = (request) => ({
    error: 'access_denied',
    error_description: '<b>Your account is locked</b>',
    state: request.state,
    iss: stage.provider.issuer,
  })
  const login = await stage.login()
  const page = await login.browser.request(login.callbackUrl, { headers: { accept: 'text/html' } })
  t.equal(page.status, 400)
  const html = await page.text()
  t.match(html, 'idp_error')
  t.match(html, '&lt;b&gt;Your account is locked&lt;/b&gt;')
  t.notMatch(html, '<b>Your account')

  const injected = await stage.login()
  const { result, calls } = await tokenEndpointCalls(stage, () =>
    refusal(stage.service, () => stage.browser().request(injected.callbackUrl)),
  )
  t.match(
    result,
    refused(400, 'flow_cookie_missing'),
    'an error text sent to a browser with no login is not shown',
  )
  t.equal(calls, 0)
  stage.provider.reset()
})

checkLogsLast([advertising, silent])
