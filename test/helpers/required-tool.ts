// Tests that need a program of the machine (Chromium, nginx): on a developer's machine without it
// they skip and say what to install; under CI=true they fail instead, so that a green CI run means
// the browser and proxy tests really ran.

import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { Test } from 'tap'

type Environment = Readonly<Record<string, string | undefined>>

/** Whether a missing tool fails its tests: CI=true (or 1), as CI services and .ci/run set it. */
export function missingToolFails(env: Environment = process.env): boolean {
  return /^(true|1)$/i.test(env.CI ?? '')
}

/**
 * For `t.test(name, { skip: skipWhenMissing(missing) }, …)`: the reason to skip when the tool is
 * missing, else false. Under CI it is always false: the test runs and fails where it starts the
 * tool, with the same reason.
 */
export function skipWhenMissing(
  missing: string | undefined,
  env: Environment = process.env,
): string | false {
  return missing === undefined || missingToolFails(env) ? false : missing
}

/**
 * A test file that needs a tool throughout: runs `body` when the tool is there; otherwise skips
 * the whole file naming what is missing, or under CI fails it with that message.
 */
export async function whenToolPresent(
  t: Test,
  missing: string | undefined,
  body: () => Promise<void>,
): Promise<void> {
  if (missing === undefined) return body()
  if (missingToolFails()) {
    t.fail(`${missing}; CI=true: the tests that need it must run, not skip`)
    return
  }
  t.plan(0, `skipped: ${missing}`)
}

/**
 * The path of an executable program on PATH or in `alsoIn` (Debian puts daemons in /usr/sbin,
 * which a user's PATH may lack), or undefined when there is none.
 */
export function programPath(name: string, alsoIn: string): string | undefined {
  for (const directory of [...(process.env.PATH ?? '').split(delimiter), alsoIn]) {
    const path = join(directory, name)
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // try the next one
    }
  }
  return undefined
}
