import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { get } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

export { freePort } from '../test/helpers/free-port.js'

/** A child process of the benchmark. Its stderr is kept for failure messages. */
export interface BenchProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  /** The exit code (null after a signal). */
  readonly exited: Promise<number | null>
  /** What the process wrote on stdout (empty unless spawned with `stdout: 'collect'`). */
  stdout(): string
  stderr(): string
  /** Resolves once the process has written `readyLine` on stdout; at once without one. */
  readonly ready: Promise<void>
  stop(): Promise<void>
}

export interface SpawnOptions {
  readonly env?: Record<string, string | undefined>
  /** A line the process prints once it is ready. */
  readonly readyLine?: string
  /** Discarded by default: the service's logs must not cost the load generator anything. */
  readonly stdout?: 'collect' | 'discard'
  /** A pipe to send commands on; closed (no input) by default. */
  readonly stdin?: 'pipe'
}

export function spawnNode(name: string, args: string[], options: SpawnOptions = {}): BenchProcess {
  const collect = options.readyLine !== undefined || options.stdout === 'collect'
  // On a small shared machine, the service sharing a CPU with the load generator moves its CPU
  // time per request by ±10 % from run to run; pinned apart, by a few per cent.
  const pin = name === 'service' ? process.env.BENCH_SERVICE_CPU : undefined
  const child = spawn(
    pin ? 'taskset' : process.execPath,
    pin ? ['-c', pin, process.execPath, ...args] : args,
    {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', ...options.env },
      stdio: [options.stdin ?? 'ignore', collect ? 'pipe' : 'ignore', 'pipe'],
    },
  )
  let stdout = ''
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  let isReady = options.readyLine === undefined
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${stderr}`)))
    if (isReady) resolve()
    child.stdout?.on('data', (chunk: Buffer) => {
      if (isReady && options.stdout !== 'collect') return
      stdout += chunk.toString()
      if (!isReady && stdout.split('\n').includes(options.readyLine as string)) {
        isReady = true
        resolve()
      }
    })
  })
  ready.catch(() => {})
  if (child.pid === undefined) throw new Error(`${name} did not start`)
  return {
    name,
    child,
    pid: child.pid,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await Promise.race([exited, sleep(5000)])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

/** The status of a GET to `url`, or 0 when nothing answers. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    get(url, { agent: false }, (response) => {
      response.resume()
      response.once('end', () => resolve(response.statusCode ?? 0))
    }).once('error', () => resolve(0))
  })
}

/**
 * Polls `url` (served by `server`) until it answers 200; returns the milliseconds from `since`
 * (a performance.now()). With node:http, not fetch: the first fetch of a process loads Node's
 * own copy of undici, CPU time the measured process would compete with on a small machine.
 */
export async function waitFor200(
  url: string,
  since: number,
  server: BenchProcess,
  timeoutMs = 20_000,
): Promise<number> {
  for (;;) {
    if (server.child.exitCode !== null) {
      throw new Error(`${server.name} exited (${server.child.exitCode}): ${server.stderr()}`)
    }
    if ((await statusOf(url)) === 200) return performance.now() - since
    if (performance.now() - since > timeoutMs) throw new Error(`${url} did not answer 200`)
    await sleep(2)
  }
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)
  if (!match) throw new Error(`no ${field} for process ${pid}`)
  return Number(match[1])
}

/** Peak resident set size of a running process, in bytes. */
export const peakRssBytes = (pid: number): number => statusKiB(pid, 'VmHWM') * 1024
/** Current resident set size of a running process, in bytes. */
export const rssBytes = (pid: number): number => statusKiB(pid, 'VmRSS') * 1024

/** User + system CPU time of a running process (all its threads), in microseconds. */
export function cpuMicroseconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks / clockTicksPerSecond) * 1e6
}

/** USER_HZ, 100 on every Linux architecture Node runs on. */
const clockTicksPerSecond = 100
