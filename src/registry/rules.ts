// Permission rules: which permissions a verified ID token earns.
//
// A rule belongs to one issuer, has claim requirements (`when`, with exactly
// the EXTRA_CLAIMS semantics) and grant patterns that may name claims as
// `{claim}` or `{a.b}`. The policy file's rules and the environment form
// (EXTRA_CLAIMS with the permission variables, which becomes one rule) are
// both judged here, so one engine decides every token.
//
// Reasons end up in logs: they name rules, claim paths and patterns from the
// deployer's configuration, never a value taken from the ID token.

import {
  blockedNamespaceFor,
  type ClaimRequirement,
  claimAt,
  grantedPermissions,
  matchClaimRequirements,
  type Permission,
} from './policy.js'

/** The provider of MCP_REGISTRY_OIDC_ISSUER; the policy file names the others. */
export const LOGIN_ISSUER = 'login'

/** The one rule that EXTRA_CLAIMS and the permission variables become. */
export const ENVIRONMENT_RULE = 'environment'

type PatternPart = { readonly text: string } | { readonly claim: readonly string[] }

export interface GrantPattern {
  /** As the configuration wrote it. */
  readonly source: string
  readonly parts: readonly PatternPart[]
}

export interface PermissionRule {
  /** [a-z0-9-]+, unique. */
  readonly name: string
  /** {@link LOGIN_ISSUER} or the name of an issuer of the policy file. */
  readonly issuer: string
  /** All must match; none: every token of the issuer. */
  readonly when: readonly ClaimRequirement[]
  readonly publish: readonly GrantPattern[]
  readonly edit: readonly GrantPattern[]
}

/** An issuer besides the login provider whose ID tokens POST /auth/oidc accepts. */
export interface TrustedIssuer {
  /** [a-z0-9-]+, unique, never {@link LOGIN_ISSUER}; what rules name. */
  readonly name: string
  /** Matched exactly against a token's `iss`, as written. */
  readonly issuer: string
  readonly audiences: readonly string[]
}

/** Who gets which permissions: the policy file, or the environment form as one rule. */
export interface Policy {
  readonly rules: readonly PermissionRule[]
  readonly issuers: readonly TrustedIssuer[]
}

/**
 * EXTRA_CLAIMS and the permission variables as one rule of the login
 * provider: every token meeting the requirements gets the same patterns,
 * taken literally, as before the policy file existed.
 */
export function environmentPolicy(
  when: readonly ClaimRequirement[],
  publish: readonly string[],
  edit: readonly string[],
): Policy {
  const rule: PermissionRule = {
    name: ENVIRONMENT_RULE,
    issuer: LOGIN_ISSUER,
    when,
    publish: publish.map(literalPattern),
    edit: edit.map(literalPattern),
  }
  return { rules: [rule], issuers: [] }
}

export type RuleVerdict =
  | {
      readonly rule: string
      readonly matched: true
      readonly publish: readonly string[]
      readonly edit: readonly string[]
    }
  | { readonly rule: string; readonly matched: false; readonly reason: string }

export type PolicyDecision =
  | { readonly ok: true; readonly permissions: Permission[]; readonly rules: string[] }
  | {
      readonly ok: false
      readonly error: 'claims_not_allowed' | 'namespace_blocked'
      readonly reason: string
    }

const CLAIM_PATH = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/
// A value fills one name inside a resource: it can add neither a `/`, a `*`,
// a `..`, nor a leading `.` or `-`, so it can never widen what a pattern grants.
const TEMPLATE_VALUE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/

/** A pattern taken as written: the environment form has no templates. */
export function literalPattern(source: string): GrantPattern {
  return { source, parts: [{ text: source }] }
}

/**
 * Parses a grant pattern of the policy file. Throws an Error whose message
 * says what is wrong, to follow "grant.publish[0] ".
 */
export function parseGrantPattern(source: string): GrantPattern {
  if (source.trim() === '') throw new Error('is empty')
  if (/\s/.test(source)) throw new Error('contains whitespace')
  const parts: PatternPart[] = []
  let rest = source
  while (rest !== '') {
    const open = rest.indexOf('{')
    const close = rest.indexOf('}')
    if (close !== -1 && (open === -1 || close < open)) {
      throw new Error('has a "}" without a "{" before it')
    }
    if (open === -1) {
      parts.push({ text: rest })
      break
    }
    if (open > 0) parts.push({ text: rest.slice(0, open) })
    if (close === -1) throw new Error('has an unclosed "{"')
    const path = rest.slice(open + 1, close)
    if (!CLAIM_PATH.test(path)) {
      throw new Error(
        `has a malformed template "{${path}}": write {claim} or {claim.member}, names of letters, digits, "_" and "-"`,
      )
    }
    parts.push({ claim: path.split('.') })
    rest = rest.slice(close + 1)
  }
  if (parts.some((part) => 'text' in part && part.text.includes('..'))) {
    throw new Error('contains ".."')
  }
  return { source, parts }
}

const templateValueRule =
  'must be a string of 1 to 100 letters, digits, ".", "_" or "-", not starting with "." or "-" and without ".."'

type Filled = { ok: true; resource: string } | { ok: false; reason: string }

function fill(pattern: GrantPattern, claims: Readonly<Record<string, unknown>>): Filled {
  let resource = ''
  for (const part of pattern.parts) {
    if ('text' in part) {
      resource += part.text
      continue
    }
    const name = JSON.stringify(part.claim.join('.'))
    const found = claimAt(claims, part.claim)
    if (found === undefined) {
      return { ok: false, reason: `claim ${name} for the grant ${pattern.source} is missing` }
    }
    const value = found.value
    if (typeof value !== 'string' || !TEMPLATE_VALUE.test(value) || value.includes('..')) {
      return {
        ok: false,
        reason: `claim ${name} cannot fill the grant ${pattern.source}: it ${templateValueRule}`,
      }
    }
    resource += value
  }
  // A value ending in "." next to a "." of the pattern would still make "..".
  if (resource.includes('..')) {
    return { ok: false, reason: `the grant ${pattern.source} would contain ".." once filled` }
  }
  return { ok: true, resource }
}

/** Whether a rule applies to these claims, and what it grants them. */
export function judgeRule(
  rule: PermissionRule,
  claims: Readonly<Record<string, unknown>>,
): RuleVerdict {
  const match = matchClaimRequirements(rule.when, claims)
  if (!match.ok) return { rule: rule.name, matched: false, reason: match.reason }
  const granted = { publish: [] as string[], edit: [] as string[] }
  for (const action of ['publish', 'edit'] as const) {
    for (const pattern of rule[action]) {
      const filled = fill(pattern, claims)
      if (!filled.ok) return { rule: rule.name, matched: false, reason: filled.reason }
      granted[action].push(filled.resource)
    }
  }
  return { rule: rule.name, matched: true, ...granted }
}

/** The verdict of every rule of `issuer`, in rule order. */
export function judgeRules(
  rules: readonly PermissionRule[],
  issuer: string,
  claims: Readonly<Record<string, unknown>>,
): RuleVerdict[] {
  return rules.filter((rule) => rule.issuer === issuer).map((rule) => judgeRule(rule, claims))
}

/**
 * The union of what the matching rules grant: publish entries first, then
 * edit, in rule order, each once.
 */
export function unionOfGrants(verdicts: readonly RuleVerdict[]): Permission[] {
  const matched = verdicts.filter((verdict) => verdict.matched)
  return grantedPermissions(
    matched.flatMap((verdict) => verdict.publish),
    matched.flatMap((verdict) => verdict.edit),
  )
}

/**
 * The policy's answer for one verified token of `issuer`: its permissions and
 * the rules that granted them, or why it gets none. A blocked namespace is
 * judged on the filled-in permissions of this token.
 */
export function decide(
  rules: readonly PermissionRule[],
  issuer: string,
  claims: Readonly<Record<string, unknown>>,
  blockedNamespaces: readonly string[],
): PolicyDecision {
  const verdicts = judgeRules(rules, issuer, claims)
  const matched = verdicts.filter((verdict) => verdict.matched).map((verdict) => verdict.rule)
  if (matched.length === 0) {
    const reasons = verdicts.flatMap((verdict) =>
      verdict.matched ? [] : [`rule "${verdict.rule}": ${verdict.reason}`],
    )
    return {
      ok: false,
      error: 'claims_not_allowed',
      reason: reasons.length > 0 ? reasons.join('; ') : `no rule for the issuer "${issuer}"`,
    }
  }
  const permissions = unionOfGrants(verdicts)
  const blocked = blockedNamespaceFor(permissions, blockedNamespaces)
  if (blocked !== undefined) {
    return {
      ok: false,
      error: 'namespace_blocked',
      reason: `publish permissions cover the blocked namespace ${blocked}`,
    }
  }
  return { ok: true, permissions, rules: matched }
}

/**
 * The rules whose fixed publish patterns alone reach a blocked namespace:
 * every token they apply to is refused, unless another rule grants `*`.
 * Worth a warning at start-up; templated patterns are judged per token.
 */
export function rulesReachingBlockedNamespaces(
  rules: readonly PermissionRule[],
  blockedNamespaces: readonly string[],
): Array<{ rule: string; namespace: string }> {
  const found: Array<{ rule: string; namespace: string }> = []
  for (const rule of rules) {
    const fixed = rule.publish
      .filter((pattern) => pattern.parts.every((part) => 'text' in part))
      .map((pattern) => pattern.source)
    const namespace = blockedNamespaceFor(grantedPermissions(fixed, []), blockedNamespaces)
    if (namespace !== undefined) found.push({ rule: rule.name, namespace })
  }
  return found
}
