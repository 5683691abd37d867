// Several logins in one browser (tabs): each has its own cookie, both finish in either order, and
// at most maxParallelFlows cookies live at once: a new start clears invalid ones first, then the
// oldest.

import t from 'tap'
import { maxParallelFlows } from '../../src/login/flow-cookie.js'
import {
  checkLogsLast,
  type RealStage,
  refusal,
  refused,
  startRealStage,
} from '../helpers/adversarial.js'
import type { TestBrowser } from '../helpers/browser.js'

const stage: RealStage = await startRealStage()

const flowCookieNames = (browser: TestBrowser) =>
  [...browser.cookies(stage.base).keys()].filter((name) => name.startsWith('mcp_oidc_flow_'))

const json = { accept: 'application/json' }

t.test('two tabs started one after the other both complete, in either order', async (t) => {
  for (const order of ['first tab first', 'second tab first']) {
    const browser = stage.browser()
    const first = await stage.login(browser)
    const second = await stage.login(browser)
    t.equal(flowCookieNames(browser).length, 2, `${order}: two flow cookies`)
    const tabs = order === 'first tab first' ? [first, second] : [second, first]
    for (const tab of tabs) {
      const response = await browser.request(tab.callbackUrl, { headers: json })
      t.equal(response.status, 200, order)
    }
    t.equal(flowCookieNames(browser).length, 0, `${order}: each callback cleared its cookie`)
  }
})

t.test(`at most ${maxParallelFlows} logins live at once; the oldest are cleared`, async (t) => {
  const browser = stage.browser()
  const logins = []
  for (let index = 0; index < maxParallelFlows + 2; index++) logins.push(await stage.login(browser))
  t.equal(flowCookieNames(browser).length, maxParallelFlows)
  const [oldest, older, ...kept] = logins
  for (const dropped of [oldest, older]) {
    if (!dropped) throw new Error('missing login')
    t.match(
      await refusal(stage.service, () => browser.request(dropped.callbackUrl, { headers: json })),
      refused(400, 'state_mismatch', /no flow cookie belongs/),
      'a cleared login is refused',
    )
  }
  for (const login of kept) {
    t.equal((await browser.request(login.callbackUrl, { headers: json })).status, 200, 'kept')
  }
})

t.test('invalid and expired flow cookies are cleared before any live one', async (t) => {
  const browser = stage.browser()
  await stage.login(browser)
  browser.setCookie(stage.base, 'mcp_oidc_flow_AAAAAAAAAAAAAAAA', 'not-a-signed-flow')
  const live = flowCookieNames(browser)
  t.equal(live.length, 2)
  const response = await browser.request(`${stage.base}/v0/auth/oidc/start`)
  t.equal(response.status, 302)
  const cleared = response.headers
    .getSetCookie()
    .filter((line) => /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line))
  t.same(
    cleared.map((line) => line.split('=')[0]),
    ['mcp_oidc_flow_AAAAAAAAAAAAAAAA'],
    'only the invalid cookie is cleared, the live login stays',
  )
  t.equal(flowCookieNames(browser).length, 2)
})

checkLogsLast([stage])
