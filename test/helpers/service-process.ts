import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { statusOf, waitFor } from './wait.js'

const sourceEntry = fileURLToPath(new URL('../../src/main.ts', import.meta.url))
/** The test runner's loaders minus its process and mock tracking, which only slow a server's start. */
const loaderArgs = process.execArgv.filter((arg) => !/@tapjs\/(processinfo|mock)\b/.test(arg))

export interface SpawnOptions {
  /**
   * Runs what `npm start` runs — the compiled dist/ under plain Node, no TypeScript loader, none
   * of the test runner's settings — instead of src/main.ts under the tests' loader. See
   * {@link builtService} for making sure dist/ holds the current source.
   */
  readonly built?: { readonly command: readonly string[] }
}

/** The service as its own process (src/main.ts, or dist/main.js as `npm start` runs it). */
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
 * Spawns the service with the given environment — from source under the
 * tests' TypeScript loader, or `built` as `npm start` runs it — and resolves
 * once `/healthz` answers on `env.PORT`.
 */
export async function spawnService(
  env: Record<string, string | undefined>,
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  const baseUrl = `http://127.0.0.1:${env.PORT}`
  const [args, childEnv] = options.built
    ? [options.built.command, { PATH: process.env.PATH, HOME: process.env.HOME, ...env }]
    : // process.env carries the TypeScript loader's settings (transpile only).
      [[...loaderArgs, sourceEntry], { ...process.env, ...env }]
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
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

const projectRoot = fileURLToPath(new URL('../../', import.meta.url))

/** The newest modification time of any file under `dir`. */
async function newestChange(dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs)
    }
  }
  return newest
}

/**
 * What `npm start` runs, ready to spawn: `npm run build` first when dist/ is
 * missing or older than src/ (CI builds before it tests, so there it never
 * runs), then the start script's node arguments, e.g. `['dist/main.js']`.
 */
export async function builtService(): Promise<{ readonly command: readonly string[] }> {
  const { scripts } = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  const [program, ...command] = (scripts.start ?? '').split(' ')
  if (program !== 'node') throw new Error(`npm start does not run node: ${scripts.start}`)
  const entry = command.at(-1) ?? ''
  const built = await stat(join(projectRoot, entry)).then(
    (file) => file.mtimeMs,
    () => 0,
  )
  if (built < (await newestChange(join(projectRoot, 'src')))) {
    await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: projectRoot })
  }
  return { command }
}
