// The service's entry point, `node dist/main.js`: what `npm start`, the Docker image and the
// tests that start the built service run. It turns on two things of Node's own before any other
// module loads, then starts the service (service.ts).

import module from 'node:module'

// Node 22.1+ keeps V8's compiled code of every module it loads on disk (in NODE_COMPILE_CACHE, or
// a directory under the system's temp directory) and reuses it at the next start. Node 20 has no
// such function: it compiles as it always did. A cache it cannot write is skipped, silently.
const { enableCompileCache } = module as { enableCompileCache?: () => unknown }
enableCompileCache?.()

// Stack traces name the TypeScript file and line: tsc writes a source map beside each file.
process.setSourceMapsEnabled(true)

// Imported only now: static imports would load (and compile) every module before the lines above.
await import('./service.js')
