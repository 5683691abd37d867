// The fixed numbers of a device login (RFC 8628), the same on every replica.

/** `expires_in`: how long the codes of one request are good for. */
export const deviceLoginLifetimeSeconds = 600
/** `interval`: the first wait between two polls; each `slow_down` adds 5 seconds. */
export const pollIntervalSeconds = 5
/** Wrong user codes one address may enter within {@link wrongUserCodeWindowMs} before every code is refused. */
export const maxWrongUserCodes = 10
export const wrongUserCodeWindowMs = 10 * 60 * 1000
/** Live (pending, unexpired) requests one address may hold at once: see docs/security.md. */
export const maxPendingPerAddress = 5
/** Live requests the store holds at once, over all addresses: about 1 KiB each. */
export const maxPendingRequests = 10_000
/** Polls answered invalid_grant (unknown, malformed, spent) one address may make per window. */
export const maxUnknownDeviceCodePolls = 30
export const unknownDeviceCodeWindowMs = 10 * 60 * 1000
