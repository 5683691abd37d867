// The end of either login flow: a verified token, saved where mcp-publisher reads it (or printed
// with --print), and a summary of who signed in, what the token may do and when it expires.

import type { JWTPayload } from 'jose'
import { formatRelative, formatUtc } from '../pages/token-page.js'
import { type CliIo, EXIT } from './io.js'
import type { VerifiedLogin } from './service-client.js'
import { printable } from './terminal-text.js'
import { writePublisherLogin } from './token-file.js'

/** Who the token is for and what it may do, for the summary; printable whatever the claims hold. */
function describeToken(claims: JWTPayload): { subject: string; permissions: string } {
  const list = Array.isArray(claims.permissions) ? claims.permissions : []
  const permissions = list
    .map((entry: { action?: unknown; resource?: unknown }) => `${entry.action} ${entry.resource}`)
    .join(', ')
  return {
    subject: printable(String(claims.auth_method_sub ?? 'unknown')),
    permissions: printable(permissions) || 'none',
  }
}

/** `5 minutes`, `1 second`: for the messages about waiting. */
export function duration(seconds: number): string {
  if (seconds % 60 !== 0) return seconds === 1 ? '1 second' : `${seconds} seconds`
  const minutes = seconds / 60
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}

/** Writes the token files (or the token, with `print`) and says so; resolves the exit status. */
export async function saveLogin(
  io: CliIo,
  result: VerifiedLogin,
  options: { readonly print: boolean; readonly registry: string },
): Promise<number> {
  const { token, expiresAt } = result
  const summary = describeToken(result.claims)
  const expiry = `${formatUtc(expiresAt)} (${formatRelative(expiresAt, Math.floor(Date.now() / 1000))})`
  const signedIn = `Signed in as ${summary.subject}. Permissions: ${summary.permissions}.`
  if (options.print) {
    io.stdout.write(`${token}\n`)
    io.stderr.write(`${signedIn}\nThe token expires at ${expiry}.\n`)
    return EXIT.ok
  }
  try {
    const [legacy, config] = await writePublisherLogin(io.homeDir, {
      token,
      method: 'oidc',
      registry: options.registry,
    })
    io.stdout.write(
      `${signedIn}\nToken for ${options.registry} saved to ${legacy} (and ${config}); it expires at ${expiry}.\nNext: mcp-publisher publish\n`,
    )
    return EXIT.ok
  } catch (error) {
    io.stderr.write(
      `Signed in, but the token could not be saved: ${printable(error instanceof Error ? error.message : String(error))}. Use --print to get it on stdout.\n`,
    )
    return EXIT.failed
  }
}
