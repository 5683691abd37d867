// The command line: `mcp-registry-oidc <command> [options]`, exit codes 0 ok / 1 failed / 2 usage.

import { type CliIo, EXIT, UsageError } from './io.js'
import { KEYGEN_HELP, keygen } from './keygen.js'
import { LOGIN_HELP, login } from './login.js'
import { POLICY_HELP, policy } from './policy-check.js'
import { printable } from './terminal-text.js'

export const HELP = `Usage: mcp-registry-oidc <command> [options]

Commands:
  login    sign in through an mcp-registry-oidc service (in a browser here, or with a code in a
           browser on any device) and save the registry token where mcp-publisher reads it
  keygen   print a fresh registry signing key and cookie secret (and the public key)
  policy   policy check: what a policy file grants to an ID token's claims
  help     show this help, or a command's: help <command>

Run "mcp-registry-oidc <command> --help" for a command's options.
Exit status: 0 ok, 1 failed, 2 wrong usage.
`

const commands: Record<string, { run(argv: string[], io: CliIo): Promise<number>; help: string }> =
  {
    login: { run: login, help: LOGIN_HELP },
    keygen: { run: keygen, help: KEYGEN_HELP },
    policy: { run: policy, help: POLICY_HELP },
  }

/** node:util parseArgs reports unknown options, missing values and stray arguments this way. */
const isParseArgsError = (error: unknown): error is Error =>
  error instanceof TypeError &&
  String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === '-h' || name === '--help') {
    io.stdout.write(HELP)
    return EXIT.ok
  }
  if (name === 'help') {
    const topic = rest[0] === undefined ? undefined : commands[rest[0]]
    if (rest[0] !== undefined && topic === undefined) {
      io.stderr.write(`Unknown command: ${rest[0]}\n\n${HELP}`)
      return EXIT.usage
    }
    io.stdout.write(topic?.help ?? HELP)
    return EXIT.ok
  }
  const command = name === undefined ? undefined : commands[name]
  if (command === undefined) {
    io.stderr.write(
      `${name === undefined ? 'No command given.' : `Unknown command: ${name}`}\n\n${HELP}`,
    )
    return EXIT.usage
  }
  try {
    return await command.run(rest, io)
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr.write(`${error.message}\nRun "mcp-registry-oidc ${name} --help" for its options.\n`)
      return EXIT.usage
    }
    io.stderr.write(
      `${name} failed: ${printable(error instanceof Error ? error.message : String(error))}\n`,
    )
    return EXIT.failed
  }
}
