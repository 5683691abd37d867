// Headless Chromium (Debian's package, never a downloaded one) driven by playwright-core, for the
// tests that need a real browser: CSP, clipboard, form posts and redirects as a person's browser
// does them.

import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Screenshots land here (under tap's own, git-ignored output folder). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../.tap/screenshots/', import.meta.url))

/** Why browser tests cannot run on this machine, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined
  return `no Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`
}

export interface TestChromium {
  readonly context: BrowserContext
  close(): Promise<void>
}

// Recorded in every page before its own content runs; CDP-injected, so the page's CSP does not
// apply to it, and it sees every violation of that CSP.
const RECORD_CSP_VIOLATIONS = `
window.__cspViolations = []
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline'))
})
`

/** A fresh browser with its own profile directory, which `close` removes. */
export async function launchChromium(): Promise<TestChromium> {
  const missing = chromiumMissing()
  if (missing !== undefined) throw new Error(missing)
  const profile = await mkdtemp(join(tmpdir(), 'mcp-oidc-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    viewport: { width: 1000, height: 800 },
  })
  await context.addInitScript({ content: RECORD_CSP_VIOLATIONS })
  return {
    context,
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

export interface WatchedPage {
  readonly page: Page
  /** Console errors, uncaught exceptions and CSP violations of the document shown now. */
  problems(): Promise<string[]>
}

// How Chrome reports, on the console, a document that arrived with an error status.
const DOCUMENT_STATUS = /^Failed to load resource: the server responded with a status of (\d{3})\b/

/**
 * Opens a tab that remembers every console error and page error. An error page's own status
 * (the SPEC's 400, 401, 403…) is not an error of the page: Chrome's console line about the status
 * of a top-level document is left out when it names the status that document really had.
 */
export async function watchedPage(browser: TestChromium): Promise<WatchedPage> {
  const page = await browser.context.newPage()
  const documentStatus = new Map<string, number>()
  const errors: Array<{ text: string; url: string }> = []
  page.on('response', (response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) {
      documentStatus.set(response.url(), response.status())
    }
  })
  page.on('console', (message) => {
    if (message.type() === 'error')
      errors.push({ text: message.text(), url: message.location().url })
  })
  page.on('pageerror', (error) => errors.push({ text: `exception: ${error.message}`, url: '' }))
  const isDocumentStatus = ({ text, url }: { text: string; url: string }) =>
    Number(DOCUMENT_STATUS.exec(text)?.[1]) === documentStatus.get(url)
  return {
    page,
    async problems() {
      const violations = (await page.evaluate('window.__cspViolations ?? []')) as string[]
      return [
        ...errors.filter((error) => !isDocumentStatus(error)).map(({ text }) => `console: ${text}`),
        ...violations.map((violation) => `csp: ${violation}`),
      ]
    },
  }
}

/** Saves a full-page screenshot as `<SCREENSHOT_DIR>/<name>.png` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
