import t from 'tap'
import {
  cookieOccurrences,
  decodeFlow,
  encodeFlow,
  type Flow,
  flowCookieName,
  flowCookiesToClear,
  flowLifetimeSeconds,
  isFlowCookieName,
  maxClearedPerAnswer,
  maxParallelFlows,
} from '../../src/login/flow-cookie.js'

const now = 1_800_000_000
const flow = (createdAt: number): Flow => ({
  state: 's',
  nonce: 'n',
  codeVerifier: 'v',
  target: undefined,
  callerState: undefined,
  callerCodeChallenge: undefined,
  device: undefined,
  createdAt,
})

t.test('the cap', async (t) => {
  t.equal(maxParallelFlows, 3)
  t.same(flowCookiesToClear([], now), [], 'nothing to clear')
  t.same(
    flowCookiesToClear(
      [
        { name: 'a', flow: flow(now) },
        { name: 'b', flow: flow(now) },
      ],
      now,
    ),
    [],
    'two live and the new one fit',
  )
  t.same(
    flowCookiesToClear(
      [
        { name: 'b', flow: flow(now - 10) },
        { name: 'a', flow: flow(now - 20) },
        { name: 'c', flow: flow(now - 5) },
      ],
      now,
    ),
    ['a'],
    'three live: the oldest by createdAt makes room, whatever the header order',
  )
  t.same(
    flowCookiesToClear(
      [
        { name: 'first', flow: flow(now) },
        { name: 'second', flow: flow(now) },
        { name: 'third', flow: flow(now) },
      ],
      now,
    ),
    ['first'],
    'ties within a second: header order (oldest first)',
  )
  t.same(
    flowCookiesToClear(
      [
        { name: 'live', flow: flow(now - 5) },
        { name: 'forged', flow: undefined },
      ],
      now,
    ),
    ['forged'],
    'an invalid cookie is cleared, and alone when that makes room',
  )
  t.same(
    flowCookiesToClear(
      [
        { name: 'expired', flow: flow(now - flowLifetimeSeconds - 1) },
        { name: 'future', flow: flow(now + 120) },
        { name: 'live', flow: flow(now - 5) },
      ],
      now,
    ),
    ['expired', 'future'],
    'expired and future-dated cookies are never kept',
  )
})

t.test('same-named cookies are counted in the raw header', async (t) => {
  t.equal(cookieOccurrences(undefined, 'x'), 0)
  t.equal(cookieOccurrences('x=1; y=2', 'x'), 1)
  t.equal(cookieOccurrences('x=1; xx=2;x=3', 'x'), 2)
  t.equal(cookieOccurrences('ax=1', 'x'), 0)
})

t.test('at most a bounded number of stale cookies are cleared per answer', async (t) => {
  const junk = Array.from({ length: 50 }, (_, index) => ({ name: `junk${index}`, flow: undefined }))
  const live = [1, 2, 3].map((age) => ({ name: `live${age}`, flow: flow(now - age * 10) }))
  const cleared = flowCookiesToClear([...junk, ...live], now)
  t.equal(cleared.length, maxClearedPerAnswer)
  t.same(cleared.slice(0, 2), ['live3', 'junk0'], 'the live one that makes room comes first')
})

t.test('only the names the service makes are its own', async (t) => {
  for (const secure of [false, true]) {
    t.ok(isFlowCookieName(flowCookieName('some-state', secure), secure), `own name, ${secure}`)
  }
  const foreign = [
    'mcp_oidc_flow_a b',
    'mcp_oidc_flow_',
    'mcp_oidc_flow_ü',
    'mcp_oidc_flow_AAAAAAAAAAAAAAAAA',
    'mcp_oidc_flow_AAAAAAAAAAAAAAA',
    'mcp_oidc_flow_AAAAAAAAAAAAAAA/',
    'MCP_OIDC_FLOW_AAAAAAAAAAAAAAAA',
    '__Host-mcp_oidc_flow_AAAAAAAAAAAAAAAA',
  ]
  for (const name of foreign) t.notOk(isFlowCookieName(name, false), JSON.stringify(name))
  t.notOk(isFlowCookieName('mcp_oidc_flow_AAAAAAAAAAAAAAAA', true), 'https needs __Host-')
})

t.test('a loopback flow without the caller challenge is not a flow', async (t) => {
  const target = { kind: 'loopback', url: 'http://127.0.0.1:8085/cb' } as const
  t.equal(decodeFlow(encodeFlow({ ...flow(now), target })), undefined)
  const withChallenge = { ...flow(now), target, callerCodeChallenge: 'c'.repeat(43) }
  t.same(decodeFlow(encodeFlow(withChallenge)), withChallenge)
})
