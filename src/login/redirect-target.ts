// Where a browser may be sent with a freshly minted registry token.
//
// A redirect target receives a bearer credential, so this is the service's
// open-redirect boundary. The string the caller sent is judged as written,
// not only as the WHATWG parser normalises it: browsers, CLIs and proxies do
// not all parse URLs alike, and every difference between "what we checked"
// and "where it goes" is a way out. Anything unusual is refused rather than
// repaired. Loopback targets follow RFC 8252 section 7.3.

export type RedirectTarget =
  | { kind: 'loopback'; url: string }
  | { kind: 'allowlisted'; url: string }

export type RedirectCheck = { ok: true; target: RedirectTarget } | { ok: false; reason: string }

/**
 * `prefixes` are the allow-list entries that ended in `*`, stored without it;
 * a target must also keep the prefix's origin.
 */
export interface RedirectAllowlist {
  readonly exact: ReadonlySet<string>
  readonly prefixes: readonly string[]
}

export const MAX_REDIRECT_URI_LENGTH = 2048

/** The only loopback spellings accepted (RFC 8252 7.3), each over plain http with a port. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost'])

const DEFAULT_PORTS: Readonly<Record<Scheme, string>> = { http: '80', https: '443' }

type Scheme = 'http' | 'https'

/** A target split as written: `scheme://authority path query`. */
interface Anatomy {
  readonly scheme: Scheme
  readonly authority: string
  readonly host: string
  readonly port: string | undefined
  readonly path: string
}

type Inspection = { ok: true; anatomy: Anatomy; url: URL } | { ok: false; reason: string }

const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason })

const reasons = {
  empty: 'The redirect_uri is empty.',
  tooLong: `The redirect_uri is longer than ${MAX_REDIRECT_URI_LENGTH} characters.`,
  characters: 'The redirect_uri contains spaces, control characters or non-ASCII characters.',
  backslash: 'The redirect_uri contains a backslash.',
  fragment: 'The redirect_uri must not contain a fragment (#).',
  badEscape: 'The redirect_uri contains an invalid percent-encoding.',
  encodedControl: 'The redirect_uri contains an encoded control character or backslash.',
  shape: 'The redirect_uri must be an absolute URL starting with http:// or https://.',
  userinfo: 'The redirect_uri must not contain a user name or password.',
  encodedHost: 'The redirect_uri host must not be percent-encoded.',
  port: 'The redirect_uri has an invalid port.',
  trailingDot: 'The redirect_uri host must not end with a dot.',
  numericHost: 'The redirect_uri host must be a name or a plain IPv4 address such as 192.0.2.1.',
  lookAlike: 'The only loopback addresses accepted are 127.0.0.1, [::1] and localhost.',
  loopbackPort:
    'A loopback redirect_uri needs an explicit port from 1 to 65535, e.g. http://127.0.0.1:8085/callback.',
  encodedPath:
    'The redirect_uri path must not contain encoded slashes, dots, backslashes or percent signs.',
  dotSegments: 'The redirect_uri path must not contain ".", ".." or empty ("//") segments.',
  notCanonical:
    'The redirect_uri is not written in its plain form (lower-case host, no default or zero-padded port).',
  notAllowed:
    "The redirect_uri is not allowed: use a loopback address such as http://127.0.0.1:PORT/callback or an address on this service's allow-list.",
} as const

// Printable ASCII only: this refuses controls, CR/LF, TAB, space, DEL and
// every non-ASCII character, which covers Unicode (IDN) host spellings.
const OUTSIDE_PRINTABLE_ASCII = /[^\x21-\x7e]/
const MALFORMED_ESCAPE = /%(?![0-9a-f]{2})/i
// %00-%1F, %7F and %5C decode to what the raw checks refuse.
const ENCODED_CONTROL_OR_BACKSLASH = /%(?:[01][0-9a-f]|7f|5c)/i
// Encoded '/', '.', '\' and '%' in a path are read differently by different
// servers (and %2e by WHATWG itself), which is how path-prefix rules are escaped.
const ENCODED_PATH_DELIMITER = /%(?:2f|2e|5c|25)/i
const HTTP_URL = /^(https?):\/\/([^/?]*)([^?]*)/
const DIGITS = /^[0-9]+$/
const LOOPBACK_PORT = /^[1-9][0-9]{0,4}$/
const IPV4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const CANONICAL_IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`)
// WHATWG treats a host whose last label is a number (decimal, octal or hex)
// as an IPv4 address in one of many spellings (127.1, 0x7f000001, 2130706433).
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/i

function characterProblem(raw: string): string | undefined {
  if (raw === '') return reasons.empty
  if (raw.length > MAX_REDIRECT_URI_LENGTH) return reasons.tooLong
  if (OUTSIDE_PRINTABLE_ASCII.test(raw)) return reasons.characters
  if (raw.includes('\\')) return reasons.backslash
  if (raw.includes('#')) return reasons.fragment
  if (MALFORMED_ESCAPE.test(raw)) return reasons.badEscape
  if (ENCODED_CONTROL_OR_BACKSLASH.test(raw)) return reasons.encodedControl
  return undefined
}

// Splits `host[:port]` as written; a bracketed IPv6 host may contain colons.
function splitAuthority(authority: string): { host: string; port: string | undefined } {
  const hostEnd = authority.startsWith('[') ? authority.indexOf(']') + 1 : 0
  const colon = authority.indexOf(':', hostEnd)
  if (colon === -1) return { host: authority, port: undefined }
  return { host: authority.slice(0, colon), port: authority.slice(colon + 1) }
}

function anatomyOf(raw: string): Anatomy | string {
  const match = HTTP_URL.exec(raw)
  if (match === null) return reasons.shape
  const [, scheme, authority = '', path = ''] = match
  if (authority.includes('@')) return reasons.userinfo
  if (authority.includes('%')) return reasons.encodedHost
  const { host, port } = splitAuthority(authority)
  if (host === '') return reasons.shape
  if (port !== undefined && (!DIGITS.test(port) || Number(port) > 65535)) return reasons.port
  return { scheme: scheme as Scheme, authority, host, port, path }
}

function hostProblem(host: string): string | undefined {
  if (host.endsWith('.')) return reasons.trailingDot
  const lower = host.toLowerCase()
  if (lower.startsWith('[')) {
    // IPv4-mapped and unspecified IPv6 addresses reach this machine too.
    return lower === '[::]' || lower.includes('::ffff:') ? reasons.lookAlike : undefined
  }
  if (lower.endsWith('.localhost')) return reasons.lookAlike
  const lastLabel = lower.slice(lower.lastIndexOf('.') + 1)
  if (!NUMERIC_LABEL.test(lastLabel)) return undefined
  if (!CANONICAL_IPV4.test(host)) return reasons.numericHost
  // 127.0.0.0/8 and 0.0.0.0/8 reach this machine under another name.
  const firstOctet = host.slice(0, host.indexOf('.'))
  if ((firstOctet === '127' && host !== '127.0.0.1') || firstOctet === '0') return reasons.lookAlike
  return undefined
}

function pathProblem(path: string): string | undefined {
  if (ENCODED_PATH_DELIMITER.test(path)) return reasons.encodedPath
  if (path.includes('//')) return reasons.dotSegments
  // `..;/` is read as `..` by some servlet containers, hence the `;` split.
  const dotSegment = path
    .split('/')
    .some((segment) => ['.', '..'].includes(segment.split(';')[0] ?? ''))
  return dotSegment ? reasons.dotSegments : undefined
}

// The WHATWG reading must agree with the raw reading on everything that
// decides where the browser goes; only the query may be re-encoded.
function agreesWithParser(anatomy: Anatomy, url: URL): boolean {
  const authorities = [url.host]
  if (url.port === '') authorities.push(`${url.host}:${DEFAULT_PORTS[anatomy.scheme]}`)
  return (
    url.protocol === `${anatomy.scheme}:` &&
    url.username === '' &&
    url.password === '' &&
    authorities.includes(anatomy.authority) &&
    url.pathname === (anatomy.path === '' ? '/' : anatomy.path)
  )
}

const isLoopback = (anatomy: Anatomy): boolean =>
  anatomy.scheme === 'http' && LOOPBACK_HOSTS.has(anatomy.host)

function loopbackPortProblem(port: string | undefined): string | undefined {
  if (port === undefined || !LOOPBACK_PORT.test(port) || Number(port) > 65535) {
    return reasons.loopbackPort
  }
  return undefined
}

// Everything that does not depend on the allow-list; shared by the check of a
// target and the start-up check of allow-list entries.
function inspect(raw: string): Inspection {
  const characters = characterProblem(raw)
  if (characters !== undefined) return refuse(characters)
  const anatomy = anatomyOf(raw)
  if (typeof anatomy === 'string') return refuse(anatomy)
  const problem =
    (isLoopback(anatomy) ? loopbackPortProblem(anatomy.port) : hostProblem(anatomy.host)) ??
    pathProblem(anatomy.path)
  if (problem !== undefined) return refuse(problem)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return refuse(reasons.shape)
  }
  if (!agreesWithParser(anatomy, url)) return refuse(reasons.notCanonical)
  return { ok: true, anatomy, url }
}

const originOf = (url: string): string | undefined =>
  URL.canParse(url) ? new URL(url).origin : undefined

// The origin comparison keeps a prefix without a path (or a hand-built
// allow-list) from letting `https://app.example.com.evil.test/` through.
function allowlisted(raw: string, url: URL, allowlist: RedirectAllowlist): boolean {
  if (allowlist.exact.has(raw)) return true
  return allowlist.prefixes.some(
    (prefix) => raw.startsWith(prefix) && originOf(prefix) === url.origin,
  )
}

/**
 * Decides whether the post-login `redirect_uri` may receive the token. The
 * reason is a sentence for the user (the caller HTML-escapes it); it never
 * repeats the input.
 */
export function checkRedirectTarget(raw: string, allowlist: RedirectAllowlist): RedirectCheck {
  const inspection = inspect(raw)
  if (!inspection.ok) return inspection
  const { anatomy, url } = inspection
  if (isLoopback(anatomy)) return { ok: true, target: { kind: 'loopback', url: url.href } }
  if (allowlisted(raw, url, allowlist)) {
    return { ok: true, target: { kind: 'allowlisted', url: url.href } }
  }
  return refuse(reasons.notAllowed)
}

// An entry that could never match, or that a user would expect to match
// spellings it does not, is a start-up error rather than a silent dead rule.
function allowlistEntryProblem(entry: string): string | undefined {
  const star = entry.indexOf('*')
  if (star !== -1 && star !== entry.length - 1) return "may contain '*' only as its last character"
  const base = star === -1 ? entry : entry.slice(0, -1)
  if (base === '')
    return 'would allow every site; list the URLs (or URL prefixes ending in *) instead'
  const inspection = inspect(base)
  // Entries are compared as strings, so they must be written the way the
  // WHATWG parser writes them or they could never match a checked target.
  let canonical = base
  if (inspection.ok) canonical = inspection.url.href
  else if (inspection.reason === reasons.notCanonical) canonical = new URL(base).href
  if (canonical !== base) {
    return `is not in canonical form; write it as ${JSON.stringify(canonical + entry.slice(base.length))}`
  }
  return inspection.ok ? undefined : `is not a valid redirect target: ${inspection.reason}`
}

/**
 * Parses MCP_REGISTRY_OIDC_REDIRECT_ALLOWLIST entries: absolute http(s) URLs
 * in canonical form, matched exactly, or ending in `*` to allow any target
 * that starts with the rest on the same origin. Blank entries are skipped.
 * Throws an Error naming the first bad entry.
 */
export function parseRedirectAllowlist(entries: readonly string[]): RedirectAllowlist {
  const exact = new Set<string>()
  const prefixes: string[] = []
  for (const [index, raw] of entries.entries()) {
    const entry = raw.trim()
    if (entry === '') continue
    const problem = allowlistEntryProblem(entry)
    // By position, not value: an entry with userinfo may hold a password.
    if (problem !== undefined) throw new Error(`entry ${index + 1} ${problem}`)
    if (entry.endsWith('*')) {
      const prefix = entry.slice(0, -1)
      if (!prefixes.includes(prefix)) prefixes.push(prefix)
    } else {
      exact.add(entry)
    }
  }
  return { exact, prefixes }
}

// Form-decodes a query parameter name as URLSearchParams would, so that
// `registry%5Ftoken` counts as `registry_token`.
function parameterName(pair: string): string {
  const name = pair.split('=', 1)[0] ?? ''
  try {
    return decodeURIComponent(name.replaceAll('+', ' '))
  } catch {
    return name
  }
}

/**
 * The URL to send the browser to. A loopback target gets the parameters in
 * its query, after the caller's own parameters (same-named ones are dropped,
 * so the app cannot read a stale or planted value). Any other target gets them
 * in the fragment, which browsers never send to a server or in a Referer.
 */
export function withTokenParameters(
  target: RedirectTarget,
  params: Readonly<Record<string, string>>,
): string {
  const encoded = new URLSearchParams(params).toString()
  const url = new URL(target.url)
  url.hash = ''
  if (encoded === '') return url.href
  if (target.kind === 'allowlisted') return `${url.href}#${encoded}`
  const names = new Set(Object.keys(params))
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '' && !names.has(parameterName(pair)))
  url.search = [...kept, encoded].join('&')
  return url.href
}
