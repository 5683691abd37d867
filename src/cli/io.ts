/** What a command may touch outside itself; tests pass their own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown }
  readonly stderr: { write(text: string): unknown }
  /** Where ~/.mcp_publisher_token goes (os.homedir(), which follows HOME). */
  readonly homeDir: string
  /** Opens a URL in the person's browser; rejects when no browser could be started. */
  openBrowser(url: string): Promise<void>
  /** The process environment, for the variables a command shares with the service. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** ok / failed / usage, as every command's help says. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const

/** Wrong options or arguments: the message says what, the caller adds "see --help" and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}
