// `login --device` against the real service and provider, with a scripted browser on the other
// side: approving gives the token files, cancelling ends the login with access_denied. Real time:
// the service answers slow_down to a poll sooner than its interval, so each login waits one.

import { readdir, readFile } from 'node:fs/promises'
import t from 'tap'
import { runCli } from '../../src/cli/run.js'
import { cliRun, type Run } from '../helpers/cli.js'
import { approveInBrowser, openConfirmation, submitDecision } from '../helpers/device.js'
import { registryPublicKey } from '../helpers/registry-key.js'
import { verifyRegistryToken } from '../helpers/registry-token.js'
import { callbackUrlFor, startService, testSigningSeedHex } from '../helpers/service.js'
import { freePort, startTestProvider } from '../helpers/test-provider.js'

const port = await freePort()
const provider = await startTestProvider({ redirectUris: [callbackUrlFor(port)] })
t.teardown(() => provider.close())
const service = await startService(provider, port)
t.teardown(() => service.close())
const base = service.baseUrl

/** The user code the CLI printed, once it did. */
async function printedUserCode(run: Run): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const code = /enter the code {2}([A-Z]{4}-[A-Z]{4})/.exec(run.out.stderr)?.[1]
    if (code !== undefined) return code
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`the CLI printed no user code:\n${run.out.stderr}`)
}

t.test('approved in the browser: the token files are written', async (t) => {
  const run = await cliRun(t, undefined, { hostname: 'devbox' })
  const exit = runCli(['login', '--url', base, '--device'], run.io)
  const callback = await approveInBrowser(base, await printedUserCode(run))
  t.equal(callback.status, 200)
  t.match(await callback.text(), 'go back to your terminal')
  t.equal(await exit, 0)
  const login = JSON.parse(await readFile(`${run.home}/.mcp_publisher_token`, 'utf8'))
  const claims = await verifyRegistryToken(login.token, registryPublicKey(testSigningSeedHex))
  t.equal(claims.auth_method_sub, 'alice')
  t.match(run.out.stdout, 'Signed in as alice.')
})

t.test('cancelled on the confirmation page: access_denied, nothing written', async (t) => {
  const run = await cliRun(t, undefined, { hostname: 'devbox' })
  const exit = runCli(['login', '--url', base, '--device'], run.io)
  const confirmation = await openConfirmation(base, await printedUserCode(run))
  t.match(confirmation.page, 'mcp-registry-oidc on devbox', 'the page names the terminal')
  t.equal((await submitDecision(base, confirmation, 'cancel')).status, 200)
  t.equal(await exit, 1)
  t.match(run.out.stderr, 'The sign-in failed: the sign-in was refused')
  t.same(await readdir(run.home), [])
})
