import t from 'tap'
import {
  cookieOccurrences,
  type Flow,
  flowCookiesToClear,
  flowLifetimeSeconds,
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
    'an invalid cookie goes first, and alone when that makes room',
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
