// The pages' stylesheet and script are real files (src/pages/assets/), formatted and linted like
// the code. Each page carries them inline, allowed by their SHA-256 hashes in the
// Content-Security-Policy: one response per page, and no 'self' or 'unsafe-inline' in the policy.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PageAssets {
  /** The stylesheet of every page. */
  readonly style: string
  /** The token page's script: Copy buttons and the expiry countdown. */
  readonly script: string
}

/**
 * Where page.css and page.js are. As an ES module (under the tests' loader, or compiled to
 * dist/pages/ as the CLI runs it) this file sits next to its assets/ folder. Bundled into
 * dist/service.cjs, CommonJS, its import.meta is empty and __dirname is dist/: the build copies
 * them to dist/pages/assets/.
 */
function defaultAssetDirectory(): string {
  const moduleUrl: string | undefined = import.meta.url
  return moduleUrl === undefined
    ? join(__dirname, 'pages', 'assets')
    : fileURLToPath(new URL('assets/', moduleUrl))
}

/** Reads the assets once; a missing file is a broken build and fails the start. */
export function readPageAssets(directory: string = defaultAssetDirectory()): PageAssets {
  const read = (name: string) => readFileSync(join(directory, name), 'utf8')
  return Object.freeze({ style: read('page.css'), script: read('page.js') })
}

/** A CSP source expression that allows exactly this inline text. */
export function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}
