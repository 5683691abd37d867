import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'

/** PKCS#8 DER prefix for a raw 32-byte Ed25519 seed (RFC 8410). */
const ed25519Pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex')

/** The Ed25519 private key for a hex seed, built independently of the code under test. */
export function privateKeyFromSeed(seedHex: string): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([ed25519Pkcs8Prefix, Buffer.from(seedHex, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  })
}

/** The public key a registry derives from MCP_REGISTRY_JWT_PRIVATE_KEY (Go's ed25519.NewKeyFromSeed). */
export function registryPublicKey(seedHex: string): KeyObject {
  return createPublicKey(privateKeyFromSeed(seedHex))
}
