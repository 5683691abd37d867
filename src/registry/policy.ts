// Who may get a registry token, and with which permissions.
//
// The claim matching is described in docs/http-api.md, "The claim policy". Claim values are
// personal data (e-mail, groups, names) and policy reasons end up in logs, so
// a reason names the failing claim path from the deployer's configuration and
// never a value taken from the ID token.

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue }

/** One object of MCP_REGISTRY_OIDC_EXTRA_CLAIMS: every key must match. */
export type ClaimRequirement = { [claim: string]: JsonValue }

export type PolicyResult = { ok: true } | { ok: false; reason: string }

export type Action = 'publish' | 'edit'

/** Serialised into the registry token as `{"action":…,"resource":…}`, in that order. */
export interface Permission {
  action: Action
  resource: string
}

type Scalar = string | number | boolean | null

const ALLOWED: PolicyResult = { ok: true }

const isScalar = (value: unknown): value is Scalar =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'number' ||
  typeof value === 'boolean'

// Only what JSON.parse can produce counts as an object: a class instance or an
// array must never be walked as if it were a claim set.
const isJsonObject = (value: unknown): value is Readonly<Record<string, unknown>> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

// Reads an own data property only. `claims['__proto__']` or
// `claims['constructor']` would otherwise resolve through the prototype chain
// and "find" a claim the token never carried.
const ownValue = (
  object: Readonly<Record<string, unknown>>,
  key: string,
): { value: unknown } | undefined => {
  if (!Object.hasOwn(object, key)) return undefined
  const descriptor = Object.getOwnPropertyDescriptor(object, key)
  return descriptor !== undefined && 'value' in descriptor ? { value: descriptor.value } : undefined
}

// `===` on scalars already separates JSON types (1 !== '1', true !== 'true',
// null !== 'null'); non-scalars never equal a scalar requirement.
const scalarEquals = (expected: Scalar, actual: unknown): boolean =>
  isScalar(actual) && expected === actual

// A claim that is an array (e.g. `groups`) satisfies a scalar when any element does.
const claimContains = (expected: Scalar, actual: unknown): boolean =>
  Array.isArray(actual)
    ? actual.some((element) => scalarEquals(expected, element))
    : scalarEquals(expected, actual)

const describe = (path: string): string => JSON.stringify(path)

type Mismatch = { path: string; missing: boolean }

// The first claim (as a dotted path) that does not match, or undefined.
function mismatchAt(expected: JsonValue, actual: unknown, path: string): Mismatch | undefined {
  if (Array.isArray(expected)) {
    const anyOf = expected.filter(isScalar)
    return anyOf.some((alternative) => claimContains(alternative, actual))
      ? undefined
      : { path, missing: false }
  }
  if (isScalar(expected)) {
    return claimContains(expected, actual) ? undefined : { path, missing: false }
  }
  // `expected` is tested too because a hand-built requirement may hold
  // undefined or a class instance despite its type.
  if (!isJsonObject(expected) || !isJsonObject(actual)) return { path, missing: false }
  return mismatchInObject(expected as ClaimRequirement, actual, `${path}.`)
}

function mismatchInObject(
  expected: Readonly<ClaimRequirement>,
  actual: Readonly<Record<string, unknown>>,
  prefix: string,
): Mismatch | undefined {
  for (const key of Object.keys(expected)) {
    const path = `${prefix}${key}`
    const found = ownValue(actual, key)
    if (found === undefined) return { path, missing: true }
    const wanted = ownValue(expected, key)?.value as JsonValue
    const mismatch = mismatchAt(wanted, found.value, path)
    if (mismatch !== undefined) return mismatch
  }
  return undefined
}

/**
 * Every requirement object, and every key in it, must match (AND). An empty
 * list allows everyone, as in the registry.
 */
export function matchClaimRequirements(
  requirements: readonly ClaimRequirement[],
  claims: Readonly<Record<string, unknown>>,
): PolicyResult {
  if (!isJsonObject(claims)) return { ok: false, reason: 'the ID token claims are not an object' }
  for (const requirement of requirements) {
    const mismatch = mismatchInObject(requirement, claims, '')
    if (mismatch === undefined) continue
    const problem = mismatch.missing ? 'is missing' : 'does not match'
    return { ok: false, reason: `claim ${describe(mismatch.path)} ${problem}` }
  }
  return ALLOWED
}

// Checked once at start-up so that a requirement which can never match, or
// which matching would have to interpret loosely, is a configuration error
// rather than a silent "nobody may log in".
function requirementProblem(expected: unknown, path: string): string | undefined {
  if (isScalar(expected)) return undefined
  if (Array.isArray(expected)) {
    if (expected.length === 0) {
      return `${describe(path)} lists no accepted values, so nobody could match`
    }
    return expected.every(isScalar)
      ? undefined
      : `${describe(path)} may list only strings, numbers, booleans or null`
  }
  if (!isJsonObject(expected)) return `${describe(path)} is not a JSON value`
  for (const key of Object.keys(expected)) {
    const problem = requirementProblem(ownValue(expected, key)?.value, `${path}.${key}`)
    if (problem !== undefined) return problem
  }
  return undefined
}

/**
 * Parses MCP_REGISTRY_OIDC_EXTRA_CLAIMS. Blank means no requirement. Throws
 * an Error whose message is only the problem: the caller names the variable
 * and the expected shape.
 */
export function parseClaimRequirements(json: string): ClaimRequirement[] {
  if (json.trim() === '') return []
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    throw new Error(`not valid JSON (${detail})`)
  }
  if (!Array.isArray(parsed)) {
    throw new Error('the top level is not a JSON array')
  }
  return parsed.map((element: unknown, index) => {
    const problem = claimRequirementProblem(element)
    if (problem !== undefined) throw new Error(`element ${index}${problem}`)
    return element as ClaimRequirement
  })
}

/**
 * Why a parsed value cannot be a claim requirement (one object of
 * EXTRA_CLAIMS, or of a policy rule's `when`), or undefined when it can. The
 * text continues a phrase naming the requirement: ` is not a JSON object`,
 * `: claim "groups" lists no accepted values, …`.
 */
export function claimRequirementProblem(element: unknown): string | undefined {
  if (!isJsonObject(element)) return ' is not a JSON object'
  for (const key of Object.keys(element)) {
    const problem = requirementProblem(ownValue(element, key)?.value, key)
    if (problem !== undefined) return `: claim ${problem}`
  }
  return undefined
}

/**
 * The claim at a path of names (`["realm_access", "roles"]`), read through
 * own properties of plain objects only, or undefined when there is none.
 */
export function claimAt(
  claims: Readonly<Record<string, unknown>>,
  path: readonly string[],
): { value: unknown } | undefined {
  let found: { value: unknown } | undefined = { value: claims }
  for (const name of path) {
    if (found === undefined || !isJsonObject(found.value)) return undefined
    found = ownValue(found.value, name)
  }
  return found
}

/**
 * The permissions every token gets: publish patterns first, then edit, as
 * the registry builds them. Blank entries are dropped and duplicates kept once.
 */
export function grantedPermissions(
  publish: readonly string[],
  edit: readonly string[],
): Permission[] {
  const granted: Permission[] = []
  const seen = new Set<string>()
  const add = (action: Action, patterns: readonly string[]): void => {
    for (const pattern of patterns) {
      const resource = pattern.trim()
      const key = `${action} ${resource}`
      if (resource === '' || seen.has(key)) continue
      seen.add(key)
      granted.push({ action, resource })
    }
  }
  add('publish', publish)
  add('edit', edit)
  return granted
}

/** The registry's own resource matching: `*` is everything, a trailing `*` a prefix, else exact. */
export function resourcePatternMatches(pattern: string, resource: string): boolean {
  if (pattern === '*') return true
  if (pattern.endsWith('*')) return resource.startsWith(pattern.slice(0, -1))
  return resource === pattern
}

/**
 * The registry refuses to mint a token whose publish patterns reach a blocked
 * namespace (probed as `<namespace>/test`), unless the token holds `*`
 * (administrators). Mirroring that here turns a token the registry would not
 * have issued into a clear 403 instead.
 */
export function blockedNamespaceFor(
  permissions: readonly Permission[],
  blocked: readonly string[],
): string | undefined {
  if (permissions.some((permission) => permission.resource === '*')) return undefined
  return blocked.find(
    (namespace) =>
      namespace !== '' &&
      permissions.some(
        (permission) =>
          permission.action === 'publish' &&
          resourcePatternMatches(permission.resource, `${namespace}/test`),
      ),
  )
}
