import * as oidc from 'openid-client'
import t from 'tap'
import { createLoginSecretsSource } from '../../src/login/login-secrets.js'

t.test(
  'state, nonce and verifier are 256-bit base64url values, the challenge is their S256',
  async (t) => {
    const secrets = createLoginSecretsSource()()
    for (const value of [secrets.state, secrets.nonce, secrets.codeVerifier]) {
      t.match(value, /^[A-Za-z0-9_-]{43}$/)
    }
    t.equal(secrets.codeChallenge, await oidc.calculatePKCECodeChallenge(secrets.codeVerifier))
  },
)

t.test('every value is fresh, across refills of the random pool', async (t) => {
  const newLoginSecrets = createLoginSecretsSource()
  const seen = new Set<string>()
  for (let login = 0; login < 1000; login++) {
    const { state, nonce, codeVerifier } = newLoginSecrets()
    seen.add(state).add(nonce).add(codeVerifier)
  }
  t.equal(seen.size, 3000)
})

t.test('two sources share nothing', async (t) => {
  const [a, b] = [createLoginSecretsSource()(), createLoginSecretsSource()()]
  t.not(a.state, b.state)
  t.not(a.codeVerifier, b.codeVerifier)
})
