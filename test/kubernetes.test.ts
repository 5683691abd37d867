// deploy/kubernetes/ against the service itself: every variable the Deployment sets is one the
// service reads, the required ones are all there, the probes and ports point at what the
// service serves, and the other objects select the Deployment's pods.

import { readdir, readFile } from 'node:fs/promises'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { buildApp } from '../src/app.js'
import { envSchema } from '../src/config/config.js'
import { testCookieSecret, testSigningSeedHex } from './helpers/service.js'

const directory = new URL('../deploy/kubernetes/', import.meta.url)

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML; the test checks their shape.
type Manifest = Record<string, any>

const manifests: Manifest[] = []
for (const file of (await readdir(directory)).filter((name) => name.endsWith('.yaml'))) {
  const documents = parseAllDocuments(await readFile(new URL(file, directory), 'utf8'))
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    t.same(document.errors, [], `${file} parses`)
    const manifest = document.toJS() as Manifest | null
    if (manifest) manifests.push({ ...manifest, file })
  }
}

function only(kind: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind)
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`)
  return found[0] as Manifest
}

const deployment = only('Deployment')
const pod = deployment.spec.template
const container: Manifest = pod.spec.containers[0]
const env = new Map<string, Manifest>(
  (container.env as Manifest[]).map((entry) => [entry.name as string, entry]),
)
const portsByName = new Map<string, number>(
  (container.ports as Manifest[]).map((port) => [port.name, port.containerPort]),
)
const secret = only('Secret')

/** The values the pod would see, with the secrets filled in with test values. */
function podEnvironment(): Record<string, string> {
  const fill: Record<string, string> = {
    MCP_REGISTRY_OIDC_COOKIE_SECRET: testCookieSecret,
    MCP_REGISTRY_JWT_PRIVATE_KEY: testSigningSeedHex,
    MCP_REGISTRY_OIDC_CLIENT_SECRET: 'client-secret-for-the-test',
    // Nothing listens there: the service starts all the same, its device routes answer 503.
    MCP_REGISTRY_OIDC_REDIS_URL: 'redis://127.0.0.1:1',
  }
  const values: Record<string, string> = {}
  for (const [name, entry] of env) {
    values[name] = entry.valueFrom?.secretKeyRef ? (fill[name] as string) : String(entry.value)
  }
  return values
}

t.test(
  'the Deployment sets only variables the service reads, and every required one',
  async (t) => {
    t.equal(env.size, (container.env as Manifest[]).length, 'no variable set twice')
    const known = Object.keys(envSchema.properties)
    for (const name of env.keys())
      t.ok(known.includes(name), `${name} is a variable of the service`)
    for (const name of envSchema.required) t.ok(env.has(name), `required ${name} is set`)
    // Behind the ingress, without it every client would share one rate-limit budget.
    t.ok(env.get('MCP_REGISTRY_OIDC_TRUST_PROXY')?.value, 'the ingress is a trusted proxy')
    // Three replicas: device logins and the rate limit need the store they share.
    t.ok(deployment.spec.replicas > 1)
    t.ok(env.has('MCP_REGISTRY_OIDC_REDIS_URL'), 'the replicas share a store')
    t.match(secret.stringData['redis-url'], /^rediss?:\/\//)
    for (const name of [
      'MCP_REGISTRY_OIDC_COOKIE_SECRET',
      'MCP_REGISTRY_JWT_PRIVATE_KEY',
      'MCP_REGISTRY_OIDC_REDIS_URL',
    ]) {
      t.ok(env.get(name)?.valueFrom?.secretKeyRef, `${name} comes from a Secret`)
    }
    for (const [name, entry] of env) {
      const reference = entry.valueFrom?.secretKeyRef
      if (!reference) continue
      t.equal(reference.name, secret.metadata.name, `${name}: the example Secret`)
      t.ok(reference.key in secret.stringData, `${name}: the Secret has key ${reference.key}`)
    }
  },
)

t.test('the service starts from that environment; the probes answer', async (t) => {
  const app = await buildApp({
    ...podEnvironment(),
    // Nothing listens there: the test never leaves this machine.
    MCP_REGISTRY_OIDC_ISSUER: 'https://127.0.0.1:1',
    METRICS_PORT: '0',
  })
  t.teardown(() => app.close())
  t.equal(app.config.port, portsByName.get('http'), 'PORT is the container port named http')
  t.equal(
    Number(podEnvironment().METRICS_PORT ?? envSchema.properties.METRICS_PORT.default),
    portsByName.get('metrics'),
    'METRICS_PORT is the container port named metrics',
  )
  t.equal(pod.metadata.annotations['prometheus.io/port'], String(portsByName.get('metrics')))

  const { livenessProbe, readinessProbe } = container
  t.equal(livenessProbe.httpGet.path, '/healthz')
  t.equal(readinessProbe.httpGet.path, '/readyz')
  for (const probe of [livenessProbe, readinessProbe]) {
    t.equal(probe.httpGet.port, 'http', 'probes use the service port')
  }
  t.equal((await app.inject({ url: livenessProbe.httpGet.path })).statusCode, 200)
  t.equal(
    (await app.inject({ url: readinessProbe.httpGet.path })).statusCode,
    503,
    'not ready while the provider is unreachable',
  )
})

t.test('the pod runs locked down, with resources and a shutdown that fits', async (t) => {
  t.equal(deployment.spec.replicas, 3)
  t.equal(pod.spec.securityContext.runAsNonRoot, true)
  t.ok(pod.spec.securityContext.runAsUser > 0, 'a numeric non-root user')
  t.equal(container.securityContext.readOnlyRootFilesystem, true)
  t.equal(container.securityContext.allowPrivilegeEscalation, false)
  t.same(container.securityContext.capabilities.drop, ['ALL'])
  for (const kind of ['requests', 'limits']) {
    t.ok(container.resources[kind].cpu && container.resources[kind].memory, `${kind} set`)
  }
  const preStopSeconds = Number(container.lifecycle.preStop.exec.command.at(-1))
  const timeoutMs = Number(
    env.get('MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS')?.value ??
      envSchema.properties.MCP_REGISTRY_OIDC_PROVIDER_TIMEOUT_MS.default,
  )
  t.ok(
    pod.spec.terminationGracePeriodSeconds >= preStopSeconds + (2 * timeoutMs + 1000) / 1000,
    'the kubelet waits longer than the preStop pause plus the service grace period',
  )
})

t.test('Service, PodDisruptionBudget and autoscaler point at the Deployment', async (t) => {
  const labels = pod.metadata.labels
  t.same(deployment.spec.selector.matchLabels, labels)
  const service = only('Service')
  t.same(service.spec.selector, labels)
  t.same(
    service.spec.ports.map((port: Manifest) => port.targetPort),
    ['http'],
    'the Service exposes the HTTP port only, never metrics',
  )
  const budget = only('PodDisruptionBudget')
  t.same(budget.spec.selector.matchLabels, labels)
  t.ok(
    budget.spec.maxUnavailable === 1 || budget.spec.minAvailable < deployment.spec.replicas,
    'a drain can always make progress',
  )
  const autoscaler = only('HorizontalPodAutoscaler')
  t.same(autoscaler.spec.scaleTargetRef, {
    apiVersion: deployment.apiVersion,
    kind: 'Deployment',
    name: deployment.metadata.name,
  })
  t.equal(autoscaler.spec.minReplicas, deployment.spec.replicas)
  t.ok(autoscaler.spec.maxReplicas > autoscaler.spec.minReplicas)

  const applied = only('Kustomization').resources as string[]
  const objects = manifests.filter((m) => m.kind !== 'Secret' && m.kind !== 'Kustomization')
  t.same(
    [...applied].sort(),
    objects.map((manifest) => manifest.file).sort(),
    'kustomization.yaml applies every object, never the example Secret',
  )
})
