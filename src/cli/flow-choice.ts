// Which login `login` runs when not told: the loopback flow needs the browser on this machine,
// because the provider sends it back to 127.0.0.1 here. Over SSH, or without a graphical session,
// the browser is somewhere else and only the device flow can finish.

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
 */
export function chooseLoginFlow(
  flags: { readonly device: boolean; readonly noDevice: boolean },
  env: Env,
  platform: NodeJS.Platform,
): FlowChoice {
  if (flags.device) return { flow: 'device', reason: undefined }
  if (flags.noDevice) return { flow: 'loopback', reason: undefined }
  if (isSet(env, 'SSH_CONNECTION') || isSet(env, 'SSH_TTY')) {
    return { flow: 'device', reason: 'this is an SSH session' }
  }
  const alwaysGraphical = platform === 'darwin' || platform === 'win32'
  const display =
    alwaysGraphical ||
    isSet(env, 'DISPLAY') ||
    isSet(env, 'WAYLAND_DISPLAY') ||
    isSet(env, 'WSL_DISTRO_NAME')
  if (!display) {
    return {
      flow: 'device',
      reason: 'there is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set)',
    }
  }
  return { flow: 'loopback', reason: undefined }
}
