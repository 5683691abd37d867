#!/usr/bin/env node
// The package's command line (`npx mcp-registry-oidc …`): login for publishers, keygen and policy check for deployers.

import { homedir } from 'node:os'
import open from 'open'
import { runCli } from './cli/run.js'

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  homeDir: homedir(),
  env: process.env,
  interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
  async openBrowser(url) {
    await open(url)
  },
})
