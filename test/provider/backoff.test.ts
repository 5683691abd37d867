import t from 'tap'
import { refreshDelay, retryDelay, retryDelayMs } from '../../src/provider/backoff.js'

t.test('retries back off exponentially, capped, with jitter in the upper half', async (t) => {
  const lowest = () => 0
  const highest = () => 1
  t.equal(retryDelay(0, lowest), retryDelayMs.first / 2)
  t.equal(retryDelay(0, highest), retryDelayMs.first)
  t.equal(retryDelay(3, highest), retryDelayMs.first * 8)
  t.equal(retryDelay(40, lowest), retryDelayMs.max / 2, 'capped')
  t.equal(retryDelay(40, highest), retryDelayMs.max, 'capped')
  for (let attempt = 0; attempt < 20; attempt++) {
    const ceiling = Math.min(retryDelayMs.max, retryDelayMs.first * 2 ** attempt)
    t.same(
      [retryDelay(attempt, lowest), retryDelay(attempt, highest)],
      [ceiling / 2, ceiling],
      `attempt ${attempt}: between ${ceiling / 2} and ${ceiling} ms`,
    )
  }
  const spread = new Set(Array.from({ length: 50 }, () => retryDelay(6)))
  t.ok(spread.size > 1, 'replicas do not retry in lockstep')
})

t.test('periodic refreshes are spread by ±10 %', async (t) => {
  t.equal(
    refreshDelay(600_000, () => 0),
    540_000,
  )
  t.equal(
    refreshDelay(600_000, () => 1),
    660_000,
  )
})
