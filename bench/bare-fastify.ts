// The framework ceiling: one Fastify route that does nothing, in its own process, without logging.
// Usage: node bare-fastify.js <port>

import Fastify from 'fastify'

const port = Number(process.argv[2])
const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))
await app.listen({ port, host: '127.0.0.1' })
process.stdout.write('ready\n')
