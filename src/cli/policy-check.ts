// `policy check`: what a policy file grants to a set of ID-token claims, with no service running.
// Operators run it before deploying a file and in their own CI.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { decodeJwt } from 'jose/jwt/decode'
import { loadPolicyFile, PolicyFileError } from '../registry/policy-file.js'
import { decide, judgeRules, LOGIN_ISSUER, type Policy } from '../registry/rules.js'
import { type CliIo, EXIT, UsageError } from './io.js'
import { printable } from './terminal-text.js'

export const POLICY_HELP = `Usage: mcp-registry-oidc policy check --file <policy> (--claims <file.json> | --token <jwt>)
                                    [--issuer <name>]

Shows what a policy file (MCP_REGISTRY_OIDC_POLICY_FILE) grants to the claims of one ID token:
for every rule whether it matched or the first condition that failed, then the permissions a
registry token would carry and the rules that granted them.

Options:
  --file <path>     the policy file, YAML or JSON
  --claims <path>   a JSON file holding the ID token's claims
  --token <jwt>     an ID token; its claims are decoded, NOT verified (no signature, issuer,
                    audience or expiry check)
  --issuer <name>   whose token it is: "login" (the default, MCP_REGISTRY_OIDC_ISSUER's provider)
                    or the name of an issuer listed in the file
  -h, --help        show this help

MCP_REGISTRY_BLOCKED_NAMESPACES and MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER are read from the
environment, as the service reads them.

Exit status: 0 some permission granted, 1 none, 2 wrong usage or an invalid policy file.
`

/**
 * Claim values come from whoever made the token: before one is printed to a
 * terminal it is made {@link printable} and its length bounded.
 */
export function printableClaim(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  const clean = printable(text)
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function readClaims(path: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new UsageError(`--claims ${path}: ${(error as Error).message}`)
  }
  if (!isObject(parsed)) throw new UsageError(`--claims ${path}: not a JSON object`)
  return parsed
}

function decodeToken(token: string): Record<string, unknown> {
  try {
    return decodeJwt(token.trim()) as Record<string, unknown>
  } catch {
    throw new UsageError('--token is not a JWT whose payload is a JSON object')
  }
}

function loadPolicy(path: string, io: CliIo): Policy {
  try {
    return loadPolicyFile(path, {
      allowHttpIssuer: io.env?.MCP_REGISTRY_OIDC_ALLOW_HTTP_ISSUER === 'true',
    })
  } catch (error) {
    if (error instanceof PolicyFileError) throw new UsageError(`policy file ${error.message}`)
    throw error
  }
}

/** Throws a TypeError (ERR_PARSE_ARGS_*) or {@link UsageError} on wrong usage. */
export async function policy(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string' },
      claims: { type: 'string' },
      token: { type: 'string' },
      issuer: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  })
  if (values.help) {
    io.stdout.write(POLICY_HELP)
    return EXIT.ok
  }
  if (positionals.length !== 1 || positionals[0] !== 'check') {
    throw new UsageError('The only policy command is "policy check".')
  }
  if (values.file === undefined) throw new UsageError('--file is required.')
  if ((values.claims === undefined) === (values.token === undefined)) {
    throw new UsageError('Give either --claims or --token.')
  }

  const loaded = loadPolicy(values.file, io)
  const issuer = values.issuer ?? LOGIN_ISSUER
  const listed = loaded.issuers.find((entry) => entry.name === issuer)
  if (issuer !== LOGIN_ISSUER && listed === undefined) {
    throw new UsageError(`--issuer ${issuer} is neither "login" nor an issuer of the policy file.`)
  }
  const claims =
    values.claims !== undefined ? readClaims(values.claims) : decodeToken(values.token ?? '')
  const blocked = (io.env?.MCP_REGISTRY_BLOCKED_NAMESPACES ?? '')
    .split(',')
    .map((namespace) => namespace.trim())
    .filter((namespace) => namespace !== '')

  const out: string[] = [`Policy file: ${values.file}`, `Issuer: ${issuer}`]
  if (values.token !== undefined) {
    out.push(
      'Claims: decoded from the token, NOT verified (signature, issuer, audience and expiry were not checked)',
    )
    const iss = claims.iss
    if (listed !== undefined && iss !== listed.issuer) {
      out.push(`Note: the token's iss (${printableClaim(iss)}) is not ${listed.issuer}`)
    }
    const other = loaded.issuers.find((entry) => entry.issuer === iss)
    if (values.issuer === undefined && other !== undefined) {
      out.push(
        `Note: the token's iss is issuer "${other.name}" of the file; add --issuer ${other.name}`,
      )
    }
  } else {
    out.push(`Claims: ${values.claims}`)
  }
  if (claims.sub !== undefined) out.push(`Subject: ${printableClaim(claims.sub)}`)

  out.push('', 'Rules:')
  const verdicts = new Map(judgeRules(loaded.rules, issuer, claims).map((v) => [v.rule, v]))
  const width = Math.max(...loaded.rules.map((rule) => rule.name.length))
  for (const rule of loaded.rules) {
    const verdict = verdicts.get(rule.name)
    const outcome =
      verdict === undefined
        ? `skipped (a rule of issuer ${rule.issuer})`
        : verdict.matched
          ? 'matched'
          : `not matched: ${verdict.reason}`
    out.push(`  ${rule.name.padEnd(width)}  ${outcome}`)
  }
  if (blocked.length > 0) out.push('', `Blocked namespaces: ${blocked.join(', ')}`)

  const decision = decide(loaded.rules, issuer, claims, blocked)
  out.push('')
  if (!decision.ok) {
    out.push(`Permissions: none; the service would answer 403 ${decision.error}`)
  } else if (decision.permissions.length === 0) {
    out.push('Permissions: none (a token without permissions)')
  } else {
    out.push('Permissions:')
    for (const { action, resource } of decision.permissions) {
      out.push(`  ${action.padEnd(7)}  ${printableClaim(resource)}`)
    }
    out.push(`Granted by: ${decision.rules.join(', ')}`)
  }
  io.stdout.write(`${out.join('\n')}\n`)
  return decision.ok && decision.permissions.length > 0 ? EXIT.ok : EXIT.failed
}
