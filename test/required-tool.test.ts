// A test that needs Chromium or nginx skips without it on a developer's machine, and fails under
// CI=true: a green CI run means the browser and proxy tests ran.

import t from 'tap'
import { missingToolFails, skipWhenMissing } from './helpers/required-tool.js'

t.test('CI=true (or 1) makes a missing tool a failure', async (t) => {
  t.equal(missingToolFails({ CI: 'true' }), true)
  t.equal(missingToolFails({ CI: '1' }), true)
  t.equal(missingToolFails({ CI: 'TRUE' }), true)
  t.equal(missingToolFails({}), false)
  t.equal(missingToolFails({ CI: 'false' }), false)
  t.equal(missingToolFails({ CI: '' }), false)
})

t.test('skip with the reason, except under CI', async (t) => {
  const missing = 'nginx is not installed'
  t.equal(skipWhenMissing(missing, {}), missing)
  t.equal(skipWhenMissing(missing, { CI: 'true' }), false, 'runs, and fails on the missing tool')
  t.equal(skipWhenMissing(undefined, {}), false)
  t.equal(skipWhenMissing(undefined, { CI: 'true' }), false)
})
