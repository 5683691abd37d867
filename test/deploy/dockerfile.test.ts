// The Dockerfiles without Docker: linted with dockerfile-utils (the VS Code Docker extension's
// linter), parsed with dockerfile-ast, and checked for what the production image must be. The
// HEALTHCHECK command is run for real against the service.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { DockerfileParser, type Instruction } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'
import t from 'tap'
import { startService } from '../helpers/service.js'
import { freePort } from '../helpers/test-provider.js'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFile(new URL(path, root), 'utf8')

/** The instructions of each build stage, by stage name ('' for an unnamed one). */
async function stages(
  path: string,
): Promise<Array<{ name: string; from: string; steps: Instruction[] }>> {
  const dockerfile = DockerfileParser.parse(await read(path))
  const result: Array<{ name: string; from: string; steps: Instruction[] }> = []
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const [image, , name] = instruction.getArguments().map((argument) => argument.getValue())
      result.push({ name: name ?? '', from: image ?? '', steps: [] })
    } else {
      result.at(-1)?.steps.push(instruction)
    }
  }
  return result
}

const line = (step: Instruction) => `${step.getKeyword()} ${step.getArgumentsContent() ?? ''}`
const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL/i

t.test('both Dockerfiles pass the linter', async (t) => {
  for (const path of ['Dockerfile', 'dev/Dockerfile']) {
    t.same(validate(await read(path)), [], path)
  }
  t.not(validate('FROM node:24\nEXPOSE eighty\n').length, 0, 'the linter does find problems')
})

t.test(
  'the production image: Node LTS, production dependencies, non-root, health check',
  async (t) => {
    const text = await read('Dockerfile')
    const nodeVersion = Number(/^ARG NODE_VERSION=(\d+)$/m.exec(text)?.[1])
    t.equal(nodeVersion, 26, 'Node 26, the active LTS line')
    const all = await stages('Dockerfile')
    t.same(
      all.map((stage) => stage.name),
      ['build', 'deps', ''],
    )
    for (const stage of all) t.equal(stage.from, `node:\${NODE_VERSION}-bookworm-slim`)
    const [build, deps, runtime] = all as [(typeof all)[0], (typeof all)[0], (typeof all)[0]]
    t.same(
      build.steps.filter((step) => step.getKeyword() === 'COPY').map(line),
      [
        'COPY package.json package-lock.json ./',
        'COPY tsconfig.json tsconfig.build.json ./',
        'COPY src ./src',
      ],
      'the build compiles src/ only (never dev/)',
    )
    t.ok(build.steps.some((step) => line(step) === 'RUN npm run build'))
    t.ok(
      deps.steps.some((step) => /^RUN npm ci --omit=dev /.test(line(step))),
      'production deps only',
    )

    const runtimeLines = runtime.steps.map(line)
    t.same(
      runtime.steps
        .filter((step) => step.getKeyword() === 'COPY')
        .map((step) => step.getTextContent()),
      [
        'COPY package.json ./',
        'COPY --from=deps /app/node_modules ./node_modules',
        'COPY --from=build /app/dist ./dist',
      ],
      'the runtime gets package.json, production node_modules and dist, nothing else',
    )
    t.ok(runtimeLines.includes('USER node'), 'runs as the unprivileged node user')
    t.ok(runtimeLines.includes('EXPOSE 8080'))
    t.ok(
      runtimeLines.includes('CMD ["node", "dist/main.js"]'),
      'node is PID 1 and gets the signals',
    )
    const { scripts } = JSON.parse(await read('package.json')) as {
      scripts: Record<string, string>
    }
    t.equal(scripts.start, 'node dist/main.js', 'the image runs what `npm start` runs')
    t.ok(runtimeLines.includes('ENV NODE_ENV=production'))
    t.notOk(
      runtimeLines.some((entry) => /curl|wget/.test(entry)),
      'no HTTP client needed in the image',
    )
    for (const stage of all) {
      for (const step of stage.steps) {
        if (['ENV', 'ARG', 'LABEL'].includes(step.getKeyword())) {
          t.notMatch(line(step), SECRET_NAME, `no secret baked in: ${line(step)}`)
        }
      }
    }
    const tsconfig = JSON.parse(await read('tsconfig.build.json')) as { include: string[] }
    t.same(tsconfig.include, ['src'], 'dist/ holds the service and CLI, never dev/')
  },
)

t.test('the HEALTHCHECK command answers 0 while the service runs, 1 otherwise', async (t) => {
  const healthcheck = (await stages('Dockerfile'))
    .at(-1)
    ?.steps.find((step) => step.getKeyword() === 'HEALTHCHECK')
  const source = (healthcheck?.getTextContent() ?? '').replace(/\\\n\s*/g, '')
  t.match(source, /--interval=\S+ --timeout=\S+/)
  const command = JSON.parse(/ CMD (\[.*\])$/.exec(source)?.[1] ?? '[]') as string[]
  t.equal(command[0], 'node')
  t.match(command.join(' '), '/healthz')

  const run = async (port: number) => {
    const child = spawn(process.execPath, command.slice(1), {
      env: { PATH: process.env.PATH, PORT: String(port) },
      stdio: 'ignore',
    })
    const [code] = await once(child, 'exit')
    return code
  }
  const port = await freePort()
  const unreachable = { issuer: 'http://127.0.0.1:9', clientId: 'registry', clientSecret: 'secret' }
  const service = await startService(unreachable, port, {}, { waitForProvider: false })
  t.equal(await run(port), 0, 'healthy: /healthz answers even before the provider does')
  await service.close()
  t.equal(await run(port), 1, 'unhealthy: nothing listens')
})

t.test('the build context is an allow-list that never holds secrets', async (t) => {
  const patterns = (await read('.dockerignore'))
    .split('\n')
    .filter((entry) => entry !== '' && !entry.startsWith('#'))
  t.equal(patterns[0], '*', 'everything is left out first')
  t.same(patterns.slice(1).sort(), [
    '!dev/',
    '!package-lock.json',
    '!package.json',
    '!src/',
    '!tsconfig.build.json',
    '!tsconfig.dev.json',
    '!tsconfig.json',
  ])
})

t.test('the development provider image runs the provider, as node', async (t) => {
  const [stage] = await stages('dev/Dockerfile')
  const lines = stage?.steps.map(line) ?? []
  t.ok(lines.includes('RUN npm run build:dev'), "compiles dev/ and copies the pages' stylesheets")
  t.ok(lines.includes('USER node'))
  t.ok(lines.includes('CMD ["node", "build/dev/provider-server.js"]'))
})
