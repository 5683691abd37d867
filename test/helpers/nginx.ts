import { spawn } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { callbackPath } from './login.js'
import { programPath, skipWhenMissing } from './required-tool.js'
import { freePort, startTestProvider, type TestProvider } from './test-provider.js'
import { acceptsConnections, waitFor } from './wait.js'

/** Debian's nginx binary, or undefined when it is not installed. */
export function nginxBinary(): string | undefined {
  return programPath('nginx', '/usr/sbin')
}

/** Why nginx tests cannot run on this machine, or undefined when they can. */
export function nginxMissing(): string | undefined {
  return nginxBinary()
    ? undefined
    : 'nginx is not installed: apt-get install nginx-light (.ci/run does)'
}

/**
 * For `t.test(name, { skip: skipWithoutNginx() }, …)`: the reason to skip without nginx, or false;
 * always false under CI=true, where such a test fails in {@link startNginx} instead.
 */
export function skipWithoutNginx(): string | false {
  return skipWhenMissing(nginxMissing())
}

export interface RunningNginx {
  readonly baseUrl: string
  /** Its error log so far, for failure messages. */
  errorLog(): Promise<string>
  close(): Promise<void>
}

/**
 * Runs nginx in the foreground on 127.0.0.1:`port` with everything it
 * writes (pid, logs, temp files) in a temp directory of its own. `http` is
 * the body of the `http {}` block; it must `listen 127.0.0.1:<port>`.
 */
export async function startNginx(port: number, http: string): Promise<RunningNginx> {
  const binary = nginxBinary()
  if (!binary) throw new Error(nginxMissing())
  const prefix = await mkdtemp(join(tmpdir(), 'mcp-oidc-nginx-'))
  // Workers run as nobody when the tests run as root.
  await chmod(prefix, 0o755)
  const config = join(prefix, 'nginx.conf')
  const errorLog = join(prefix, 'error.log')
  await writeFile(
    config,
    `worker_processes 1;
daemon off;
pid ${join(prefix, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'client_body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
${http}
}
`,
  )
  const child = spawn(binary, ['-p', prefix, '-e', errorLog, '-c', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  let running = true
  void exited.then(() => {
    running = false
  })
  const readErrorLog = () => readFile(errorLog, 'utf8').catch(() => '')
  try {
    await waitFor(`nginx on port ${port}`, async () => {
      if (!running) throw new Error(`nginx exited: ${stderr}${await readErrorLog()}`)
      return (await acceptsConnections(port)) ? true : undefined
    })
  } catch (error) {
    child.kill('SIGKILL')
    await rm(prefix, { recursive: true, force: true })
    throw error
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    errorLog: readErrorLog,
    async close() {
      if (running) child.kill('SIGTERM')
      await exited
      await rm(prefix, { recursive: true, force: true })
    },
  }
}

/**
 * The `http {}` body of a reverse proxy in front of several replicas, as
 * docs/deployment.md recommends: round-robin, the login routes only, an incoming
 * `X-Request-Id` passed on (nginx makes one when there is none), and a
 * replica that is down, shutting down or not ready (503: it did nothing with
 * the request) skipped; never a 502, whose authorization code was spent.
 * `max_fails=0`: a replica is never taken out for a while, so a rolling
 * restart cannot take out all of them at once ("no live upstreams").
 */
export function replicasProxyConfig(port: number, replicaPorts: readonly number[]): string {
  const servers = replicaPorts
    .map((replica) => `    server 127.0.0.1:${replica} max_fails=0;`)
    .join('\n')
  return `
  map $http_x_request_id $forwarded_request_id {
    default $http_x_request_id;
    "" $request_id;
  }
  upstream mcp_registry_oidc {
${servers}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location ~ ^/v0(\\.1)?/auth/oidc(/|$) {
      proxy_pass http://mcp_registry_oidc;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-Id $forwarded_request_id;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error http_503;
    }
    location / {
      return 404;
    }
  }
`
}

/**
 * A test provider whose client is registered with the callback behind a proxy about to run on
 * `proxyPort`: what replicas behind nginx need, all with `PUBLIC_URL` = `proxyUrl`.
 */
export async function providerBehindProxy(
  t: Test,
): Promise<{ proxyPort: number; proxyUrl: string; provider: TestProvider }> {
  const proxyPort = await freePort()
  const proxyUrl = `http://127.0.0.1:${proxyPort}`
  const provider = await startTestProvider({ redirectUris: [`${proxyUrl}${callbackPath}`] })
  t.teardown(() => provider.close())
  return { proxyPort, proxyUrl, provider }
}
