// The documentation stands on its own: the README stays a short front door, every relative link in
// README.md and docs/ leads to a file (and heading) of this repository, no link leaves it, and every
// variable the service reads is documented in docs/configuration.md.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { envSchema } from '../src/config/config.js'

const root = fileURLToPath(new URL('..', import.meta.url))

function markdownFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name)
    if (statSync(path).isDirectory()) return markdownFiles(path)
    return name.endsWith('.md') ? [path] : []
  })
}

const documents = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))]
const read = (path: string) => readFileSync(path, 'utf8')
const name = (path: string) => relative(root, path)

/** The text outside fenced code blocks, inline code spans and HTML comments: what renders as prose. */
function prose(markdown: string): string {
  return markdown
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '')
    .replace(/`(?:[^`\n]|\n(?!\n))*`/g, '')
}

/** Inline links and images, `[text](target)`, and reference definitions, `[label]: target`. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown)
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)]
  const references = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)]
  return [...inline, ...references].map((match) => match[1] as string)
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-')
}

function anchors(path: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  const withoutCode = read(path).replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '')
  for (const match of withoutCode.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(match[1] as string)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

t.test('the README is a front door of at most 250 lines', async (t) => {
  const readme = read(join(root, 'README.md'))
  const lines = readme.endsWith('\n') ? readme.split('\n').length - 1 : readme.split('\n').length
  t.ok(lines <= 250, `README.md has ${lines} lines`)
  // CI runs the README's test command; the quick start is the other command it promises.
  t.match(readme, /```sh\nnpm test\n```/, 'shows `npm test` in a code block of its own')
  t.match(readme, /```sh\nnpm ci && npm run demo\n```/, 'shows `npm ci && npm run demo`')
})

t.test('no document refers outside the repository', async (t) => {
  for (const path of documents) {
    const text = read(path)
    t.notMatch(text, /\.\.\/shared|SPEC\.md/, `${name(path)} does not refer to the shared SPEC`)
    for (const target of linkTargets(text)) {
      t.notMatch(target, /^[a-z][a-z0-9+.-]*:/i, `${name(path)}: ${target} is not an outside link`)
    }
    const bare = prose(text).match(/<?\bhttps?:\/\/[^\s)>]+/g) ?? []
    t.same(bare, [], `${name(path)} has no bare URL outside code (it would render as a link)`)
  }
})

t.test('every relative link leads to a file, and every anchor to a heading', async (t) => {
  for (const path of documents) {
    for (const target of linkTargets(read(path))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
      const [file = '', anchor] = target.split('#')
      const destination = file === '' ? path : resolve(dirname(path), decodeURI(file))
      const where = `${name(path)} → ${target}`
      t.ok(destination.startsWith(root), `${where} stays inside the repository`)
      t.ok(existsSync(destination), `${where} exists`)
      if (anchor !== undefined && destination.endsWith('.md') && existsSync(destination)) {
        t.ok(anchors(destination).has(anchor), `${where}: the heading exists`)
      }
    }
  }
})

t.test('docs/configuration.md documents every variable the service reads', async (t) => {
  const configuration = read(join(root, 'docs', 'configuration.md'))
  // Read outside the environment schema: by the HTTP client, or not built yet.
  const others = [
    'HTTPS_PROXY',
    'HTTP_PROXY',
    'NO_PROXY',
    'MCP_REGISTRY_OIDC_POLICY_FILE',
    'MCP_REGISTRY_OIDC_REDIS_URL',
  ]
  for (const variable of [...Object.keys(envSchema.properties), ...others]) {
    t.ok(configuration.includes(`\`${variable}\``), `${variable} is documented`)
  }
})
