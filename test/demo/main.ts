// `npm run demo`: the whole product on one machine. A real control plane, the Azure
// emulator with its sample customers, and the operator binary running under the
// exact RBAC of deploy/; then deploy/samples/ is applied and what the operator
// proved is printed. `--check` exits 0 only if every sample reached the state its
// annotation expects, and stops everything.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { integrationResource } from '../../src/api/group.ts';
import type { Integration } from '../../src/api/integration.ts';
import { startAzureEmulator } from '../azure-emulator/index.ts';
import { createSampleCredentials, platform, sampleWorld } from '../azure-emulator/sample-world.ts';
import { binaryPath, moduleDir } from '../controlplane/binaries.ts';
import { type ControlPlane, startControlPlane } from '../controlplane/controlplane.ts';
import { applyManifests, readManifests } from '../controlplane/manifests.ts';
import { deployDir, installOperatorIdentity } from '../support/operator-identity.ts';
import { spawnOperator } from '../support/operator-process.ts';

const repo = join(moduleDir, '..', '..');
const operatorNamespace = 'azure-openai-operator';
const expectedReasonAnnotation = 'demo.llm.runwhen.com/expected-reason';
const check = process.argv.includes('--check');
const out = (text = '') => process.stdout.write(`${text}\n`);
const step = (text: string) => process.stderr.write(`• ${text}\n`);

const cleanups: Array<() => Promise<unknown>> = [];
async function stopAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

async function main(): Promise<boolean> {
  const started = Date.now();
  step('Starting the control plane (the first run builds it from source: several minutes, once)');
  const controlPlane = await startControlPlane({
    manifestDirs: [join(repo, 'crds')],
    log: (line) => process.stderr.write(`  ${line}\n`),
  });
  cleanups.push(() => controlPlane.stop());
  const admin = controlPlane.kubeConfig();

  step('Starting the Azure emulator with the sample customers');
  const emulator = await startAzureEmulator({
    world: sampleWorld(await createSampleCredentials()),
  });
  cleanups.push(() => emulator.close());

  step(`Installing the operator identity and RBAC of deploy/ in namespace ${operatorNamespace}`);
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: operatorNamespace } } });
  const identity = await installOperatorIdentity(admin, operatorNamespace);
  await createSecret(core, 'platform-client-secret', platform.clientSecret);
  await createSecret(core, 'platform-stale-secret', 'a-secret-that-was-rotated-away');

  step('Starting the operator (node src/main.ts) with its ServiceAccount token');
  const operator = await spawnOperator({
    kubeConfig: identity.kubeConfig,
    operatorNamespace,
    emulator,
  });
  cleanups.push(() => operator.stop());
  await operator.waitReady();
  const logPath = operator.logPath;

  step('Applying deploy/samples/');
  const samples = readManifests(join(deployDir, 'samples'));
  const appliedAt = Date.now();
  await applyManifests(admin, samples);
  const expected = new Map(
    samples
      .filter((o) => o.kind === integrationResource.kind)
      .map((o) => [
        `${o.metadata?.namespace}/${o.metadata?.name}`,
        o.metadata?.annotations?.[expectedReasonAnnotation] ?? 'Ready',
      ]),
  );
  const { reached, readyAfterMs } = await waitForExpected(admin, expected, appliedAt);

  out();
  out(await kubectl(controlPlane, ['get', 'azureopenaiintegrations', '-A']));
  out('What each integration reports (Ready condition):');
  for (const integration of await listIntegrations(admin)) {
    const ready = integration.status?.conditions?.find((c) => c.type === 'Ready');
    out(
      `  ${integration.metadata.namespace}/${integration.metadata.name}: ${ready?.reason ?? 'pending'}`,
    );
    out(`    ${ready?.message ?? 'no status yet'}`);
  }
  out();
  out('The published ConfigMap (what platform workloads consume):');
  out(
    await kubectl(controlPlane, [
      'get',
      'configmap',
      'contoso-azure-openai',
      '-n',
      'team-a',
      '-o',
      'yaml',
    ]),
  );
  for (const [key, ms] of readyAfterMs)
    out(`${key} was Ready ${(ms / 1000).toFixed(1)}s after it was applied`);
  out(`Demo up in ${((Date.now() - started) / 1000).toFixed(1)}s; operator log: ${logPath}`);

  const failures = [...expected].filter(([key, reason]) => reached.get(key) !== reason);
  for (const [key, reason] of failures)
    out(`MISMATCH ${key}: expected ${reason}, got ${reached.get(key) ?? 'nothing'}`);
  if (check) return failures.length === 0;

  out();
  out('Everything keeps running; in another terminal:');
  out(`  export KUBECONFIG=${controlPlane.kubeconfigPath}`);
  out(`  ${binaryPath('kubectl')} get aoai -A`);
  out(`KUBECONFIG=${controlPlane.kubeconfigPath}`);
  out('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  return true;
}

async function createSecret(core: CoreV1Api, name: string, value: string) {
  await core.createNamespacedSecret({
    namespace: operatorNamespace,
    body: { metadata: { name }, stringData: { clientSecret: value } },
  });
}

async function waitForExpected(
  admin: KubeConfig,
  expected: Map<string, string>,
  appliedAt: number,
) {
  const reached = new Map<string, string>();
  const readyAfterMs = new Map<string, number>();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (const integration of await listIntegrations(admin)) {
      const key = `${integration.metadata.namespace}/${integration.metadata.name}`;
      const ready = integration.status?.conditions?.find((c) => c.type === 'Ready');
      if (!ready || ready.observedGeneration !== integration.metadata.generation) continue;
      reached.set(key, ready.reason);
      if (ready.status === 'True' && !readyAfterMs.has(key))
        readyAfterMs.set(key, Date.parse(ready.lastTransitionTime) - appliedAt);
    }
    if ([...expected].every(([key, reason]) => reached.get(key) === reason)) break;
    await sleep(200);
  }
  return { reached, readyAfterMs };
}

async function listIntegrations(admin: KubeConfig): Promise<Integration[]> {
  const list = (await admin.makeApiClient(CustomObjectsApi).listCustomObjectForAllNamespaces({
    group: integrationResource.group,
    version: integrationResource.version,
    resourcePlural: integrationResource.plural,
  })) as { items: Integration[] };
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

async function kubectl(controlPlane: ControlPlane, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(binaryPath('kubectl'), [
    '--kubeconfig',
    controlPlane.kubeconfigPath,
    ...args,
  ]);
  return stdout;
}

let ok = false;
try {
  ok = await main();
} catch (error) {
  process.stderr.write(`Demo failed: ${(error as Error).stack ?? error}\n`);
} finally {
  await stopAll();
}
process.exit(ok ? 0 : 1);
