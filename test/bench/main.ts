// `npm run bench`: the operator binary at scale against a real API server and the
// emulator with Azure's latency. Not a test: it measures, prints a table (and with
// --json one JSON line), and docs/BENCHMARKS.md records the figures.
//   --integrations N (1000)  --tenants M (100)  --deployments K (3)
//   --token-latency ms (80)  --probe-latency ms (150)  --edits E (100)
//   --concurrency C (operator CONCURRENCY, 64)  --interval s (30)  --floor-runs R (3)  --json
// For experiments: BENCH_NODE_OPTIONS (the operator's, default the Deployment's heap
// cap), OPERATOR_NODE_FLAGS (instead of the image's command-line flags: V8 flags that
// NODE_OPTIONS refuses), OPERATOR_ENV_X=v (X=v in the operator's environment, e.g.
// OPERATOR_ENV_LD_PRELOAD= for glibc's malloc instead of the image's), BENCH_ENTRY=src
// (the TypeScript sources: readable profiles), BENCH_LOG_LEVEL, BENCH_SHOW_MEMORY=1
// (the operator's memory metrics at the end), BENCH_APISERVER_PROFILE=dir (the API
// server's CPU profile over the ramp and over the first floor run, for `go tool pprof`).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  fieldManager,
  finalizer,
  integrationResource,
  servicePrincipalResource,
} from '../../src/api/group.ts';
import type { Integration } from '../../src/api/integration.ts';
import { clouds } from '../../src/azure/clouds.ts';
import { eventBody } from '../../src/kube/events.ts';
import { statusApplyBody } from '../../src/kube/status-writer.ts';
import { makeApiClient } from '../../src/kube/transport.ts';
import { configMapApplyBody } from '../../src/publish/apply.ts';
import { buildPublication } from '../../src/publish/configmap.ts';
import { nextStatus, type Observation, plan } from '../../src/reconcile/evaluate.ts';
import { startAzureEmulator } from '../azure-emulator/index.ts';
import {
  chatDeployment,
  createSampleCredentials,
  dataPlaneRole,
  openAiResource,
  platform,
  platformApp,
} from '../azure-emulator/sample-world.ts';
import type { WorldInput } from '../azure-emulator/world.ts';
import { moduleDir } from '../controlplane/binaries.ts';
import { type ControlPlane, startControlPlane } from '../controlplane/controlplane.ts';
import { installOperatorIdentity } from '../support/operator-identity.ts';
import { spawnOperator } from '../support/operator-process.ts';

const { values: args } = parseArgs({
  options: {
    integrations: { type: 'string', default: '1000' },
    tenants: { type: 'string', default: '100' },
    deployments: { type: 'string', default: '3' },
    'token-latency': { type: 'string', default: '80' },
    'probe-latency': { type: 'string', default: '150' },
    edits: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '64' },
    interval: { type: 'string', default: '30' },
    'floor-runs': { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.integrations);
const M = Number(args.tenants);
const K = Number(args.deployments);
const C = Number(args.concurrency);
const intervalSeconds = Number(args.interval);
const operatorNamespace = 'azure-openai-operator';
const benchNamespaces = Math.max(1, Math.ceil(N / 500));

const progress = (label: string, done: number, total: number) => {
  const width = 30;
  const filled = Math.round((done / Math.max(total, 1)) * width);
  process.stderr.write(
    `\r${label.padEnd(28)} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}   `,
  );
  if (done >= total) process.stderr.write('\n');
};
const note = (text: string) => process.stderr.write(`${text}\n`);

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
  label?: string,
) {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
        done++;
        if (label && (done % 50 === 0 || done === items.length))
          progress(label, done, items.length);
      }
    }),
  );
}

const uuid = (prefix: number, i: number) =>
  `${prefix.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const tenantId = (t: number) => uuid(0xbe7c4000, t);
const objectId = (t: number) => uuid(0x0b7c4000, t);
const resourceName = (t: number) => `bench-${t}-openai`;
const deploymentNames = Array.from({ length: K }, (_, d) => `model-${d}`);

function world(credentials: Awaited<ReturnType<typeof createSampleCredentials>>): WorldInput {
  const tenants = Array.from({ length: M }, (_, t) => t);
  const customer = (t: number) => ({
    tenantId: tenantId(t),
    displayName: `Bench ${t}`,
    servicePrincipalObjectId: objectId(t),
    subscriptionId: uuid(0x5b7c4000, t),
    resourceGroup: 'rg',
    resource: resourceName(t),
  });
  return {
    tenants: [
      { id: platform.tenantId, displayName: 'Platform' },
      ...tenants.map((t) => ({ id: tenantId(t), displayName: `Bench ${t}` })),
    ],
    apps: [platformApp(credentials, tenants.map(customer))],
    resources: tenants.map((t) =>
      openAiResource(customer(t), {
        deployments: deploymentNames.map((name) =>
          chatDeployment({ name, sku: { name: 'Standard', capacity: 100_000 } }),
        ),
        roleAssignments: [dataPlaneRole(customer(t))],
      }),
    ),
    caller: { egressIp: platform.egressIp, privateEndpointAccess: [] },
    faults: [
      { match: { service: 'entra' }, kind: 'latency', ms: Number(args['token-latency']) },
      { match: { service: 'openai' }, kind: 'latency', ms: Number(args['probe-latency']) },
    ],
  };
}

function integrationBody(i: number, namespace: string) {
  const t = i % M;
  return {
    apiVersion: `${integrationResource.group}/${integrationResource.version}`,
    kind: integrationResource.kind,
    metadata: { name: `integration-${i}`, namespace },
    spec: {
      tenantId: tenantId(t),
      endpoint: `https://${resourceName(t)}.openai.azure.com/`,
      deployments: deploymentNames.map((name) => ({ name })),
      probe: { interval: `${intervalSeconds}s` },
    },
  };
}

const namespaceOf = (i: number) => `bench-${i % benchNamespaces}`;

/**
 * What the operator writes for a Ready integration, from its own pure functions:
 * the floor must send the same bytes, not smaller stand-ins.
 */
function operatorPayloads(
  body: ReturnType<typeof integrationBody>,
  namespace: string,
  uid: string,
) {
  const observation: Observation = {
    generation: 1,
    now: new Date(),
    cloud: 'AzurePublicCloud',
    identity: {
      name: 'platform',
      clientId: platform.appId,
      objectId: '00000000-0000-4000-8000-000000000000',
      tokenExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    },
    deployments: deploymentNames.map((name) => ({
      name,
      probe: { ready: true, capability: 'chat' as const, model: name, latencyMs: 150 },
    })),
    declaredDeployments: [...deploymentNames],
    intervalMs: intervalSeconds * 1000,
  };
  const decided = plan(observation, undefined, {
    transientFailureThreshold: 3,
    retryBaseMs: 2_000,
  });
  const deployments = decided.publish.action === 'apply' ? decided.publish.deployments : [];
  const publication = buildPublication({
    integration: { name: body.metadata.name, namespace, uid },
    configMapName: `${body.metadata.name}-azure-openai`,
    endpointUrl: body.spec.endpoint,
    tenantId: body.spec.tenantId,
    clientId: platform.appId,
    cloud: clouds.AzurePublicCloud,
    apiVersion: '2024-10-21',
    defaultDeployment: undefined,
    deployments,
  });
  const { status, events } = nextStatus(observation, undefined, decided, {
    state: 'published',
    publication,
  });
  // A first publication is create-only, as the operator's (src/publish/apply.ts).
  return { status, configMap: configMapApplyBody(publication, true), events };
}

/**
 * The floor: a bare client making the writes the operator makes for a Ready
 * integration, as the operator's own ServiceAccount (its token authenticated and its
 * RBAC evaluated for every request, as for the operator); the creates stay the
 * bench's, as admin.
 */
async function measureFloor(
  admin: KubeConfig,
  operatorIdentity: KubeConfig,
  namespace: string,
): Promise<number> {
  // The operator's own transport (ADR 0010): the floor differs from it only in
  // what it leaves out.
  const creator = makeApiClient(admin, CustomObjectsApi);
  const custom = makeApiClient(operatorIdentity, CustomObjectsApi);
  const core = makeApiClient(operatorIdentity, CoreV1Api);
  await makeApiClient(admin, CoreV1Api).createNamespace({
    body: { metadata: { name: namespace } },
  });
  const indexes = Array.from({ length: N }, (_, i) => i);
  const started = performance.now();
  await pool(
    indexes,
    C,
    async (i) => {
      const body = integrationBody(i, namespace);
      const name = body.metadata.name;
      const created = (await creator.createNamespacedCustomObject({
        ...integrationResource,
        namespace,
        body,
      })) as Integration;
      const payloads = operatorPayloads(body, namespace, created.metadata.uid);
      // Finalizer, status, ConfigMap, and the Events (Published, Ready): the operator's writes.
      await custom.patchNamespacedCustomObject(
        {
          ...integrationResource,
          namespace,
          name,
          // Conditional on the version read, like the operator's.
          body: {
            metadata: {
              finalizers: [finalizer],
              resourceVersion: created.metadata.resourceVersion,
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await custom.patchNamespacedCustomObjectStatus(
        {
          ...integrationResource,
          namespace,
          name,
          fieldManager,
          force: true,
          body: statusApplyBody(namespace, name, payloads.status),
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      await core.patchNamespacedConfigMap(
        {
          namespace,
          name: `${name}-azure-openai`,
          fieldManager,
          force: true,
          body: payloads.configMap,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      for (const event of payloads.events) {
        await core.createNamespacedEvent({
          namespace,
          body: eventBody(
            { name, namespace, uid: created.metadata.uid },
            event.type,
            event.reason,
            event.message,
            'floor',
            new Date(),
          ),
        });
      }
    },
    `floor (bare client) ${namespace}`,
  );
  return (performance.now() - started) / 1000;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** utime and stime of a process, from /proc. */
function cpuSecondsOf(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(stat[11] ?? 0) + Number(stat[12] ?? 0)) / 100;
}

function processStats(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const peakRssMb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0) / 1024;
  return { peakRssMb, cpuSeconds: cpuSecondsOf(pid) };
}

type CpuSeconds = { apiServer: number; etcd: number; operator: number; benchAndEmulator: number };

// Where the machine's two cores went: CPU seconds so far of each process of the run.
// The control plane's processes are those whose command names its directory.
function cpuByProcess(controlPlaneDir: string, operatorPid: number | undefined): CpuSeconds {
  const own = process.cpuUsage();
  const seconds: CpuSeconds = {
    apiServer: 0,
    etcd: 0,
    operator: operatorPid === undefined ? 0 : cpuSecondsOf(operatorPid),
    benchAndEmulator: (own.user + own.system) / 1e6,
  };
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv.some((a) => a.includes(controlPlaneDir))) continue;
      if (argv[0]?.endsWith('/kube-apiserver')) seconds.apiServer += cpuSecondsOf(pid);
      else if (argv[0]?.endsWith('/etcd')) seconds.etcd += cpuSecondsOf(pid);
    } catch {
      // The process ended while we read it.
    }
  }
  return seconds;
}

/** Starts a CPU profile of the API server; resolves when it has been written to `file`. */
async function profileApiServer(admin: KubeConfig, seconds: number, file: string): Promise<void> {
  const options: RequestOptions = {};
  await admin.applyToHTTPSOptions(options);
  const url = new URL(`/debug/pprof/profile?seconds=${seconds}`, admin.getCurrentCluster()?.server);
  await new Promise<void>((resolve, reject) => {
    httpsRequest(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        writeFileSync(file, Buffer.concat(chunks));
        resolve();
      });
    })
      .on('error', reject)
      .end();
  });
}
const profileDir = process.env.BENCH_APISERVER_PROFILE;

/**
 * With BENCH_APISERVER_PROFILE: from now on, a CPU profile of the API server for
 * `seconds`, and its audit log's requests; the returned function writes both.
 */
function captureApiServer(
  controlPlane: ControlPlane,
  admin: KubeConfig,
  name: string,
  seconds: number,
): () => Promise<void> {
  if (!profileDir) return async () => {};
  const from = controlPlane.auditEvents().length;
  const profile = profileApiServer(admin, seconds, join(profileDir, `${name}.pprof`));
  return async () => {
    await profile;
    writeFileSync(
      join(profileDir, `${name}.audit`),
      auditSummary(controlPlane.auditEvents(), from),
    );
  };
}

/** Audit events from index `from` on, counted by user, verb, resource and code. */
function auditSummary(events: ReturnType<ControlPlane['auditEvents']>, from: number): string {
  const counts = new Map<string, number>();
  for (const e of events.slice(from)) {
    if (e.stage !== 'ResponseComplete') continue;
    const resource = [e.objectRef?.resource, e.objectRef?.subresource].filter(Boolean).join('/');
    const key = `${e.user.username} ${e.verb} ${resource} ${e.responseStatus?.code}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .map(([k, n]) => `${n}\t${k}`)
    .sort()
    .join('\n');
}

const cpuSince = (before: CpuSeconds, after: CpuSeconds): CpuSeconds => ({
  apiServer: round(after.apiServer - before.apiServer),
  etcd: round(after.etcd - before.etcd),
  operator: round(after.operator - before.operator),
  benchAndEmulator: round(after.benchAndEmulator - before.benchAndEmulator),
});

async function main() {
  note(
    `Benchmark: ${N} integrations, ${M} tenants, ${K} deployments each; latency token ${args['token-latency']} ms, probe ${args['probe-latency']} ms; operator concurrency ${C}`,
  );
  const controlPlane = await startControlPlane({
    manifestDirs: [join(moduleDir, '..', '..', 'crds')],
    controllerManager: false,
    log: note,
  });
  const emulator = await startAzureEmulator({ world: world(await createSampleCredentials()) });
  const stopAll = async () => {
    await emulator.close().catch(() => {});
    await controlPlane.stop().catch(() => {});
  };
  try {
    // Keep-alive connections, as the operator and the floor have: a new TLS handshake
    // per create would load the API server under test for the bench's own sake.
    const admin = controlPlane.kubeConfig();
    const core = makeApiClient(admin, CoreV1Api);
    const custom = makeApiClient(admin, CustomObjectsApi);

    await core.createNamespace({ body: { metadata: { name: operatorNamespace } } });
    const identity = await installOperatorIdentity(admin, operatorNamespace);
    await core.createNamespacedSecret({
      namespace: operatorNamespace,
      body: { metadata: { name: 'platform' }, stringData: { clientSecret: platform.clientSecret } },
    });
    await custom.createClusterCustomObject({
      ...servicePrincipalResource,
      body: {
        apiVersion: `${servicePrincipalResource.group}/${servicePrincipalResource.version}`,
        kind: servicePrincipalResource.kind,
        metadata: { name: 'platform' },
        spec: {
          clientId: platform.appId,
          default: true,
          credential: { clientSecret: { secretRef: { name: 'platform' } } },
          allowedNamespaces: {},
        },
      },
    });
    for (let n = 0; n < benchNamespaces; n++) {
      await core.createNamespace({
        body: { metadata: { name: `bench-${n}`, labels: { bench: 'true' } } },
      });
    }
    const operator = await spawnOperator({
      kubeConfig: identity.kubeConfig,
      operatorNamespace,
      emulator,
      entry: (process.env.BENCH_ENTRY as 'src' | undefined) ?? 'dist',
      env: {
        CONCURRENCY: String(C),
        WATCH_NAMESPACE_SELECTOR: 'bench=true',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        // deploy/deployment.yaml's heap cap, unless an experiment asks for other flags.
        NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? '--max-old-space-size=128',
        MIN_PROBE_INTERVAL: '1s',
      },
    });
    await operator.waitReady();
    const pid = operator.child.pid as number;

    // Counted, then listed once: the operator's integrations gauge (from its cache)
    // says when all are Ready, and one list then reads the Ready times it recorded.
    // Neither loads the API server under test: a watch of every integration made it
    // serialise each write once more for the bench (its CPU rose 10% at 1000), and
    // listing every second was worse; the floor has neither.
    const readyInOperatorCache = async () =>
      [
        ...(await operator.get('/metrics')).body.matchAll(
          /^aoai_operator_integrations\{condition="Ready",status="True",reason="[^"]*"\} (\d+)$/gm,
        ),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
    const indexes = Array.from({ length: N }, (_, i) => i);
    const applyStartedAt = Date.now();
    const cpuAtApply = cpuByProcess(controlPlane.dir, pid);
    // About the ramp's length: the operator makes some 70 integrations Ready a second.
    const rampCaptured = captureApiServer(controlPlane, admin, 'operator', Math.round(N / 70));
    await pool(indexes, C, async (i) => {
      await custom.createNamespacedCustomObject({
        ...integrationResource,
        namespace: namespaceOf(i),
        body: integrationBody(i, namespaceOf(i)),
      });
    });
    const createdSeconds = (Date.now() - applyStartedAt) / 1000;
    for (let ready = 0; ready < N; ready = await readyInOperatorCache()) {
      progress('apply to all Ready', ready, N);
      // Each look costs the operator a metrics render over its cache; the Ready
      // times come from status, so looking less often does not change the figure.
      await sleep(1_000);
    }
    const cpuToReady = cpuSince(cpuAtApply, cpuByProcess(controlPlane.dir, pid));
    await rampCaptured();
    const readyTimes = new Map<string, number>();
    while (readyTimes.size < N) {
      const { items } = (await custom.listCustomObjectForAllNamespaces({
        ...integrationResource,
        resourcePlural: integrationResource.plural,
      })) as { items: Integration[] };
      for (const item of items) {
        const ready = item.status?.conditions?.find((c) => c.type === 'Ready');
        if (item.metadata.namespace?.startsWith('bench-') && ready?.status === 'True')
          readyTimes.set(
            `${item.metadata.namespace}/${item.metadata.name}`,
            Date.parse(ready.lastTransitionTime),
          );
      }
      if (readyTimes.size < N) await sleep(1_000);
    }
    progress('apply to all Ready', readyTimes.size, N);
    const timeToReadySeconds = (Math.max(...readyTimes.values()) - applyStartedAt) / 1000;
    // The spread says whether the last one was a straggler or the whole run was slow.
    const readySeconds = [...readyTimes.values()].map((t) => (t - applyStartedAt) / 1000);
    const readyP50Seconds = percentile(readySeconds, 50);
    const readyP90Seconds = percentile(readySeconds, 90);
    const metricsAtReady = (await operator.get('/metrics')).body;
    const reconciles = (result: 'success' | 'error') =>
      Number(
        metricsAtReady.match(
          new RegExp(`^aoai_operator_reconciles_total\\{result="${result}"\\} (\\d+)`, 'm'),
        )?.[1] ?? 0,
      );
    const reconcileErrors = reconciles('error');
    // More reconciles than integrations: re-validations that ran during the ramp.
    const reconcilesToReady = reconcileErrors + reconciles('success');
    const tokenRequests = emulator
      .requests({ service: 'entra' })
      .filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;

    // Idle: one whole re-validation period in which nothing changes.
    await sleep(2_000);
    const writeVerbs = new Set(['create', 'update', 'patch', 'delete']);
    const operatorWrites = () =>
      controlPlane
        .auditEvents()
        .filter(
          (e) =>
            e.user.username === identity.username &&
            writeVerbs.has(e.verb) &&
            e.objectRef?.resource !== 'leases',
        ).length;
    const writesBefore = operatorWrites();
    const probesBefore = emulator.requests({ service: 'openai' }).length;
    const idleSeconds = intervalSeconds * 1.15;
    for (let s = 0; s < idleSeconds; s++) {
      progress('idle re-validation period', s, Math.ceil(idleSeconds));
      await sleep(1_000);
    }
    progress('idle re-validation period', Math.ceil(idleSeconds), Math.ceil(idleSeconds));
    const idleWrites = operatorWrites() - writesBefore;
    const idleProbes = emulator.requests({ service: 'openai' }).length - probesBefore;

    // Reaction: spec edits one at a time, to the status of the new generation.
    const edits = Number(args.edits);
    const reactions: number[] = [];
    for (let e = 0; e < edits; e++) {
      const i = (e * 7919) % N;
      const namespace = namespaceOf(i);
      const name = `integration-${i}`;
      const key = `${namespace}/${name}`;
      const current = (await custom.getNamespacedCustomObject({
        ...integrationResource,
        namespace,
        name,
      })) as Integration;
      const wanted = current.metadata.generation + 1;
      // Toggle between all deployments and all but one: every edit is a real spec change.
      const declared = (current.spec as { deployments: unknown[] }).deployments.length;
      const deployments = declared === K ? deploymentNames.slice(0, K - 1) : deploymentNames;
      const started = performance.now();
      await custom.patchNamespacedCustomObject(
        {
          ...integrationResource,
          namespace,
          name,
          body: { spec: { deployments: deployments.map((d) => ({ name: d })) } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const deadline = performance.now() + 30_000;
      for (;;) {
        const seen = (await custom.getNamespacedCustomObject({
          ...integrationResource,
          namespace,
          name,
        })) as Integration;
        if ((seen.status?.observedGeneration ?? 0) >= wanted) break;
        if (performance.now() > deadline)
          throw new Error(
            `${key} did not report generation ${wanted} in 30 s; operator log: ${operator.logPath}`,
          );
        await sleep(5);
      }
      reactions.push(performance.now() - started);
      if ((e + 1) % 10 === 0) progress('reaction to spec edits', e + 1, edits);
    }
    const { peakRssMb, cpuSeconds } = processStats(pid);
    if (process.env.BENCH_SHOW_MEMORY)
      note(
        (await operator.get('/metrics')).body
          .split('\n')
          .filter((l) => /^(process|nodejs)_/.test(l))
          .join('\n'),
      );
    await operator.stop();
    // The floor runs last, with the operator stopped: its thousands of objects must
    // not fill the operator's caches, and each run finds the other's objects stored.
    // It varies more than the operator from run to run, so its median is used.
    const floorRunsSeconds: number[] = [];
    const floorCpu: CpuSeconds[] = [];
    for (let run = 0; run < Number(args['floor-runs']); run++) {
      const before = cpuByProcess(controlPlane.dir, undefined);
      // The floor makes some 110 integrations' writes a second.
      const floorCaptured =
        run === 0 ? captureApiServer(controlPlane, admin, 'floor', Math.round(N / 110)) : undefined;
      floorRunsSeconds.push(round(await measureFloor(admin, identity.kubeConfig, `floor-${run}`)));
      floorCpu.push(cpuSince(before, cpuByProcess(controlPlane.dir, undefined)));
      await floorCaptured?.();
    }
    const floorSeconds = percentile(floorRunsSeconds, 50);

    const result = {
      integrations: N,
      tenants: M,
      deploymentsEach: K,
      concurrency: C,
      timeToReadySeconds: round(timeToReadySeconds),
      createdSeconds: round(createdSeconds),
      readyP50Seconds: round(readyP50Seconds),
      readyP90Seconds: round(readyP90Seconds),
      reconcileErrors,
      reconcilesToReady,
      floorSeconds: round(floorSeconds),
      floorRunsSeconds,
      ratio: round(timeToReadySeconds / floorSeconds),
      tokenRequests,
      identityTenantPairs: M,
      idleWrites,
      idleProbes,
      idlePeriodSeconds: round(idleSeconds),
      reactionP50Ms: Math.round(percentile(reactions, 50)),
      reactionP99Ms: Math.round(percentile(reactions, 99)),
      // The slowest three, with the edit's place in the series: one stall or a slow tail.
      reactionSlowest: reactions
        .map((ms, edit) => ({ ms: Math.round(ms), edit }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 3),
      peakRssMb: Math.round(peakRssMb),
      cpuSeconds: round(cpuSeconds),
      // CPU seconds per process from the first create to the last Ready, and in the
      // floor run of median duration.
      cpuToReady,
      floorCpu: floorCpu[floorRunsSeconds.indexOf(floorSeconds)],
      tokenLatencyMs: Number(args['token-latency']),
      probeLatencyMs: Number(args['probe-latency']),
    };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const rows: Array<[string, string]> = [
        ['integrations / tenants / deployments', `${N} / ${M} / ${K}`],
        ['apply to all Ready', `${result.timeToReadySeconds} s`],
        ['floor (bare client, same writes)', `${result.floorSeconds} s`],
        ['ratio', `${result.ratio}`],
        ['token requests / (identity, tenant) pairs', `${tokenRequests} / ${M}`],
        [
          `API writes in one idle period (${result.idlePeriodSeconds} s)`,
          `${idleWrites} (while ${idleProbes} probes re-validated)`,
        ],
        [
          'reaction to a spec edit p50 / p99',
          `${result.reactionP50Ms} / ${result.reactionP99Ms} ms`,
        ],
        ['operator peak RSS / CPU', `${result.peakRssMb} MB / ${result.cpuSeconds} s`],
        ['CPU s to Ready: operator / API server / etcd / bench+emulator', cpuRow(cpuToReady)],
        ['CPU s in the floor: API server / etcd / bench', cpuRow(result.floorCpu, false)],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
    }
  } finally {
    await stopAll();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

const cpuRow = (cpu: CpuSeconds | undefined, withOperator = true) =>
  cpu === undefined
    ? '-'
    : [...(withOperator ? [cpu.operator] : []), cpu.apiServer, cpu.etcd, cpu.benchAndEmulator].join(
        ' / ',
      );

await main();
process.exit(0);
