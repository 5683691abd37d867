// The crypto floor: what the exchange endpoint does that no framework can make cheaper — verify an
// RS256 ID token and sign an EdDSA registry token, with jose and WebCrypto as the service uses them —
// in one process, with as many operations in flight as the load generator has connections
// (WebCrypto runs them on libuv's thread pool, so one at a time would understate it).
//
// Usage: node crypto-floor.js <in flight>. Prints "ready", then answers each line "run <seconds>"
// on stdin with one JSON line, a FloorRun, so the runner can interleave it with the HTTP scenarios.

import { createInterface } from 'node:readline'
import { generateKeyPair, SignJWT } from 'jose'
import { createExchangeWork } from './exchange-work.js'

const inFlight = Number(process.argv[2])

const expected = { issuer: 'http://127.0.0.1/floor', audience: 'bench-client' }

const rsa = await generateKeyPair('RS256', { modulusLength: 2048 })
const idTokens = await Promise.all(
  Array.from({ length: 100 }, (_, index) =>
    new SignJWT({ email: `user${index}@example.com`, email_verified: true })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(expected.issuer)
      .setSubject(`user${index}`)
      .setAudience(expected.audience)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(rsa.privateKey),
  ),
)
const exchange = await createExchangeWork(rsa.publicKey, expected)

async function exchangeOnce(index: number): Promise<void> {
  await exchange(idTokens[index % idTokens.length] as string)
}

async function run(durationSeconds: number): Promise<number[]> {
  const latencies: number[] = []
  const end = performance.now() + durationSeconds * 1000
  let counter = 0
  const lane = async () => {
    while (performance.now() < end) {
      const started = performance.now()
      await exchangeOnce(counter++)
      // Hundredths of a millisecond are plenty, and keep the answer short.
      latencies.push(Math.round((performance.now() - started) * 100) / 100)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
  return latencies
}

export interface FloorRun {
  readonly requests: number
  readonly seconds: number
  readonly latenciesMs: number[]
}

process.stdout.write('ready\n')
for await (const line of createInterface({ input: process.stdin })) {
  const [command, seconds] = line.split(' ')
  if (command !== 'run') continue
  const started = performance.now()
  const latenciesMs = await run(Number(seconds))
  const result: FloorRun = {
    requests: latenciesMs.length,
    seconds: (performance.now() - started) / 1000,
    latenciesMs,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}
