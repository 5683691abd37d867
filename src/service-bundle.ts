import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { constants, Script } from 'node:vm'

/** The service (main.ts and everything it imports) bundled into one CommonJS file by the build. */
export const bundleFileName = 'service.cjs'
/** V8's compiled code for that file, written by the build (code-cache.ts). */
export const cacheFileName = 'service.cache'

/**
 * V8 checks a code cache against its own version, its flags and the length
 * of the source, not its content: the cache file starts with a SHA-256 of
 * the bundle, and one made for other bytes is never handed to V8.
 */
const hashBytes = 32

export interface ServiceBundle {
  /** Whether V8 took the code cache; false without one, or for another Node.js version or other V8 flags. */
  readonly cacheUsed: boolean
  /** Runs the bundle as Node.js runs a CommonJS module; returns its exports. */
  run(): unknown
  /** The code cache for what has been compiled so far, in the format {@link loadServiceBundle} reads. */
  codeCache(): Buffer
}

function readCache(path: string): Buffer | undefined {
  try {
    return readFileSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Compiles the bundle in `dir` with its code cache, when there is one made
 * for these bytes: V8 then neither parses the bundle nor compiles the
 * functions that start-up runs, which the cache holds already.
 */
export function loadServiceBundle(dir: string, { useCache = true } = {}): ServiceBundle {
  const filename = join(dir, bundleFileName)
  const bytes = readFileSync(filename)
  const hash = createHash('sha256').update(bytes).digest()
  const cache = useCache ? readCache(join(dir, cacheFileName)) : undefined
  const cachedData =
    cache && cache.length > hashBytes && hash.equals(cache.subarray(0, hashBytes))
      ? cache.subarray(hashBytes)
      : undefined
  // Node.js's own CommonJS wrapper, so the bundle sees what a module sees.
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${bytes.toString('utf8')}\n})`,
    {
      filename,
      ...(cachedData ? { cachedData } : {}),
      importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    },
  )
  return {
    cacheUsed: cachedData !== undefined && script.cachedDataRejected === false,
    run() {
      const module = { exports: {} }
      const wrapper = script.runInThisContext() as (...parameters: unknown[]) => void
      wrapper.call(module.exports, module.exports, createRequire(filename), module, filename, dir)
      return module.exports
    },
    codeCache: () => Buffer.concat([hash, script.createCachedData()]),
  }
}
