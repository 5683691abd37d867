// An auto-escaping HTML template tag. In html`<p>${value}</p>` every interpolated value is escaped
// unless it is markup that `html` itself made, so a page cannot forget to escape what a caller,
// a provider or a token put into it.
//
// Hand-written rather than a dependency: among the npm packages that do this, ghtml and
// html-template-tag return plain strings and mark raw markup at the place it is inserted
// (`!${…}`, `$${…}`; the latter also inserts arrays unescaped), and escape-html-template-tag,
// which has this model, pulls caniuse-lite into the production dependencies. The tag also refuses,
// when a page renders, what escaping alone cannot make safe: an unquoted attribute value, text
// where attribute names go, and unchecked URLs or any value in URL, style and event attributes.

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
}

/** Escapes text for element content and for quoted attribute values (either quote). */
function escapeText(text: string): string {
  return text.replace(/[&<>"'`]/g, (character) => ESCAPES[character] ?? character)
}

/**
 * Markup that may be inserted as it is: made only by this module. The private field makes the
 * type nominal, so no other object passes for it.
 */
class TrustedHtml {
  readonly #markup: string
  constructor(markup: string) {
    this.#markup = markup
  }
  toString(): string {
    return this.#markup
  }
}
export type Html = TrustedHtml

/** A URL that may go into `href`: checked by {@link safeUrl}. */
class CheckedUrl {
  readonly #url: string
  constructor(url: string) {
    this.#url = url
  }
  toString(): string {
    return this.#url
  }
}
export type SafeUrl = CheckedUrl

/**
 * What a template may interpolate: text and numbers (escaped), markup made by `html`, checked URLs
 * and lists of these. No booleans, null or undefined: a condition is written `ok ? html`…` : ''`.
 */
export type HtmlValue = string | number | Html | SafeUrl | readonly HtmlValue[]

/** Attributes whose value is a URL: only a {@link SafeUrl} goes there. */
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'srcset', 'xlink:href'])

/** Where in the markup an interpolation lands, judged from the template text before it. */
type Context = { kind: 'text' } | { kind: 'tag' } | { kind: 'attribute'; name: string }

/**
 * The open tag at the end of `text` (from its `<`), if the text ends inside one. The template
 * text, never the values, is looked at; a literal `>` inside a quoted attribute would end the tag
 * early, and the value would then merely be escaped as text.
 */
function openTag(text: string): string | undefined {
  const open = text.lastIndexOf('<')
  return open > text.lastIndexOf('>') ? text.slice(open) : undefined
}

function contextOf(tag: string | undefined): Context {
  if (tag === undefined) return { kind: 'text' }
  let quote = ''
  let valueStart = 0
  for (let i = 0; i < tag.length; i++) {
    const character = tag[i]
    if (quote === '') {
      if (character === '"' || character === "'") {
        quote = character
        valueStart = i
      }
    } else if (character === quote) {
      quote = ''
    }
  }
  if (quote === '') {
    if (/=\s*$/.test(tag)) throw new TypeError('html: an attribute value must be quoted')
    return { kind: 'tag' }
  }
  const name = /([^\s"'=<>/]+)\s*=\s*$/.exec(tag.slice(0, valueStart))?.[1]?.toLowerCase() ?? ''
  return { kind: 'attribute', name }
}

function render(value: HtmlValue, context: Context): string {
  if (context.kind === 'tag') {
    // Escaping cannot stop text from adding attributes (`autofocus onfocus=…`); '' adds nothing.
    if (value instanceof TrustedHtml) return value.toString()
    if (value === '') return ''
    throw new TypeError('html: only html`…` markup may go where attribute names go')
  }
  if (context.kind === 'attribute') {
    const { name } = context
    // Markup's quotes would end the attribute: an attribute takes text, numbers or checked URLs.
    if (value instanceof TrustedHtml) throw new TypeError(`html: markup cannot go into ${name}`)
    if (name.startsWith('on') || name === 'style') {
      throw new TypeError(`html: no value may go into the ${name} attribute`)
    }
    if (URL_ATTRIBUTES.has(name) && !(value instanceof CheckedUrl)) {
      throw new TypeError(`html: only a URL checked by safeUrl() goes into ${name}`)
    }
  }
  if (value instanceof TrustedHtml) return value.toString()
  if (value instanceof CheckedUrl) return escapeText(value.toString())
  if (Array.isArray(value)) return value.map((item) => render(item, context)).join('')
  if (typeof value === 'string' || typeof value === 'number') return escapeText(String(value))
  throw new TypeError(`html: cannot interpolate ${value === null ? 'null' : typeof value}`)
}

/** The template tag: escapes every value that is not itself `html` markup. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let markup = strings[0] ?? ''
  let tag = openTag(markup)
  values.forEach((value, index) => {
    const following = strings[index + 1] ?? ''
    markup += render(value, contextOf(tag)) + following
    tag = openTag((tag ?? '') + following)
  })
  return new TrustedHtml(markup)
}

function hasControlOrBackslash(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true
  }
  return false
}

/**
 * The URL, if it may be linked: plain http(s) URLs and same-origin absolute paths. Anything else
 * (javascript:, data:, protocol-relative //host, backslashes and control characters that browsers
 * read as a different URL) is refused.
 */
export function safeUrl(url: string | undefined): SafeUrl | undefined {
  const trimmed = url?.trim()
  if (trimmed === undefined || trimmed === '' || hasControlOrBackslash(trimmed)) return undefined
  if (trimmed.startsWith('/') && !trimmed.startsWith('//')) return new CheckedUrl(trimmed)
  try {
    const { protocol } = new URL(trimmed)
    if (protocol === 'https:' || protocol === 'http:') return new CheckedUrl(trimmed)
  } catch {
    // not a URL
  }
  return undefined
}

/**
 * The content of a `<style>` or `<script>` element, inserted as it is (HTML escapes mean nothing
 * there). Only the service's own stylesheets and script go here; text that could end the element
 * early or switch the parser's state is refused.
 */
export function rawText(element: 'style' | 'script', text: string): Html {
  if (/<\/(?:style|script)|<!--/i.test(text)) {
    throw new TypeError(`html: this text cannot be the content of a <${element}> element`)
  }
  return new TrustedHtml(text)
}
