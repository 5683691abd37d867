// The html`` tag: what it escapes, what it refuses, and, for any string, that interpolating it
// never breaks out of the text or attribute it was put into. The break-out properties are judged
// by Chromium's own HTML parser, not by a regular expression.

import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import {
  type Html,
  type HtmlValue,
  html,
  rawText,
  type SafeUrl,
  safeUrl,
} from '../../src/pages/html-template.js'
import { chromiumMissing, launchChromium } from '../helpers/chromium.js'

/** Strings made to hurt HTML: markup pieces, quotes, entities, as well as arbitrary text. */
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(
      '<',
      '>',
      '"',
      "'",
      '`',
      '&',
      '=',
      '/',
      ' ',
      '\n',
      '\t',
      'a',
      '<script>',
      '</textarea>',
      '</p>',
      '<!--',
      '-->',
      '&amp;',
      '&#39;',
      '&lt',
      ' onerror=',
      'x"',
      "'y",
      '<![CDATA[',
      '\u0000',
    ),
    maxLength: 20,
  }),
)

const text = (value: HtmlValue) => html`${value}`.toString()

/** A URL that safeUrl() accepts (the test fails if it does not). */
function checked(url: string): SafeUrl {
  const result = safeUrl(url)
  if (result === undefined) throw new Error(`safeUrl refused ${url}`)
  return result
}

t.test('values are escaped for text and for attributes in either quote', async (t) => {
  const cases: Array<[HtmlValue, string]> = [
    ['plain', 'plain'],
    [`<b>"it's"</b> & \`x\``, '&lt;b&gt;&quot;it&#39;s&quot;&lt;/b&gt; &amp; &#96;x&#96;'],
    ['&amp;', '&amp;amp;'],
    [42, '42'],
    [['<a>', html`<b>`, 7], '&lt;a&gt;<b>7'],
    [[], ''],
    [html`<i>${'<'}</i>`, '<i>&lt;</i>'],
  ]
  for (const [value, expected] of cases) {
    t.equal(text(value), expected, JSON.stringify(String(value)))
  }
  t.equal(
    html`<p title="${'"x"'}" class='${"'y'"}'>${'a = b'}</p>`.toString(),
    `<p title="&quot;x&quot;" class='&#39;y&#39;'>a = b</p>`,
  )
  t.equal(html`<p>a = ${'b'}</p>`.toString(), '<p>a = b</p>', 'an = in text is just text')
})

t.test('markup made by html nests without being escaped again', async (t) => {
  const inner = html`<i>${'&'}</i>`
  t.equal(html`<b>${inner}</b>`.toString(), '<b><i>&amp;</i></b>')
  t.equal(html`<b>${[inner, inner]}</b>`.toString(), '<b><i>&amp;</i><i>&amp;</i></b>')
  const lookalike = { toString: () => '<script>' } as unknown as Html
  t.throws(() => html`${lookalike}`, TypeError, 'an object that only looks like markup is refused')
})

t.test('what escaping cannot make safe is refused when the page renders', async (t) => {
  const refused: Array<[string, () => Html]> = [
    ['an unquoted attribute value', () => html`<p title=${'x'}>`],
    ['an unquoted value after spaces', () => html`<p title = ${'x'}>`],
    ['text where attribute names go', () => html`<input ${'autofocus onfocus=alert(1)'}>`],
    ['a plain string in href', () => html`<a href="${'https://example.com/'}">`],
    ['a plain string in a path in href', () => html`<a href="/start?x=${'y'}">`],
    ['a plain string in action', () => html`<form action='${'/x'}'>`],
    ['a value in an event handler', () => html`<b onclick="${'x'}">`],
    ['markup in an event handler', () => html`<b onmouseover="${html`x`}">`],
    ['a value in style', () => html`<b style="${'color: red'}">`],
    ['markup in an attribute', () => html`<b title="${html`" onclick="x`}">`],
    ['a plain string in href after a quote of the other kind', () => html`<a href="/it's/${'x'}">`],
    ['undefined', () => html`${undefined as unknown as string}`],
    ['null', () => html`${null as unknown as string}`],
    ['a boolean', () => html`${true as unknown as string}`],
    ['an object', () => html`${{} as unknown as string}`],
  ]
  for (const [what, render] of refused) t.throws(render, TypeError, what)

  const allowed: Array<[string, () => Html, string]> = [
    ['markup where attribute names go', () => html`<input ${html`checked`}>`, '<input checked>'],
    ['nothing where attribute names go', () => html`<input${''}>`, '<input>'],
    [
      'a checked URL in href',
      () => html`<a href="${checked('/start?a=1&b=2')}">`,
      '<a href="/start?a=1&amp;b=2">',
    ],
    [
      'a checked URL as text',
      () => html`<p>${checked('https://x.example/')}</p>`,
      '<p>https://x.example/</p>',
    ],
  ]
  for (const [what, render, expected] of allowed) t.equal(render().toString(), expected, what)
})

t.test('safeUrl links http(s) URLs and same-origin paths only', async (t) => {
  const accepted = [
    'https://example.com/a?b=c',
    'http://127.0.0.1:8080/',
    '/v0/auth/oidc/start',
    ' /x ',
  ]
  for (const url of accepted) t.equal(safeUrl(url)?.toString(), url.trim(), url)
  const refused = [
    undefined,
    '',
    '   ',
    'javascript:alert(1)',
    ' JaVaScRiPt:alert(1)',
    'java\tscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:x',
    '//evil.example/',
    '/\\evil.example',
    '\\\\evil.example',
    'https://exa\nmple.com/',
    'relative/path',
    'mailto:a@example.com',
  ]
  for (const url of refused) t.equal(safeUrl(url), undefined, JSON.stringify(url))
})

t.test('property: any accepted URL stays on this origin or is http(s)', async (t) => {
  const urlish = fc.oneof(
    fc.webUrl(),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({
      unit: fc.constantFrom(
        '/',
        '\\',
        ':',
        'javascript',
        'JaVaScRiPt',
        'data',
        'https',
        '//',
        ' ',
        '\t',
        '\n',
        '\u0000',
        'a',
        '.',
        '%',
        '@',
        '#',
        '?',
      ),
      maxLength: 12,
    }),
  )
  fc.assert(
    fc.property(urlish, (url) => {
      const checked = safeUrl(url)
      if (checked === undefined) return true
      const resolved = new URL(checked.toString(), 'https://service.example/page')
      return (
        (resolved.protocol === 'https:' || resolved.protocol === 'http:') &&
        (/^https?:/i.test(checked.toString()) || resolved.origin === 'https://service.example')
      )
    }),
    { numRuns: 2000 },
  )
  t.pass('2000 URLs')
})

t.test('property: escaped text holds no markup character and means the same text', async (t) => {
  const decodeEntities = (escaped: string) =>
    escaped.replace(
      /&(amp|lt|gt|quot|#39|#96);/g,
      (_, name: string) =>
        ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#96': '`' })[name] ?? '',
    )
  fc.assert(
    fc.property(hostileText, (value) => {
      const escaped = text(value)
      return (
        !/[<>"'`]/.test(escaped) &&
        !/&(?!(amp|lt|gt|quot|#39|#96);)/.test(escaped) &&
        decodeEntities(escaped) === value
      )
    }),
    { numRuns: 2000 },
  )
  fc.assert(
    fc.property(hostileText, hostileText, (a, b) => {
      const nested = html`<b>${html`<i>${a}</i>`}${b}</b>`.toString()
      return nested === `<b><i>${text(a)}</i>${text(b)}</b>`
    }),
  )
  t.pass('escaped once, nested without escaping again')
})

t.test('rawText takes only text that cannot end its element', async (t) => {
  t.equal(rawText('style', 'a > b { color: red }').toString(), 'a > b { color: red }')
  for (const bad of ['</style>', '</STYLE', 'x</script >', '<!-- x', '</Script']) {
    t.throws(() => rawText('style', bad), TypeError, bad)
    t.throws(() => rawText('script', bad), TypeError, bad)
  }
})

/**
 * Runs in the browser: what Chromium's parser makes of a document of `<div class="root">`
 * elements, each with its attributes and, per child, its tag, attributes, text and how many
 * elements are inside it.
 */
const DESCRIBE_ROOTS = `(source) => {
  const body = new DOMParser().parseFromString(source, 'text/html').body
  const attributes = (element) => [...element.attributes].map((a) => [a.name, a.value])
  return [...body.children].map((root) => ({
    attributes: attributes(root),
    children: [...root.children].map((child) => ({
      tag: child.tagName.toLowerCase(),
      attributes: attributes(child),
      text: child.textContent,
      elements: child.querySelectorAll('*').length,
    })),
  }))
}`

const missing = chromiumMissing()
t.test(
  "property: no string breaks out of its text or attribute, by Chromium's parser",
  { skip: missing },
  async (t) => {
    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const page = await browser.context.newPage()
    const parse = (markup: string) =>
      page.evaluate(`(${DESCRIBE_ROOTS})(${JSON.stringify(markup)})`)

    const root = (value: string) =>
      html`<div class="root" title="${value}" data-single='${value}'><p>${value}</p><textarea>x${value}</textarea>${html`<b class="${value}">${value}</b>`}</div>`
    // The parser turns CR and CRLF into LF and NUL into U+FFFD or nothing: not a break-out.
    const parsed = (value: string) => value.replace(/\r\n?/g, '\n')
    const expectedRoot = (value: string) => ({
      attributes: [
        ['class', 'root'],
        ['title', parsed(value)],
        ['data-single', parsed(value)],
      ],
      children: [
        { tag: 'p', attributes: [], text: parsed(value), elements: 0 },
        { tag: 'textarea', attributes: [], text: `x${parsed(value)}`, elements: 0 },
        { tag: 'b', attributes: [['class', parsed(value)]], text: parsed(value), elements: 0 },
      ],
    })
    const withoutNul = hostileText.map((value) => value.replaceAll('\u0000', ''))

    // Twenty strings per document: one round trip to the browser judges them all.
    await fc.assert(
      fc.asyncProperty(fc.array(withoutNul, { minLength: 1, maxLength: 20 }), async (values) =>
        isDeepStrictEqual(
          await parse(html`${values.map(root)}`.toString()),
          values.map(expectedRoot),
        ),
      ),
      { numRuns: 40 },
    )
    t.pass('strings in text, in both attribute quotes, in a textarea and in nested markup')
  },
)
