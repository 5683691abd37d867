// Running the CLI in-process, reading what it printed: with no home directory at all, or against
// a temporary one.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { CliIo } from '../../src/cli/io.js'
import { runCli } from '../../src/cli/run.js'

/** Runs the command line with its output captured; no browser, no home directory. */
export async function runCapturing(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    homeDir: '/nonexistent',
    openBrowser: async () => undefined,
    env,
  }
  const code = await runCli(argv, io)
  return { code, stdout, stderr }
}

export interface Run {
  readonly io: CliIo
  readonly home: string
  readonly out: { stdout: string; stderr: string }
  readonly opened: string[]
}

/** A desktop session on Linux: `login` picks the loopback flow by itself there. */
export const DESKTOP_ENV: Readonly<Record<string, string>> = { DISPLAY: ':0' }

/**
 * A CLI environment with a fresh home directory, removed when `t` ends. The environment is a
 * desktop's unless `overrides.env` says otherwise; `overrides` also sets the clock and the rest.
 */
export async function cliRun(
  t: Test,
  openBrowser?: (url: string) => Promise<void>,
  overrides: Partial<CliIo> = {},
): Promise<Run> {
  const home = await mkdtemp(join(tmpdir(), 'mcp-oidc-home-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))
  const out = { stdout: '', stderr: '' }
  const opened: string[] = []
  const io: CliIo = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    homeDir: home,
    openBrowser: openBrowser ?? (async (url) => void opened.push(url)),
    env: DESKTOP_ENV,
    platform: 'linux',
    ...overrides,
  }
  return { io, home, out, opened }
}

/** The first match of `pattern` in what the CLI printed on stderr, once it printed it. */
async function printed(run: Run, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  for (let i = 0; i < 500; i++) {
    const match = pattern.exec(run.out.stderr)
    if (match !== null) return match
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`the CLI printed no ${what}:\n${run.out.stderr}`)
}

/** The start URL the CLI printed, once it did. */
export async function printedStartUrl(run: Run): Promise<URL> {
  const [url] = await printed(run, /http:\/\/\S+\/v0\/auth\/oidc\/start\?\S+/, 'start URL')
  return new URL(url)
}

/** The user code a device login printed, once it did. */
export async function printedUserCode(run: Run): Promise<string> {
  const match = await printed(run, /enter the code {2}([A-Z]{4}-[A-Z]{4})/, 'user code')
  return match[1] as string
}
