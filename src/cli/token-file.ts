// mcp-publisher's login file: `{"token","method","registry"}`, readable only by its owner. Older
// releases read ~/.mcp_publisher_token, newer ones ~/.config/mcp-publisher/token.json; both are
// written, as the token page's snippet does.
//
// Nothing on the way is followed through a link or a directory someone else controls: a symlink
// planted at ~/.config/mcp-publisher (in a shared or misconfigured home) would otherwise receive
// the token wherever it points.

import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'

export const LEGACY_TOKEN_FILE = '.mcp_publisher_token'
export const CONFIG_DIRECTORY = '.config'
export const PUBLISHER_DIRECTORY = join(CONFIG_DIRECTORY, 'mcp-publisher')
export const CONFIG_TOKEN_FILE = join(PUBLISHER_DIRECTORY, 'token.json')

export interface PublisherLogin {
  token: string
  method: 'oidc'
  /** The registry mcp-publisher publishes to, without a trailing slash. */
  registry: string
}

/** Somewhere on the way to a token file is not safely this user's own. */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError'
}

// O_NOFOLLOW and O_DIRECTORY are absent on Windows, which has no such symlinks to plant.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0
const DIRECTORY = constants.O_DIRECTORY ?? 0

/**
 * Makes sure `path` is a directory of this user's that nobody else can write to, creating it
 * 0700 when absent. With `allowOwnLink`, a symbolic link this user made is followed (dotfile
 * managers link ~/.config) when it leads to such a directory; with `mode`, the directory is set
 * to it, through the handle that was checked.
 */
async function ownDirectory(
  path: string,
  options: { allowOwnLink: boolean; mode?: number },
): Promise<void> {
  await mkdir(path, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error
  })
  const link = await lstat(path)
  const follow = link.isSymbolicLink() && options.allowOwnLink && link.uid === process.getuid?.()
  if (link.isSymbolicLink() && !follow) {
    throw new UnsafePathError(`${path} is a symbolic link this user did not make, not followed`)
  }
  const handle = await open(path, constants.O_RDONLY | DIRECTORY | (follow ? 0 : NOFOLLOW))
  try {
    const stats = await handle.stat()
    if (!stats.isDirectory()) throw new UnsafePathError(`${path} is not a directory`)
    const uid = process.getuid?.()
    if (uid !== undefined && stats.uid !== uid) {
      throw new UnsafePathError(`${path} belongs to another user`)
    }
    if (options.mode !== undefined) await handle.chmod(options.mode)
    else if ((stats.mode & 0o022) !== 0) {
      throw new UnsafePathError(`${path} is writable by other users`)
    }
  } finally {
    await handle.close()
  }
}

/**
 * Replaces `path` with `content`, mode 0600, atomically: a temporary file created 0600 in the same
 * directory (never through a symlink: O_EXCL and O_NOFOLLOW) is renamed over it, so no other user
 * ever sees a readable token, whatever the umask or the old file's mode, and a symlink at `path`
 * is replaced rather than followed.
 */
async function writePrivateFile(path: string, content: string): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW
  const handle = await open(temporary, flags, 0o600)
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
  // The home directory is the person's own by definition; what lies below it is checked, before
  // either file is written.
  await ownDirectory(join(homeDir, CONFIG_DIRECTORY), { allowOwnLink: true })
  await ownDirectory(join(homeDir, PUBLISHER_DIRECTORY), { allowOwnLink: false, mode: 0o700 })
  await writePrivateFile(legacy, content)
  await writePrivateFile(config, content)
  return [legacy, config]
}
