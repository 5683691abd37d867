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
