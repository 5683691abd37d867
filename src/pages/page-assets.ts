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
 * Where page.css and page.js are: next to this module, in src/pages/assets/ under the tests'
 * loader, in dist/pages/assets/ (copied there by the build) when compiled.
 */
function defaultAssetDirectory(): string {
  return fileURLToPath(new URL('assets/', import.meta.url))
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
