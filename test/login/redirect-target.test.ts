import t from 'tap'
import {
  checkRedirectTarget,
  MAX_REDIRECT_URI_LENGTH,
  parseRedirectAllowlist,
  type RedirectTarget,
  withTokenParameters,
} from '../../src/login/redirect-target.js'

const allowlist = parseRedirectAllowlist([
  'https://app.example.com/done',
  'https://app.example.com/cb/*',
  'https://tools.example.org/*',
  'http://intranet.example.net:8080/login?from=registry',
])
const none = parseRedirectAllowlist([])

type Row = [raw: string, expected: RedirectTarget | RegExp]

const loopback = (url: string): RedirectTarget => ({ kind: 'loopback', url })
const allowlisted = (url: string): RedirectTarget => ({ kind: 'allowlisted', url })

const accepted: Row[] = [
  // Loopback, each spelling with and without path and query (RFC 8252 7.3).
  ['http://127.0.0.1:8085', loopback('http://127.0.0.1:8085/')],
  ['http://127.0.0.1:8085/', loopback('http://127.0.0.1:8085/')],
  ['http://127.0.0.1:8085/callback', loopback('http://127.0.0.1:8085/callback')],
  ['http://127.0.0.1:8085?x=1', loopback('http://127.0.0.1:8085/?x=1')],
  ['http://127.0.0.1:8085/cb?x=1&y=2', loopback('http://127.0.0.1:8085/cb?x=1&y=2')],
  ['http://[::1]:8085', loopback('http://[::1]:8085/')],
  ['http://[::1]:8085/callback', loopback('http://[::1]:8085/callback')],
  ['http://[::1]:8085?x=1', loopback('http://[::1]:8085/?x=1')],
  ['http://localhost:8085', loopback('http://localhost:8085/')],
  ['http://localhost:8085/callback', loopback('http://localhost:8085/callback')],
  ['http://localhost:8085?x=1', loopback('http://localhost:8085/?x=1')],
  ['http://localhost:8085/a/b.c/d-e_f~g/', loopback('http://localhost:8085/a/b.c/d-e_f~g/')],
  ['http://127.0.0.1:1/', loopback('http://127.0.0.1:1/')],
  ['http://127.0.0.1:65535/', loopback('http://127.0.0.1:65535/')],
  ['http://127.0.0.1:80/cb', loopback('http://127.0.0.1/cb')],
  // Query content is not a way out: encoded slashes and dots are fine there.
  [
    'http://127.0.0.1:8085/cb?next=%2F..%2Fx&a=..',
    loopback('http://127.0.0.1:8085/cb?next=%2F..%2Fx&a=..'),
  ],
  ['http://127.0.0.1:8085/cb?q=a%20b', loopback('http://127.0.0.1:8085/cb?q=a%20b')],
  // The allow-list: exact and prefix.
  ['https://app.example.com/done', allowlisted('https://app.example.com/done')],
  ['https://app.example.com/cb/', allowlisted('https://app.example.com/cb/')],
  [
    'https://app.example.com/cb/registry?tab=tokens',
    allowlisted('https://app.example.com/cb/registry?tab=tokens'),
  ],
  [
    'https://app.example.com/cb/@evil.example',
    allowlisted('https://app.example.com/cb/@evil.example'),
  ],
  ['https://tools.example.org/', allowlisted('https://tools.example.org/')],
  ['https://tools.example.org/any/path?x=1', allowlisted('https://tools.example.org/any/path?x=1')],
  [
    'http://intranet.example.net:8080/login?from=registry',
    allowlisted('http://intranet.example.net:8080/login?from=registry'),
  ],
]

const refused: Row[] = [
  // Empty, long, characters.
  ['', /empty/],
  ['http://127.0.0.1:8085/ cb', /spaces/],
  [' http://127.0.0.1:8085/', /spaces/],
  ['http://127.0.0.1:8085/\t', /control/],
  ['http://127.0.0.1:80\t85/', /control/],
  ['http://127.0.0.1:8085/\r\nSet-Cookie:x=1', /control/],
  ['http://127.0.0.1:8085/\n', /control/],
  ['http://127.0.0.1:8085/\u0000', /control/],
  ['http://127.0.0.1:8085/\u007f', /control/],
  ['http://127.0.0.1:8085/cb?x=%0d%0aSet-Cookie:x=1', /encoded control/],
  ['http://127.0.0.1:8085/cb?x=%0A', /encoded control/],
  ['http://127.0.0.1:8085/cb%00', /encoded control/],
  ['http://127.0.0.1:8085/cb?x=%1f', /encoded control/],
  ['http://127.0.0.1:8085/%5c%5cevil.example', /encoded control character or backslash/],
  ['http://127.0.0.1:8085/cb?x=%5C', /encoded control character or backslash/],
  ['http://127.0.0.1:8085/cb?x=%zz', /invalid percent/],
  ['http://127.0.0.1:8085/cb?x=%', /invalid percent/],
  // Backslashes and fragments.
  ['http://127.0.0.1:8085\\@evil.example/', /backslash/],
  ['http://evil.example\\@127.0.0.1:8085/', /backslash/],
  ['/\\evil.example', /backslash/],
  ['https://app.example.com/cb/\\evil', /backslash/],
  ['http://127.0.0.1:8085/cb#', /fragment/],
  ['http://127.0.0.1:8085/cb#x', /fragment/],
  ['https://app.example.com/done#@evil.example', /fragment/],
  // Schemes and shapes.
  ['javascript:alert(1)', /absolute URL/],
  ['javascript://127.0.0.1:8085/%0aalert(1)', /encoded control/],
  ['data:text/html,<script>alert(1)</script>', /absolute URL/],
  ['file:///etc/passwd', /absolute URL/],
  ['ftp://127.0.0.1:8085/', /absolute URL/],
  ['https:evil.example', /absolute URL/],
  ['http:127.0.0.1:8085', /absolute URL/],
  ['http:/127.0.0.1:8085/', /absolute URL/],
  ['http:///127.0.0.1:8085/', /absolute URL/],
  ['//evil.example', /absolute URL/],
  ['//127.0.0.1:8085/', /absolute URL/],
  ['/callback', /absolute URL/],
  ['HTTP://127.0.0.1:8085/', /absolute URL/],
  ['Http://localhost:8085/', /absolute URL/],
  ['127.0.0.1:8085', /absolute URL/],
  ['http://', /absolute URL/],
  ['http://:8085/', /absolute URL/],
  ['http://[::1:8085/', /invalid port/],
  // Userinfo.
  ['http://127.0.0.1:8085@evil.example/', /user name/],
  ['http://user@127.0.0.1:8085/', /user name/],
  ['http://user:pass@localhost:8085/', /user name/],
  ['http://evil.example@127.0.0.1:8085/', /user name/],
  ['http://127.0.0.1:8085%2f@evil.example/', /user name/],
  ['https://app.example.com@evil.example/done', /user name/],
  ['http://127.0.0.1%2e:8085/', /percent-encoded/],
  ['http://%6cocalhost:8085/', /percent-encoded/],
  // Loopback ports.
  ['http://127.0.0.1/', /explicit port/],
  ['http://127.0.0.1', /explicit port/],
  ['http://localhost/callback', /explicit port/],
  ['http://[::1]/', /explicit port/],
  ['http://127.0.0.1:/', /invalid port/],
  ['http://127.0.0.1:0/', /explicit port/],
  ['http://localhost:0', /explicit port/],
  ['http://127.0.0.1:08085/', /explicit port/],
  ['http://127.0.0.1:00080/', /explicit port/],
  ['http://127.0.0.1:65536/', /invalid port/],
  ['http://127.0.0.1:99999/', /invalid port/],
  ['http://127.0.0.1:123456/', /invalid port/],
  ['http://127.0.0.1:+8085/', /invalid port/],
  ['http://127.0.0.1:8085:9090/', /invalid port/],
  ['http://localhost:8085.evil.example/', /invalid port/],
  // Loopback look-alikes and other spellings.
  ['http://127.0.0.2:8085/', /only loopback addresses/],
  ['http://127.255.255.255:8085/', /only loopback addresses/],
  ['http://0.0.0.0:8085/', /only loopback addresses/],
  ['http://0.1.2.3:8085/', /only loopback addresses/],
  ['http://[::ffff:127.0.0.1]:8085/', /only loopback addresses/],
  ['http://[::ffff:7f00:1]:8085/', /only loopback addresses/],
  ['http://[::FFFF:7f00:1]:8085/', /only loopback addresses/],
  ['http://[::]:8085/', /only loopback addresses/],
  ['http://app.localhost:8085/', /only loopback addresses/],
  ['http://127.1:8085/', /plain IPv4/],
  ['http://127.0.1:8085/', /plain IPv4/],
  ['http://0x7f000001:8085/', /plain IPv4/],
  ['http://0x7f.0.0.1:8085/', /plain IPv4/],
  ['http://0177.0.0.1:8085/', /plain IPv4/],
  ['http://127.000.000.001:8085/', /plain IPv4/],
  ['http://2130706433:8085/', /plain IPv4/],
  ['http://017700000001:8085/', /plain IPv4/],
  ['http://127.0.0.1.:8085/', /end with a dot/],
  ['http://127.0.0.1.:80', /end with a dot/],
  ['http://localhost.:8085/', /end with a dot/],
  ['https://app.example.com./done', /end with a dot/],
  ['http://[0:0:0:0:0:0:0:1]:8085/', /plain form/],
  ['http://[0::1]:8085/', /plain form/],
  ['http://LOCALHOST:8085/', /plain form/],
  ['http://LocalHost:8085/', /plain form/],
  ['http://localhost.evil.com:8085/', /not allowed/],
  ['http://localhost.evil.com/', /not allowed/],
  ['http://127.0.0.1.nip.io:8085/', /not allowed/],
  ['https://127.0.0.1:8085/', /not allowed/],
  ['https://localhost:8085/', /not allowed/],
  ['http://[::2]:8085/', /not allowed/],
  // Unicode and IDN hosts.
  ['http://lоcalhost:8085/', /non-ASCII/],
  ['http://localhost\u3002:8085/', /non-ASCII/],
  ['http://１２７.0.0.1:8085/', /non-ASCII/],
  ['https://аpp.example.com/done', /non-ASCII/],
  ['https://app.example.com/cb/é', /non-ASCII/],
  // Path escapes.
  ['http://127.0.0.1:8085/cb/../x', /segments/],
  ['http://127.0.0.1:8085/..', /segments/],
  ['http://127.0.0.1:8085/./cb', /segments/],
  ['http://127.0.0.1:8085//evil.example', /segments/],
  ['https://app.example.com/cb/../admin', /segments/],
  ['https://app.example.com/cb/..;/admin', /segments/],
  ['https://app.example.com/cb/.;x/admin', /segments/],
  ['https://app.example.com/cb//evil.example/', /segments/],
  ['https://app.example.com/cb/%2e%2e/admin', /encoded slashes/],
  ['https://app.example.com/cb/%2E%2E/admin', /encoded slashes/],
  ['https://app.example.com/cb/.%2e/admin', /encoded slashes/],
  ['https://app.example.com/cb/%2f%2fevil.example', /encoded slashes/],
  ['https://app.example.com/cb/%2F..%2Fadmin', /encoded slashes/],
  ['https://app.example.com/cb/%252e%252e/admin', /encoded slashes/],
  ['http://127.0.0.1:8085/%2e', /encoded slashes/],
  // WHATWG would re-encode these path characters: what we checked would not be where it goes.
  ['http://127.0.0.1:8085/a<b', /plain form/],
  ['http://127.0.0.1:8085/a"b', /plain form/],
  ['http://127.0.0.1:8085/{x}', /plain form/],
  // Not on the allow-list.
  ['https://evil.example/', /not allowed/],
  ['http://app.example.com/done', /not allowed/],
  ['https://app.example.com/done/', /not allowed/],
  ['https://app.example.com/done?x=1', /not allowed/],
  ['https://app.example.com/donex', /not allowed/],
  ['https://app.example.com/cb', /not allowed/],
  ['https://app.example.com/cbx/', /not allowed/],
  ['https://app.example.com:443/cb/x', /not allowed/],
  ['https://app.example.com:8443/cb/x', /not allowed/],
  ['https://app.example.com.evil.example/cb/', /not allowed/],
  ['https://evil.example/https://app.example.com/cb/', /segments/],
  ['https://evil.example/app.example.com/cb/', /not allowed/],
  ['https://evil.example/?https://app.example.com/cb/', /not allowed/],
  ['http://tools.example.org/', /not allowed/],
  ['https://APP.example.com/cb/x', /plain form/],
  ['https://app.example.com:0443/cb/x', /plain form/],
  ['http://intranet.example.net:8080/login?from=registry&x=1', /not allowed/],
  ['https://xn--pp-8cd.example.com/done', /not allowed/],
]

t.test('accepted targets', async (t) => {
  for (const [raw, expected] of accepted) {
    t.same(checkRedirectTarget(raw, allowlist), { ok: true, target: expected }, raw)
  }
})

t.test('refused targets', async (t) => {
  for (const [raw, expected] of refused) {
    const result = checkRedirectTarget(raw, allowlist)
    t.equal(result.ok, false, JSON.stringify(raw))
    if (!result.ok && expected instanceof RegExp)
      t.match(result.reason, expected, JSON.stringify(raw))
  }
})

t.test('loopback needs no allow-list; everything else does', async (t) => {
  t.equal(checkRedirectTarget('http://127.0.0.1:8085/cb', none).ok, true)
  t.equal(checkRedirectTarget('https://app.example.com/done', none).ok, false)
})

t.test('length limit', async (t) => {
  const base = 'http://127.0.0.1:8085/'
  const longest = base + 'a'.repeat(MAX_REDIRECT_URI_LENGTH - base.length)
  t.equal(longest.length, 2048)
  t.equal(checkRedirectTarget(longest, none).ok, true, '2048 characters')
  t.match(checkRedirectTarget(`${longest}a`, none), { ok: false, reason: /longer than 2048/ })
})

t.test('reasons never repeat the input', async (t) => {
  const marker = 'MARKER<script>'
  for (const raw of [
    `http://${marker}:8085/`,
    `https://evil.example/${marker}`,
    `javascript:${marker}`,
  ]) {
    const result = checkRedirectTarget(raw, allowlist)
    t.equal(result.ok, false)
    t.notMatch(JSON.stringify(result), 'MARKER', raw)
  }
})

t.test('parseRedirectAllowlist', async (t) => {
  t.same(parseRedirectAllowlist([]), { exact: new Set(), prefixes: [] })
  const parsed = parseRedirectAllowlist([
    ' https://a.example/x ',
    '',
    'https://a.example/x',
    'https://b.example/cb/*',
    'https://b.example/cb/*',
    'http://127.0.0.1:3000/cb',
  ])
  t.same(
    [...parsed.exact],
    ['https://a.example/x', 'http://127.0.0.1:3000/cb'],
    'trimmed, blanks skipped, deduplicated',
  )
  t.same(parsed.prefixes, ['https://b.example/cb/'], 'stored without the star')

  const bad: [entry: string, message: RegExp][] = [
    ['*', /^entry 2 would allow every site/],
    ['https://*.example.com/', /'\*' only as its last character/],
    ['https://a.example/*/x', /'\*' only as its last character/],
    ['https://a.example/**', /'\*' only as its last character/],
    ['app.example.com', /absolute URL/],
    ['/relative/path', /absolute URL/],
    ['ftp://a.example/', /absolute URL/],
    ['javascript:alert(1)', /absolute URL/],
    ['https://user:pw@a.example/', /user name/],
    ['https://a.example/cb#done', /fragment/],
    ['https://a.example/cb#*', /fragment/],
    ['https://a.example/a b', /spaces/],
    ['https://a.example/\\x', /backslash/],
    ['https://a.example/%2e%2e/', /encoded slashes/],
    ['https://a.example/x/../y', /segments/],
    ['https://a.example.', /end with a dot/],
    ['http://127.1:8080/', /plain IPv4/],
    ['http://localhost/cb', /explicit port/],
    ['https://A.example/x', /canonical form; write it as "https:\/\/a.example\/x"/],
    ['https://a.example', /canonical form; write it as "https:\/\/a.example\/"/],
    ['https://a.example*', /canonical form; write it as "https:\/\/a.example\/\*"/],
    ['https://a.example:443/x', /canonical form; write it as "https:\/\/a.example\/x"/],
    ['https://a.example:*', /invalid port/],
  ]
  for (const [entry, message] of bad) {
    t.throws(() => parseRedirectAllowlist(['https://ok.example/', entry]), { message }, entry)
    t.throws(
      () => parseRedirectAllowlist(['', 'https://ok.example/', entry]),
      { message: /^entry 3 / },
      `${entry}: named by its position, blanks counted`,
    )
  }
  const withPassword = 'https://user:s3cret@a.example/'
  t.throws(() => parseRedirectAllowlist([withPassword]), { message: /^entry 1 / })
  try {
    parseRedirectAllowlist([withPassword])
  } catch (error) {
    t.notMatch(String(error), 's3cret', 'a password in a bad entry is never printed')
  }
})

t.test('a hand-built prefix without a path cannot leave its origin', async (t) => {
  const loose = { exact: new Set<string>(), prefixes: ['https://app.example.com'] }
  t.equal(checkRedirectTarget('https://app.example.com/x', loose).ok, true)
  t.equal(checkRedirectTarget('https://app.example.com.evil.example/x', loose).ok, false)
  t.equal(checkRedirectTarget('https://app.example.com:8443/x', loose).ok, false)
  const broken = { exact: new Set<string>(), prefixes: ['not a url'] }
  t.equal(checkRedirectTarget('https://app.example.com/x', broken).ok, false)
})

t.test('withTokenParameters', async (t) => {
  const params = { registry_token: 'eyJ.a-b_c.sig', expires_at: '1750000300', state: 'a b&c=d/é' }
  const encoded = 'registry_token=eyJ.a-b_c.sig&expires_at=1750000300&state=a+b%26c%3Dd%2F%C3%A9'
  const cases: [name: string, target: RedirectTarget, expected: string][] = [
    [
      'loopback without query',
      loopback('http://127.0.0.1:8085/cb'),
      `http://127.0.0.1:8085/cb?${encoded}`,
    ],
    ['loopback root', loopback('http://localhost:8085/'), `http://localhost:8085/?${encoded}`],
    [
      'loopback keeps its query verbatim',
      loopback('http://[::1]:8085/cb?a=1&b=%2F&flag'),
      `http://[::1]:8085/cb?a=1&b=%2F&flag&${encoded}`,
    ],
    [
      'loopback with an empty query',
      loopback('http://127.0.0.1:8085/cb?'),
      `http://127.0.0.1:8085/cb?${encoded}`,
    ],
    [
      'planted parameters are replaced',
      loopback('http://127.0.0.1:8085/cb?state=planted&x=1&registry%5Ftoken=old&expires_at'),
      `http://127.0.0.1:8085/cb?x=1&${encoded}`,
    ],
    [
      'allow-listed: fragment only',
      allowlisted('https://app.example.com/done'),
      `https://app.example.com/done#${encoded}`,
    ],
    [
      'allow-listed query untouched',
      allowlisted('https://app.example.com/cb/x?registry_token=keep'),
      `https://app.example.com/cb/x?registry_token=keep#${encoded}`,
    ],
  ]
  for (const [name, target, expected] of cases) {
    t.equal(withTokenParameters(target, params), expected, name)
  }
  const fragmentOnly = new URL(
    withTokenParameters(allowlisted('https://app.example.com/done'), params),
  )
  t.equal(fragmentOnly.search, '', 'the token never reaches the allow-listed server')
  t.equal(
    new URLSearchParams(fragmentOnly.hash.slice(1)).get('state'),
    params.state,
    'state round-trips',
  )
  const viaQuery = new URL(withTokenParameters(loopback('http://127.0.0.1:8085/cb?x=1'), params))
  t.same(
    Object.fromEntries(viaQuery.searchParams),
    { x: '1', ...params },
    'a loopback client reads every parameter back',
  )
  t.equal(
    withTokenParameters(loopback('http://127.0.0.1:8085/cb?x=1'), {}),
    'http://127.0.0.1:8085/cb?x=1',
  )
  t.equal(
    withTokenParameters(allowlisted('https://app.example.com/done'), {}),
    'https://app.example.com/done',
  )
})

t.test('checked targets round-trip through withTokenParameters', async (t) => {
  for (const [raw] of accepted) {
    const result = checkRedirectTarget(raw, allowlist)
    if (!result.ok) {
      t.fail(raw)
      continue
    }
    const url = new URL(withTokenParameters(result.target, { registry_token: 't' }))
    const original = new URL(raw)
    t.equal(url.origin, original.origin, `${raw}: same origin`)
    t.equal(url.pathname, original.pathname, `${raw}: same path`)
    const where =
      result.target.kind === 'loopback' ? url.searchParams : new URLSearchParams(url.hash.slice(1))
    t.equal(where.get('registry_token'), 't', `${raw}: token where expected`)
  }
})
