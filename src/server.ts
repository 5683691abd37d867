// The production entry point, `node dist/server.js`: runs the service as `npm run build` left it,
// main.ts and everything it imports bundled into one file, with the V8 code cache the build made
// for that file. Start-up then reads one file instead of some 300 modules, and V8 neither parses
// it nor compiles the functions that start-up runs (see README, "Performance"). Without a usable
// cache (another Node.js version, other V8 flags) the same code runs, compiled as it goes.

import { fileURLToPath } from 'node:url'
import { loadServiceBundle } from './service-bundle.js'

loadServiceBundle(fileURLToPath(new URL('.', import.meta.url))).run()
