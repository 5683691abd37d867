/** What a command may touch outside itself; tests pass their own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown }
  /** Messages for the person; `isTTY` when a terminal shows them (a QR code is worth printing). */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean }
  /** Where ~/.mcp_publisher_token goes (os.homedir(), which follows HOME). */
  readonly homeDir: string
  /** Opens a URL in the person's browser; rejects when no browser could be started. */
  openBrowser(url: string): Promise<void>
  /** The process environment, for the variables a command shares with the service. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** The operating system, for choosing the login flow; default process.platform. */
  readonly platform?: NodeJS.Platform
  /** This machine's name, shown to the person confirming a device login; default os.hostname(). */
  readonly hostname?: string
  /**
   * Whether a person is at a terminal: stdin and stderr (where messages go; stdout may carry the
   * token with --print) are TTYs. Only then may `login` choose the device flow by itself.
   * Default false.
   */
  readonly interactive?: boolean
  /** Time, for commands that wait between requests; default the real clock. */
  readonly clock?: Clock
}

/** Unix milliseconds and waiting; tests pass one that moves on at once. */
export interface Clock {
  now(): number
  sleep(milliseconds: number): Promise<void>
}

/** ok / failed / usage, as every command's help says. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const

/** Wrong options or arguments: the message says what, the caller adds "see --help" and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}
