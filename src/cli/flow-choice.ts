// Which login `login` runs when not told: the loopback flow needs the browser on this machine,
// because the provider sends it back to 127.0.0.1 here. Over SSH, or without a graphical session,
// the browser is somewhere else and only the device flow can finish.

import { UsageError } from './io.js'

export type LoginFlow = 'loopback' | 'device'

export interface FlowChoice {
  readonly flow: LoginFlow
  /** Why, for the line the command prints when it chose by itself; undefined when told. */
  readonly reason: string | undefined
}

type Env = Readonly<Record<string, string | undefined>>

const isSet = (env: Env, name: string) => (env[name] ?? '') !== ''

/**
 * `--device` / `--no-device` decide when given. Otherwise the device flow is chosen in an SSH
 * session (`SSH_CONNECTION` or `SSH_TTY`: sshd sets the first, and the second with a terminal),
 * and on systems whose graphical session announces itself through `DISPLAY` or
 * `WAYLAND_DISPLAY` (Linux, the BSDs) when neither is set. macOS and Windows always have a
 * browser at hand; so does WSL, which opens the Windows one (`WSL_DISTRO_NAME`).
 *
 * The device flow is chosen by itself only for an `interactive` run (a terminal on stdin and on
 * stderr, where the messages go). Elsewhere, in CI or under a script, its live code and link
 * would land in a log that others read, and whoever approves it first gets the token: such a run
 * must say `--device` (or `--no-device`), and a UsageError says so.
 */
export function chooseLoginFlow(
  flags: { readonly device: boolean; readonly noDevice: boolean },
  env: Env,
  platform: NodeJS.Platform,
  interactive: boolean,
): FlowChoice {
  if (flags.device) return { flow: 'device', reason: undefined }
  if (flags.noDevice) return { flow: 'loopback', reason: undefined }
  const reason = deviceReason(env, platform)
  if (reason === undefined) return { flow: 'loopback', reason: undefined }
  if (!interactive) {
    throw new UsageError(
      `login would sign in with a code to enter in a browser elsewhere, because ${reason}, but this run is not interactive (stdin or stderr is not a terminal), so the code would end up in a log. Pass --device to do so anyway, or --no-device to use a browser on this machine`,
    )
  }
  return { flow: 'device', reason }
}

/** Why the browser is not on this machine, or undefined when it may well be. */
function deviceReason(env: Env, platform: NodeJS.Platform): string | undefined {
  if (isSet(env, 'SSH_CONNECTION') || isSet(env, 'SSH_TTY')) return 'this is an SSH session'
  const alwaysGraphical = platform === 'darwin' || platform === 'win32'
  const display =
    alwaysGraphical ||
    isSet(env, 'DISPLAY') ||
    isSet(env, 'WAYLAND_DISPLAY') ||
    isSet(env, 'WSL_DISTRO_NAME')
  if (!display) return 'there is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set)'
  return undefined
}
