// How dist/server.js runs the bundled service: as a CommonJS module, with the V8 code cache the
// build wrote for exactly those bytes, and without it whenever it does not fit.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { bundleFileName, cacheFileName, loadServiceBundle } from '../src/service-bundle.js'

interface Exported {
  version: string
  sum: number
  filename: string
  dirname: string
  separator: string
  self: boolean
}

const root = await mkdtemp(join(tmpdir(), 'service-bundle-'))
t.teardown(() => rm(root, { recursive: true }))

const source = (version: string) =>
  `module.exports = { version: '${version}', sum: [1, 2, 3].reduce((a, b) => a + b),
    filename: __filename, dirname: __dirname, separator: require('node:path').sep,
    self: this === exports }`

let directories = 0
/**
 * Loads a bundle from a directory of its own: V8 keeps what it compiled for a file name in this
 * process and would answer from there instead of looking at the cache.
 */
async function load(version: string, cache?: Buffer, useCache = true) {
  const dir = join(root, String(directories++))
  await mkdir(dir)
  await writeFile(join(dir, bundleFileName), source(version))
  if (cache) await writeFile(join(dir, cacheFileName), cache)
  const bundle = loadServiceBundle(dir, { useCache })
  return { dir, bundle, cacheUsed: bundle.cacheUsed, exported: bundle.run() as Exported }
}

t.test('without a cache the bundle runs as a CommonJS module', async (t) => {
  const { dir, cacheUsed, exported } = await load('one')
  t.equal(cacheUsed, false)
  t.same(exported, {
    version: 'one',
    sum: 6,
    filename: join(dir, bundleFileName),
    dirname: dir,
    separator: '/',
    self: true,
  })
})

t.test('the code cache it wrote is used for the same bytes', async (t) => {
  const cache = (await load('one')).bundle.codeCache()
  const { cacheUsed, exported } = await load('one', cache)
  t.equal(cacheUsed, true)
  t.equal(exported.version, 'one')
  t.equal((await load('one', cache, false)).cacheUsed, false, 'unless told to compile afresh')
})

t.test('a cache made for other bytes of the same length is never used', async (t) => {
  const cache = (await load('one')).bundle.codeCache()
  // V8 would take it (it compares lengths only) and run the old compiled code.
  const { cacheUsed, exported } = await load('two', cache)
  t.equal(cacheUsed, false)
  t.equal(exported.version, 'two', 'the bundle on disk runs')
})

t.test('a damaged cache is refused by V8 and the bundle still runs', async (t) => {
  const cache = (await load('one')).bundle.codeCache()
  // The bundle's hash stays, the rest is noise.
  cache.fill(7, 32)
  const { cacheUsed, exported } = await load('one', cache)
  t.equal(cacheUsed, false)
  t.equal(exported.version, 'one')
})
