// The development provider's login form: what it shows first, and the ID-token claims a submitted
// form stands for. Any user name signs in; the person picks the claims that policies look at
// (email and its domain, Google's `hd`, `groups`) and, for other claims the deployer's
// MCP_REGISTRY_OIDC_EXTRA_CLAIMS names, a JSON object.

import type { ClaimRequirement, JsonValue } from '../src/registry/policy.js'

/** The form's fields, as text, the way the page shows them. */
export interface LoginValues {
  username: string
  email: string
  emailVerified: boolean
  hd: string
  /** comma-separated */
  groups: string
  /** a JSON object of further claims, or blank */
  otherClaims: string
}

export type LoginOutcome =
  | { ok: true; accountId: string; claims: Record<string, unknown> }
  | { ok: false; problem: string; values: LoginValues }

/** Claims the form sets through its own fields; the JSON box may not set them again. */
const FIELD_CLAIMS = new Set([
  'sub',
  'name',
  'preferred_username',
  'email',
  'email_verified',
  'hd',
  'groups',
])

/** What the form shows when the deployer's policy says nothing about a field. */
export const BASE_VALUES: Readonly<LoginValues> = Object.freeze({
  username: '',
  email: '',
  emailVerified: true,
  hd: 'example.com',
  groups: 'registry-publishers',
  otherClaims: '',
})

const LIMITS = { username: 128, email: 254, hd: 253, group: 128, groups: 50, otherClaims: 4096 }

const hasControlCharacter = (value: string): boolean => /\p{Cc}/u.test(value)

/** One value that satisfies an expected claim value: arrays offer a choice, the first will do. */
function sampleOf(expected: JsonValue): JsonValue {
  if (Array.isArray(expected))
    return expected.length > 0 ? sampleOf(expected[0] as JsonValue) : null
  if (expected !== null && typeof expected === 'object') {
    return Object.fromEntries(
      Object.entries(expected).map(([key, value]) => [key, sampleOf(value)]),
    )
  }
  return expected
}

/**
 * Form values that pass the given claim requirements (the service's policy), so a first sign-in
 * succeeds and the person can then change one value to watch the policy refuse it.
 */
export function valuesForPolicy(requirements: readonly ClaimRequirement[]): LoginValues {
  const values = { ...BASE_VALUES }
  const groups = new Set<string>()
  const other: Record<string, JsonValue> = {}
  for (const requirement of requirements) {
    for (const [claim, expected] of Object.entries(requirement)) {
      const sample = sampleOf(expected)
      if (claim === 'hd' && typeof sample === 'string') values.hd = sample
      else if (claim === 'email' && typeof sample === 'string') values.email = sample
      else if (claim === 'email_verified' && typeof sample === 'boolean') {
        values.emailVerified = sample
      } else if (claim === 'groups' && typeof sample === 'string') groups.add(sample)
      else if (!FIELD_CLAIMS.has(claim)) other[claim] = sample
    }
  }
  if (groups.size > 0) values.groups = [...groups].join(', ')
  if (Object.keys(other).length > 0) values.otherClaims = JSON.stringify(other)
  return values
}

/**
 * The top-level claim names a policy looks at (in its requirements, and in the templates of its
 * grants), beyond those the form has fields for.
 */
export function extraClaimNames(
  requirements: readonly ClaimRequirement[],
  templateClaims: readonly string[] = [],
): string[] {
  const names = new Set<string>()
  for (const requirement of requirements) {
    for (const claim of Object.keys(requirement)) if (!FIELD_CLAIMS.has(claim)) names.add(claim)
  }
  for (const claim of templateClaims) if (!FIELD_CLAIMS.has(claim)) names.add(claim)
  return [...names]
}

/** The form fields of a POSTed body; absent fields are blank (an unchecked box is absent). */
export function valuesFromForm(form: URLSearchParams): LoginValues {
  const text = (name: string) => (form.get(name) ?? '').trim()
  return {
    username: text('username'),
    email: text('email'),
    emailVerified: form.get('email_verified') === 'on',
    hd: text('hd'),
    groups: text('groups'),
    otherClaims: text('other_claims'),
  }
}

function otherClaimsOf(
  text: string,
  allowed: ReadonlySet<string>,
): Record<string, unknown> | string {
  if (text === '') return {}
  if (text.length > LIMITS.otherClaims) return 'Other claims are too long.'
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return 'Other claims must be a JSON object, e.g. {"department": "platform"}.'
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return 'Other claims must be a JSON object, e.g. {"department": "platform"}.'
  }
  for (const claim of Object.keys(parsed)) {
    if (FIELD_CLAIMS.has(claim)) return `Set "${claim}" with its own field above.`
    if (!allowed.has(claim)) {
      return allowed.size === 0
        ? `This provider only adds claims that MCP_REGISTRY_OIDC_EXTRA_CLAIMS names; "${claim}" is not one of them.`
        : `"${claim}" is not a claim this provider adds. It adds: ${[...allowed].join(', ')}.`
    }
  }
  return parsed as Record<string, unknown>
}

/**
 * Judges a submitted form. The account id (and `sub`) is the user name as typed; the email
 * defaults to `<user name>@<hd or example.com>`.
 */
export function loginFromForm(values: LoginValues, allowedExtra: readonly string[]): LoginOutcome {
  const refuse = (problem: string): LoginOutcome => ({ ok: false, problem, values })
  const { username, hd } = values
  if (username === '') return refuse('Enter a user name: any name will do.')
  if (username.length > LIMITS.username || hasControlCharacter(username)) {
    return refuse(`A user name is at most ${LIMITS.username} printable characters.`)
  }
  if (hd.length > LIMITS.hd || /\s|@/.test(hd)) return refuse('Enter a domain like example.com.')
  const email =
    values.email !== '' ? values.email : `${username.replace(/\s+/g, '.')}@${hd || 'example.com'}`
  if (
    email.length > LIMITS.email ||
    hasControlCharacter(email) ||
    !/^[^@\s]+@[^@\s]+$/.test(email)
  ) {
    return refuse('Enter an email address like alice@example.com, or leave it blank.')
  }
  const groups = values.groups
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '')
  if (groups.length > LIMITS.groups || groups.some((group) => group.length > LIMITS.group)) {
    return refuse(`At most ${LIMITS.groups} groups of ${LIMITS.group} characters each.`)
  }
  const other = otherClaimsOf(values.otherClaims, new Set(allowedExtra))
  if (typeof other === 'string') return refuse(other)

  const claims: Record<string, unknown> = {
    sub: username,
    name: username,
    preferred_username: username,
    email,
    email_verified: values.emailVerified,
    ...(hd === '' ? {} : { hd }),
    groups,
    ...other,
  }
  return { ok: true, accountId: username, claims }
}
