import { registryPublicKey } from './registry-key.js'
import { verifyRegistryToken } from './registry-token.js'
import { testSigningSeedHex } from './service.js'

const registryKey = registryPublicKey(testSigningSeedHex)

/** The login rules most policy tests use: administrators, each user's own namespace, a team. */
export const loginRules = `
  - name: admins
    when: {groups: registry-admins}
    grant: {publish: ["*"], edit: ["*"]}
  - name: own-namespace
    when: [{email_verified: true}, {hd: example.com}]
    grant: {publish: ["com.example/{preferred_username}/*"]}
  - name: platform-team
    when: {groups: platform}
    grant:
      publish: ["com.example/platform/*"]
      edit: ["com.example/platform/*"]`

/** A policy file with {@link loginRules}, then the given issuers and further rules (YAML list items). */
export function policyFileText(issuers = '', moreRules = ''): string {
  return `${issuers === '' ? '' : `issuers:\n${issuers}\n`}rules:${loginRules}\n${moreRules}`
}

/** The SPEC's CI example: GitHub Actions as an issuer, and one rule of it. */
export const githubIssuer = `  - name: github-actions
    issuer: https://token.actions.githubusercontent.com
    audiences: [https://registry.example.com]`
export const weatherRelease = `  - name: weather-release
    issuer: github-actions
    when: {repository: example/weather-mcp, repository_owner_id: "8675309", environment: release}
    grant: {publish: ["com.example/weather-mcp"]}`

/** The service's answer to a login or an exchange: the token's permissions, or the error. */
export type Outcome = { status: number; error?: string; permissions?: string[] }

/** Reads an answer carrying a registry token, verified as the registry verifies it. */
export async function outcomeOf(response: Response): Promise<Outcome> {
  const body = (await response.json()) as { registry_token?: string; error?: string }
  if (body.registry_token === undefined) return { status: response.status, error: body.error }
  const claims = await verifyRegistryToken(body.registry_token, registryKey)
  return {
    status: response.status,
    permissions: claims.permissions.map(({ action, resource }) => `${action} ${resource}`),
  }
}

/** POST /v0/auth/oidc with an ID token. */
export async function exchangeOutcome(baseUrl: string, idToken: string): Promise<Outcome> {
  return outcomeOf(
    await fetch(`${baseUrl}/v0/auth/oidc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ oidc_token: idToken }),
    }),
  )
}

/** The test environment's permission variables give way to a policy file. */
export function policyFileEnv(file: string): Record<string, string | undefined> {
  return {
    MCP_REGISTRY_OIDC_POLICY_FILE: file,
    MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: undefined,
    MCP_REGISTRY_OIDC_EDIT_PERMISSIONS: undefined,
  }
}
