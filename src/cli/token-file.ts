// mcp-publisher's login file: `{"token","method","registry"}`, readable only by its owner. Older
// releases read ~/.mcp_publisher_token, newer ones ~/.config/mcp-publisher/token.json; both are
// written, as the token page's snippet does.

import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export const LEGACY_TOKEN_FILE = '.mcp_publisher_token'
export const CONFIG_TOKEN_FILE = join('.config', 'mcp-publisher', 'token.json')

export interface PublisherLogin {
  token: string
  method: 'oidc'
  /** The registry mcp-publisher publishes to, without a trailing slash. */
  registry: string
}

/**
 * Replaces `path` with `content`, mode 0600, atomically: a temporary file created 0600 in the same
 * directory is renamed over it, so no other user ever sees a readable token, whatever the umask or
 * the old file's mode, and a symlink at `path` is replaced rather than followed.
 */
async function writePrivateFile(path: string, content: string): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temporary, 'wx', 0o600)
  try {
    await handle.writeFile(content)
    await handle.chmod(0o600)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

/** Writes both login files under `homeDir`; returns their paths, the legacy one first. */
export async function writePublisherLogin(
  homeDir: string,
  login: PublisherLogin,
): Promise<string[]> {
  const content = `${JSON.stringify({ token: login.token, method: login.method, registry: login.registry })}\n`
  const legacy = join(homeDir, LEGACY_TOKEN_FILE)
  const config = join(homeDir, CONFIG_TOKEN_FILE)
  await writePrivateFile(legacy, content)
  await mkdir(dirname(config), { recursive: true, mode: 0o700 })
  await chmod(dirname(config), 0o700)
  await writePrivateFile(config, content)
  return [legacy, config]
}
