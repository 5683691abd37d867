// The peer: Auth0's express-openid-connect, configured like the service — authorization code flow
// with PKCE, a confidential client, the same provider stub — in its own process.
// Usage: NODE_ENV=production node server.js <port> <issuer> <client id> <client secret>

import express from 'express'
import { auth } from 'express-openid-connect'

const [port, issuer, clientId, clientSecret] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
]
const baseUrl = `http://127.0.0.1:${port}`

const app = express()
app.get('/healthz', (_request, response) => {
  response.json({ status: 'ok' })
})
app.use(
  auth({
    issuerBaseURL: issuer,
    baseURL: baseUrl,
    clientID: clientId,
    clientSecret,
    secret: 'bench-peer-session-secret-0123456789abcdef',
    authRequired: false,
    idpLogout: false,
    authorizationParams: { response_type: 'code', scope: 'openid email profile' },
    routes: { login: '/login', callback: '/callback', logout: false },
  }),
)
app.get('/', (_request, response) => {
  response.send('logged in')
})
app.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'))
