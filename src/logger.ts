import type { FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'

/**
 * Pino options: request logs carry the path only (a callback query holds an
 * authorization code), and every header or field that can hold a secret is
 * redacted, whatever the level.
 */
export function loggerOptions(
  level: string,
  stream: DestinationStream | undefined,
): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: {
      paths: [
        'req.headers.cookie',
        'req.headers.authorization',
        'res.headers["set-cookie"]',
        'res.headers.location',
        '*.registry_token',
        '*.oidc_token',
        '*.id_token',
        '*.code',
        '*.device_code',
        '*.user_code',
        '*.client_secret',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; id: string; ip?: string }) {
        const queryStart = request.url.indexOf('?')
        return {
          method: request.method,
          path: queryStart === -1 ? request.url : request.url.slice(0, queryStart),
          remoteAddress: request.ip,
        }
      },
    },
  }
}
