// Runs the real operator (its Manager, in this process) against the shared API
// server and an in-process Azure emulator, capturing every log line so tests can
// read them (and prove no secret is in them).
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { integrationResource, servicePrincipalResource } from '../../src/api/group.ts';
import type { Integration } from '../../src/api/integration.ts';
import { loadConfig } from '../../src/config.ts';
import { Manager } from '../../src/controller/manager.ts';
import { createLogger } from '../../src/log.ts';
import { type AzureEmulator, startAzureEmulator } from '../azure-emulator/index.ts';
import {
  createSampleCredentials,
  customers,
  platform,
  sampleWorld,
  tenant,
} from '../azure-emulator/sample-world.ts';
import type { Resource, World, WorldInput } from '../azure-emulator/world.ts';
import { type Scope, sharedCluster, testNamespace } from './cluster.ts';

const shardLabel = 'test.runwhen.com/shard';

export interface RunningOperator {
  manager: Manager;
  logs: string[];
  /** A namespace this operator reconciles (operators of concurrent test files shard by namespace label). */
  namespace(t: Scope): Promise<string>;
  stop(): Promise<void>;
}

export async function startOperator(
  t: Scope,
  options: {
    kc: KubeConfig;
    emulator: AzureEmulator;
    operatorNamespace: string;
    env?: Record<string, string>;
    /** Creates the test namespaces; the shared cluster's admin by default. */
    adminKubeConfig?: KubeConfig;
  },
): Promise<RunningOperator> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      // TEST_OPERATOR_LOGS=1 shows the operator's log while debugging a test.
      if (process.env.TEST_OPERATOR_LOGS) process.stderr.write(chunk);
      done();
    },
  });
  const config = loadConfig({
    OPERATOR_NAMESPACE: options.operatorNamespace,
    AZURE_CONNECT_TO: options.emulator.connectTo,
    AZURE_EXTRA_CA_FILE: options.emulator.caPath,
    PLATFORM_EGRESS_IPS: platform.egressIp,
    MIN_PROBE_INTERVAL: '1s',
    AZURE_REQUEST_TIMEOUT: '3s',
    LOG_LEVEL: 'debug',
    METRICS_ADDRESS: '127.0.0.1:0',
    WATCH_NAMESPACE_SELECTOR: `${shardLabel}=${options.operatorNamespace}`,
    ...options.env,
  });
  const manager = new Manager(options.kc, config, createLogger(config.LOG_LEVEL, sink));
  await manager.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await manager.stop(2_000);
  };
  t.after(stop);
  // Created as admin: the operator's own identity (in the RBAC test) may not create namespaces.
  const namespace = (scope: Scope) =>
    testNamespace(scope, options.adminKubeConfig ?? sharedCluster().kubeConfig(), {
      [shardLabel]: options.operatorNamespace,
    });
  return { manager, logs, namespace, stop };
}

export async function startSampleEmulator(
  t: Scope,
  adjust: (world: WorldInput) => void = () => {},
) {
  const credentials = await createSampleCredentials();
  const world = sampleWorld(credentials);
  adjust(world);
  const emulator = await startAzureEmulator({ world, extraHostNames: ['evil.example.com'] });
  t.after(() => emulator.close());
  return { emulator, credentials };
}

export async function apply(kc: KubeConfig, object: KubernetesObject): Promise<void> {
  await KubernetesObjectApi.makeApiClient(kc).patch(
    object,
    undefined,
    undefined,
    'test',
    true,
    PatchStrategy.ServerSideApply,
  );
}

/** A client-secret AzureServicePrincipal and its Secret in the operator namespace. */
export async function createSecretIdentity(
  t: Scope,
  kc: KubeConfig,
  operatorNamespace: string,
  options: {
    name: string;
    secret?: string;
    default?: boolean;
    allowedNamespaces?: object;
    allowedTenants?: string[];
    cloud?: string;
  },
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedSecret({
    namespace: operatorNamespace,
    body: {
      metadata: { name: `${options.name}-credential` },
      stringData: { clientSecret: options.secret ?? platform.clientSecret },
    },
  });
  await apply(kc, {
    apiVersion: `${servicePrincipalResource.group}/${servicePrincipalResource.version}`,
    kind: servicePrincipalResource.kind,
    metadata: { name: options.name },
    spec: {
      clientId: platform.appId,
      ...(options.cloud ? { cloud: options.cloud } : {}),
      default: options.default ?? false,
      credential: { clientSecret: { secretRef: { name: `${options.name}-credential` } } },
      allowedNamespaces: options.allowedNamespaces ?? {},
      ...(options.allowedTenants ? { allowedTenants: options.allowedTenants } : {}),
    },
  } as KubernetesObject);
  const custom = kc.makeApiClient(CustomObjectsApi);
  t.after(() =>
    custom
      .deleteClusterCustomObject({
        group: servicePrincipalResource.group,
        version: servicePrincipalResource.version,
        plural: servicePrincipalResource.plural,
        name: options.name,
      })
      .catch(() => {}),
  );
}

export function integration(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): KubernetesObject {
  return {
    apiVersion: `${integrationResource.group}/${integrationResource.version}`,
    kind: integrationResource.kind,
    metadata: { name, namespace },
    spec,
  } as KubernetesObject;
}

export async function getIntegration(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<Integration> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return (await custom.getNamespacedCustomObject({
    ...integrationResource,
    namespace,
    name,
  })) as Integration;
}

export function condition(object: Integration, type: string) {
  return object.status?.conditions?.find((c) => c.type === type);
}

/** Polls until `check` returns a value (not undefined), or fails with the last state seen. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

/** Waits until the integration's Ready condition has the wanted reason for its current generation. */
export async function waitForReason(
  kc: KubeConfig,
  namespace: string,
  name: string,
  reason: string,
  timeoutMs = 20_000,
  status?: 'True' | 'False' | 'Unknown',
): Promise<Integration> {
  let last: Integration | undefined;
  try {
    return await waitFor(
      `${namespace}/${name} to report ${reason}`,
      async () => {
        last = await getIntegration(kc, namespace, name);
        const ready = condition(last, 'Ready');
        const matches =
          ready?.reason === reason && (status === undefined || ready.status === status);
        return matches && ready?.observedGeneration === last.metadata.generation ? last : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; last status: ${JSON.stringify(last?.status?.conditions)}`,
    );
  }
}

export async function readConfigMap(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<V1ConfigMap | undefined> {
  try {
    return await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace, name });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

/**
 * A resource of its own for a test, copied from the healthy customer's, so that
 * changing its world (faults, roles, deployments) touches no other test.
 */
export function copyHealthyResource(
  emulator: AzureEmulator,
  name: string,
  overrides: { roleAssignments?: [] } = {},
): string {
  emulator.updateWorld((world) => pushCopyOfHealthyResource(world, name, () => overrides));
  return name;
}

/**
 * A customer tenant of its own for a test: the healthy customer's consent and a
 * copy of its resource, under a new tenant ID and service principal, so that
 * Entra ID faults matched on the tenant touch no other test.
 */
export function copyHealthyTenant(
  emulator: AzureEmulator,
  resource: string,
): { tenantId: string; resource: string } {
  const tenantId = randomUUID();
  const servicePrincipalObjectId = randomUUID();
  emulator.updateWorld((world) => {
    const app = world.apps.find((a) =>
      a.consents.some((c) => c.tenantId === customers.healthy.tenantId),
    );
    if (!app) throw new Error('the sample world has no app the healthy customer consented to');
    world.tenants.push(tenant({ tenantId, displayName: `Copy of Contoso for ${resource}` }));
    app.consents.push({ tenantId, servicePrincipalObjectId });
    pushCopyOfHealthyResource(world, resource, (original) => ({
      tenantId,
      roleAssignments: original.roleAssignments.map((a) => ({
        ...a,
        principalId: servicePrincipalObjectId,
      })),
    }));
  });
  return { tenantId, resource };
}

function pushCopyOfHealthyResource(
  world: World,
  name: string,
  overrides: (original: Resource) => Partial<Resource>,
): void {
  const original = world.resources.find((r) => r.name === customers.healthy.resource);
  if (!original) throw new Error('the sample world has no healthy resource');
  world.resources.push({ ...structuredClone(original), name, ...overrides(original) });
}
