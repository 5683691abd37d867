// Which Node.js the project runs on: the code and its tests on Node 20.19+ (many machines still have
// it, though it is past its end of life), the Docker image on Node 26, the active LTS line; CI runs
// the suite on both. The types and the compile target follow the floor, so that an API newer than
// Node 20 cannot slip in unnoticed: the type-check refuses it.

import { readFile } from 'node:fs/promises'
import t from 'tap'

const root = new URL('../', import.meta.url)
const read = (path: string) => readFile(new URL(path, root), 'utf8')
const json = async <T>(path: string) => JSON.parse(await read(path)) as T

t.test('the floor: engines, @types/node and the compile target are Node 20', async (t) => {
  const pkg = await json<{ engines: { node: string }; devDependencies: Record<string, string> }>(
    'package.json',
  )
  t.equal(pkg.engines.node, '>=20.19')
  t.match(pkg.devDependencies['@types/node'], /^[~^]20\.19\./, 'types of the floor, not newer')
  const installed = await json<{ version: string }>('node_modules/@types/node/package.json')
  t.match(installed.version, /^20\./, 'the installed @types/node is 20.x')

  const { compilerOptions } = await json<{ compilerOptions: { target: string; lib: string[] } }>(
    'tsconfig.json',
  )
  // Node 20 implements ES2023 completely; ES2024 (e.g. Object.groupBy's types) only in part.
  const year = (name: string) => Number(/^ES(\d{4})/i.exec(name)?.[1])
  t.ok(year(compilerOptions.target) <= 2023, `target ${compilerOptions.target}`)
  for (const lib of compilerOptions.lib) t.ok(year(lib) <= 2023, `lib ${lib}`)
})

t.test('the image runs Node 26; CI runs the suite on the machine and on Node 26', async (t) => {
  t.match(await read('Dockerfile'), /^ARG NODE_VERSION=26$/m)
  const ci = await read('.ci/run')
  t.match(ci, /^run_suite "node-\$\(node --version\)" npm test$/m)
  t.match(ci, /^run_suite node-26 npx -y -p node@26 -c 'node --version && npm test'$/m)
  t.match(ci, /^export CI=true$/m, 'a missing browser or nginx fails the run')
})
