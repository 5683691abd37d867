// The policy file (MCP_REGISTRY_OIDC_POLICY_FILE): permission rules and the
// issuers besides the login provider whose ID tokens POST /auth/oidc accepts.
//
// Everything is checked once, at start-up: a mistake in the file stops the
// service with one line naming the file, the rule or key, and the problem,
// instead of surfacing as a refused login later. The file is YAML (JSON is
// YAML too), read with the `yaml` package and checked against a JSON Schema
// with Ajv for its shape; what a schema cannot say (unique names, known
// issuers, templates, claim requirements) is checked here after it.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Ajv, type ErrorObject } from 'ajv'
import type * as Yaml from 'yaml'
import { type ClaimRequirement, claimRequirementProblem } from './policy.js'
import {
  type GrantPattern,
  LOGIN_ISSUER,
  type PermissionRule,
  type Policy,
  parseGrantPattern,
  type TrustedIssuer,
} from './rules.js'

/** A mistake in the policy file; the message is one line and names where. */
export class PolicyFileError extends Error {
  override name = 'PolicyFileError'
}

export interface PolicyFileOptions {
  /** MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER: http:// issuers for development. */
  readonly allowHttpIssuer: boolean
  /** MCP_REGISTRY_OIDC_ISSUER as configured: no listed issuer may be the login provider. */
  readonly loginIssuer?: string
}

const NAME = '^[a-z0-9-]+$'

const patternList = { type: 'array', items: { type: 'string' } } as const

/** The file's shape. Names, issuers, `when` and the patterns are judged in code, below. */
const policySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: {
    issuers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'issuer', 'audiences'],
        properties: {
          name: { type: 'string', pattern: NAME },
          issuer: { type: 'string', minLength: 1 },
          audiences: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        },
      },
    },
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'grant'],
        properties: {
          name: { type: 'string', pattern: NAME },
          issuer: { type: 'string' },
          when: {},
          grant: {
            type: 'object',
            additionalProperties: false,
            properties: { publish: patternList, edit: patternList },
          },
        },
      },
    },
  },
} as const

interface RawIssuer {
  name: string
  issuer: string
  audiences: string[]
}

interface RawRule {
  name: string
  issuer?: string
  when?: unknown
  grant: { publish?: string[]; edit?: string[] }
}

interface RawPolicy {
  issuers?: RawIssuer[]
  rules: RawRule[]
}

const typeNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
}

const isName = (value: unknown): value is string =>
  typeof value === 'string' && new RegExp(NAME).test(value)

/** `rule "admins"` when the entry has a usable name, else `rules[2]`. */
function entryLabel(kind: 'rule' | 'issuer', entry: unknown, index: number): string {
  const name = (entry as { name?: unknown } | null)?.name
  return isName(name) ? `${kind} "${name}"` : `${kind}s[${index}]`
}

/** Ajv's first error as `rule "admins", grant.publish: must be a list`. */
function describeSchemaError(error: ErrorObject, data: unknown): string {
  const segments = error.instancePath.split('/').slice(1)
  let where = 'the top level'
  let keys: string[] = segments
  const [list, index] = segments
  if ((list === 'rules' || list === 'issuers') && index !== undefined) {
    const entries = (data as Record<string, unknown[]>)[list] ?? []
    where = entryLabel(list === 'rules' ? 'rule' : 'issuer', entries[Number(index)], Number(index))
    keys = segments.slice(2)
  }
  const keyPath = keys.map((key) => (/^\d+$/.test(key) ? `[${key}]` : `.${key}`)).join('')
  if (keyPath !== '') where += `, ${keyPath.replace(/^\./, '')}`
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where}: unknown key ${JSON.stringify(params.additionalProperty)}`
    case 'required':
      return `${where}: missing key "${String(params.missingProperty)}"`
    case 'type':
      return `${where}: must be ${typeNames[String(params.type)] ?? String(params.type)}`
    case 'pattern':
      return `${where}: must be lowercase letters, digits and "-"`
    case 'minItems':
    case 'minLength':
      return `${where}: must not be empty`
    default:
      return `${where}: ${error.message ?? error.keyword}`
  }
}

function parseIssuerUrl(value: string, allowHttp: boolean): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'is not an absolute URL'
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    return allowHttp
      ? 'must be an http(s) URL'
      : 'must be https; set MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER=true only for development'
  }
  if (url.username || url.password || url.hash || url.search) {
    return 'must not contain credentials, a query or a #fragment'
  }
  return undefined
}

/** Both spellings reach the same discovery document, so the login provider's can't be reused. */
const sameUrl = (a: string, b: string): boolean =>
  URL.canParse(b) && new URL(a).href === new URL(b).href

function checkIssuers(raw: readonly RawIssuer[], options: PolicyFileOptions): TrustedIssuer[] {
  const names = new Set<string>()
  const urls = new Map<string, string>()
  return raw.map((entry) => {
    const label = `issuer "${entry.name}"`
    if (entry.name === LOGIN_ISSUER) {
      throw new PolicyFileError(
        `${label}: the name "${LOGIN_ISSUER}" is reserved for the provider of MCP_REGISTRY_OIDC_ISSUER`,
      )
    }
    if (names.has(entry.name)) throw new PolicyFileError(`${label}: the name is used twice`)
    names.add(entry.name)
    const problem = parseIssuerUrl(entry.issuer, options.allowHttpIssuer)
    if (problem !== undefined) throw new PolicyFileError(`${label}, issuer: ${problem}`)
    // Tokens are routed by their exact `iss`: two entries for one URL would be ambiguous.
    const other = urls.get(entry.issuer)
    if (other !== undefined) {
      throw new PolicyFileError(`${label}, issuer: the same URL as issuer "${other}"`)
    }
    if (options.loginIssuer !== undefined && sameUrl(entry.issuer, options.loginIssuer)) {
      throw new PolicyFileError(
        `${label}, issuer: the same URL as MCP_REGISTRY_OIDC_ISSUER; its tokens are judged by rules with issuer "${LOGIN_ISSUER}"`,
      )
    }
    urls.set(entry.issuer, entry.name)
    return { name: entry.name, issuer: entry.issuer, audiences: [...entry.audiences] }
  })
}

function parsePatterns(label: string, action: string, sources: readonly string[]): GrantPattern[] {
  return sources.map((source, index) => {
    try {
      return parseGrantPattern(source)
    } catch (error) {
      throw new PolicyFileError(`${label}, grant.${action}[${index}]: ${(error as Error).message}`)
    }
  })
}

function checkWhen(label: string, when: unknown): ClaimRequirement[] {
  if (when === undefined) return []
  const list = Array.isArray(when) ? when : [when]
  return list.map((requirement: unknown, index) => {
    const where = Array.isArray(when) ? `when[${index}]` : 'when'
    if (typeof requirement !== 'object' || requirement === null || Array.isArray(requirement)) {
      throw new PolicyFileError(`${label}, ${where} is not a mapping`)
    }
    const problem = claimRequirementProblem(requirement)
    if (problem !== undefined) throw new PolicyFileError(`${label}, ${where}${problem}`)
    return requirement as ClaimRequirement
  })
}

function checkRules(raw: readonly RawRule[], issuers: readonly TrustedIssuer[]): PermissionRule[] {
  const names = new Set<string>()
  const issuerNames = new Set([LOGIN_ISSUER, ...issuers.map((issuer) => issuer.name)])
  return raw.map((entry) => {
    const label = `rule "${entry.name}"`
    if (names.has(entry.name)) throw new PolicyFileError(`${label}: the name is used twice`)
    names.add(entry.name)
    const issuer = entry.issuer ?? LOGIN_ISSUER
    if (!issuerNames.has(issuer)) {
      throw new PolicyFileError(
        `${label}, issuer: ${JSON.stringify(issuer)} is neither "${LOGIN_ISSUER}" nor an issuer listed under issuers`,
      )
    }
    const when = checkWhen(label, entry.when)
    const conditions = when.reduce(
      (count, requirement) => count + Object.keys(requirement).length,
      0,
    )
    if (issuer !== LOGIN_ISSUER && conditions === 0) {
      throw new PolicyFileError(
        `${label}: a rule of issuer "${issuer}" needs at least one condition under when, since that issuer signs tokens for anyone's pipelines`,
      )
    }
    const publish = parsePatterns(label, 'publish', entry.grant.publish ?? [])
    const edit = parsePatterns(label, 'edit', entry.grant.edit ?? [])
    if (publish.length + edit.length === 0) {
      throw new PolicyFileError(
        `${label}, grant: grants nothing; list patterns under publish or edit`,
      )
    }
    return { name: entry.name, issuer, when, publish, edit }
  })
}

// `yaml` is some 70 modules, a seventh of all that start-up would load otherwise, and only a
// policy file needs it: it is loaded when one is read. require keeps that synchronous, so the
// configuration stays one plain function; under Node the package is CommonJS either way.
const requireFromHere = createRequire(import.meta.url)

function parseText(text: string): unknown {
  const { parse, YAMLParseError } = requireFromHere('yaml') as typeof Yaml
  try {
    return parse(text, { uniqueKeys: true, prettyErrors: true })
  } catch (error) {
    if (error instanceof YAMLParseError) {
      if (error.code === 'MULTIPLE_DOCS')
        throw new PolicyFileError('holds more than one YAML document')
      // The first line says what and where ("… at line 3, column 5:"); the rest quotes the file.
      const [summary = error.code] = error.message.split('\n')
      throw new PolicyFileError(`is not valid YAML or JSON: ${summary.replace(/:$/, '')}`)
    }
    throw new PolicyFileError(`is not valid YAML or JSON: ${(error as Error).message}`)
  }
}

/** Parses and checks the text of a policy file; throws {@link PolicyFileError}. */
export function parsePolicy(text: string, options: PolicyFileOptions): Policy {
  const data = parseText(text)
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new PolicyFileError('must be a mapping with a list of rules (and optionally issuers)')
  }
  const validate = new Ajv({ allErrors: false }).compile<RawPolicy>(policySchema)
  if (!validate(data)) {
    const [first] = validate.errors ?? []
    throw new PolicyFileError(first ? describeSchemaError(first, data) : 'has an invalid shape')
  }
  const issuers = checkIssuers(data.issuers ?? [], options)
  return { rules: checkRules(data.rules, issuers), issuers }
}

/** Reads and checks a policy file; the error message starts with the path. */
export function loadPolicyFile(path: string, options: PolicyFileOptions): Policy {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const problem =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${code ?? 'unknown error'})`
    throw new PolicyFileError(`${path}: ${problem}`)
  }
  try {
    return parsePolicy(text, options)
  } catch (error) {
    if (error instanceof PolicyFileError) throw new PolicyFileError(`${path}: ${error.message}`)
    throw error
  }
}

/** Issuers of the file that no rule names: their tokens would all be refused. */
export function issuersWithoutRules(policy: Policy): string[] {
  return policy.issuers
    .filter((issuer) => !policy.rules.some((rule) => rule.issuer === issuer.name))
    .map((issuer) => issuer.name)
}
