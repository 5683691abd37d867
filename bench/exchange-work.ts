// The exchange's cryptographic work, shared by the crypto floor and the exchange ceiling so that
// both measure exactly the same calls: jose's RS256 ID-token verification with the service's
// algorithms and tolerance, then an EdDSA registry token signed with a key imported the way the
// service imports MCP_REGISTRY_JWT_PRIVATE_KEY.

import { CompactSign, type CryptoKey, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { clockToleranceSeconds, idTokenAlgorithms } from '../src/provider/id-token.js'

export interface ExchangeExpectations {
  readonly issuer: string
  readonly audience: string
}

export interface ExchangeAnswer {
  readonly registry_token: string
  readonly expires_at: number
}

export type ExchangeWork = (idToken: string) => Promise<ExchangeAnswer>

export async function createExchangeWork(
  key: JWTVerifyGetKey | CryptoKey,
  expected: ExchangeExpectations,
): Promise<ExchangeWork> {
  const pkcs8 = Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'),
    Buffer.alloc(32, 7),
  ])
  const signingKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, [
    'sign',
  ])
  const protectedHeader = { alg: 'EdDSA', typ: 'JWT', kid: 'bench' }
  const utf8 = new TextEncoder()
  return async (idToken) => {
    // jose's overloads take a key or a key lookup, not their union.
    const { payload } = await jwtVerify(idToken, key as JWTVerifyGetKey, {
      algorithms: [...idTokenAlgorithms],
      issuer: expected.issuer,
      audience: expected.audience,
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ['sub', 'iat', 'exp', 'aud'],
    })
    const now = Math.floor(Date.now() / 1000)
    const claims = {
      iss: 'mcp-registry',
      exp: now + 300,
      nbf: now - 5,
      iat: now,
      auth_method: 'oidc',
      auth_method_sub: payload.sub,
      permissions: [{ action: 'publish', resource: 'com.example/*' }],
    }
    const registryToken = await new CompactSign(utf8.encode(JSON.stringify(claims)))
      .setProtectedHeader(protectedHeader)
      .sign(signingKey)
    return { registry_token: registryToken, expires_at: claims.exp }
  }
}
