// A token endpoint that fails: every fault ends in 502 token_exchange_failed, within the outbound
// deadline (MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS, 1 s here instead of the default 5 s), never in a
// hung login or a 401 that blames the token.

import t from 'tap'
import { checkLogsLast, refusal, refused, startHostileStage } from '../helpers/adversarial.js'
import type { TokenEndpointFault } from '../helpers/misbehaving-provider.js'

const timeoutMs = 1000
const stage = await startHostileStage({ MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS: String(timeoutMs) })

const faults: Array<[TokenEndpointFault, RegExp]> = [
  ['status_500', /answered 500/],
  ['html_200', /answered 200 without a JSON body/],
  ['no_id_token', /no id_token/],
  ['no_answer', new RegExp(`no complete answer within ${timeoutMs} ms`)],
  ['stalled_body', new RegExp(`no complete answer within ${timeoutMs} ms`)],
  ['huge_body', /exceeds 524288 bytes/],
  ['huge_declared_body', /exceeds 524288/],
  ['connection_reset', /request failed/],
]

for (const [fault, reason] of faults) {
  // The bound: a login that hangs fails this test after 10 s, ten times the configured deadline.
  t.test(fault, { timeout: 10_000 }, async (t) => {
    stage.provider.tokenEndpoint = { fault }
    const login = await stage.login()
    const started = performance.now()
    const result = await refusal(stage.service, () =>
      login.browser.request(login.callbackUrl, { headers: { accept: 'application/json' } }),
    )
    // Reported, not asserted: the bound is the test's own timeout below.
    t.comment(`${fault}: 502 after ${Math.round(performance.now() - started)} ms`)
    t.match(result, refused(502, 'token_exchange_failed', reason))
    t.ok(stage.provider.tokenCalls.at(-1)?.pkceVerified, 'the request itself was well-formed')
    stage.provider.reset()
  })
}

t.test('the service still logs in once the provider behaves again', async (t) => {
  const login = await stage.login()
  t.equal((await stage.finish(login)).status, 200)
})

checkLogsLast([stage])
