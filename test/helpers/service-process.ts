import { type ChildProcessByStdio, spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { statusOf, waitFor } from './wait.js'

const serverPath = fileURLToPath(new URL('../../src/main.ts', import.meta.url))
/** The test runner's loaders minus its process and mock tracking, which only slow a server's start. */
const loaderArgs = process.execArgv.filter((arg) => !/@tapjs\/(processinfo|mock)\b/.test(arg))

/** The service as its own process (src/main.ts, what dist/server.js runs in production). */
export interface ServiceProcess {
  readonly baseUrl: string
  readonly pid: number
  /** Every JSON line it logged so far. */
  readonly logs: Array<Record<string, unknown>>
  /** Everything it wrote, stdout then stderr, for failure messages and secret scans. */
  output(): string
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
  waitForReady(timeoutMs?: number): Promise<void>
  /** Sends the signal (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Spawns the service with the TypeScript loader the tests run under and the
 * given environment; resolves once `/healthz` answers on `env.PORT`.
 */
export async function spawnService(
  env: Record<string, string | undefined>,
): Promise<ServiceProcess> {
  const baseUrl = `http://127.0.0.1:${env.PORT}`
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [...loaderArgs, serverPath],
    // process.env carries the TypeScript loader's settings (transpile only).
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const logs: Array<Record<string, unknown>> = []
  let stdout = ''
  let stderr = ''
  let partial = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        // not a log line
      }
    }
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  // 'close', not 'exit': by then everything it wrote has been read.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  let running = true
  void exited.then(() => {
    running = false
  })

  const service: ServiceProcess = {
    baseUrl,
    pid: child.pid as number,
    logs,
    output: () => stdout + stderr,
    exited,
    async waitForReady(timeoutMs = 30_000) {
      await waitFor(
        `${baseUrl}/readyz`,
        async () => ((await statusOf(`${baseUrl}/readyz`)) === 200 ? true : undefined),
        { timeoutMs },
      )
    },
    async stop(signal = 'SIGTERM') {
      if (running) child.kill(signal)
      return exited
    },
  }
  try {
    await waitFor(`${baseUrl}/healthz`, async () => {
      if (!running) throw new Error(`the service exited early:\n${service.output()}`)
      return (await statusOf(`${baseUrl}/healthz`)) === 200 ? true : undefined
    })
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  return service
}
