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
