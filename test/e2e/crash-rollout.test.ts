// A rollout of spec edits while the operator is SIGKILLed at random points and
// started again, as a node dying mid-rollout does to it. A watch records every
// version of every ConfigMap the operator writes: each one must be a whole,
// validated publication (schema, content hash, only proven deployments), none may
// disappear, and in the end every integration reflects its last edit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { annotations } from '../../src/api/group.ts';
import { documentKey, hashData, publishedDocumentSchema } from '../../src/publish/configmap.ts';
import { customers } from '../azure-emulator/sample-world.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  condition,
  createSecretIdentity,
  getIntegration,
  integration,
  startSampleEmulator,
  waitFor,
} from '../support/operator.ts';
import { installOperatorIdentity } from '../support/operator-identity.ts';
import { type OperatorProcess, spawnOperator } from '../support/operator-process.ts';

const admin = sharedCluster().kubeConfig();
const { healthy } = customers;
const existing = new Set(['gpt-4o', 'text-embedding-3-small']);
// The rollout: each wave edits every integration's deployments. `absent` is not deployed.
const waves = [
  ['gpt-4o', 'text-embedding-3-small'],
  ['gpt-4o'],
  ['text-embedding-3-small', 'absent'],
  ['gpt-4o', 'text-embedding-3-small'],
  ['gpt-4o'],
];
const names = Array.from({ length: 16 }, (_, i) => `tenant-app-${i}`);

test('SIGKILLed at random points of a rollout, the operator converges and never publishes anything unproven', async (t) => {
  const operatorNamespace = await testNamespace(t, admin);
  const identity = await installOperatorIdentity(admin, operatorNamespace, operatorNamespace);
  const { emulator } = await startSampleEmulator(t, (world) => {
    // Slow enough that a kill lands while reconciles are in flight.
    world.faults = [{ match: { service: 'openai' }, kind: 'latency', ms: 100 }];
  });
  const servicePrincipal = `crash-${operatorNamespace}`;
  await createSecretIdentity(t, admin, operatorNamespace, { name: servicePrincipal });
  const namespace = await testNamespace(t, admin, { crash: operatorNamespace });
  let operator: OperatorProcess | undefined;
  const startReplica = async (index: number) => {
    operator = await spawnOperator({
      kubeConfig: identity.kubeConfig,
      operatorNamespace,
      emulator,
      // The bundle the image ships, not the TypeScript sources.
      entry: 'dist',
      env: {
        POD_NAME: `replica-${index}`,
        WATCH_NAMESPACE_SELECTOR: `crash=${operatorNamespace}`,
        LEASE_DURATION: '3s',
        RENEW_DEADLINE: '2s',
        RETRY_PERIOD: '500ms',
      },
    });
    await operator.waitReady();
  };
  t.after(() => operator?.child.kill('SIGKILL'));

  // Every version of every ConfigMap, as the API server stored it.
  const versions: Array<{ type: string; object: V1ConfigMap }> = [];
  const watch = await new Watch(admin).watch(
    `/api/v1/namespaces/${namespace}/configmaps`,
    {},
    (type, object) => versions.push({ type, object }),
    () => {},
  );
  t.after(() => watch.abort());

  const applyWave = (wave: number) =>
    Promise.all(
      names.map((name) =>
        apply(
          admin,
          integration(namespace, name, {
            tenantId: healthy.tenantId,
            endpoint: `https://${healthy.resource}.openai.azure.com/`,
            servicePrincipalRef: { name: servicePrincipal },
            deployments: (waves[wave] ?? []).map((d) => ({ name: d })),
            probe: { interval: '5m' },
          }),
        ),
      ),
    );
  const settledAt = async (generation: number) => {
    let settled = 0;
    for (const name of names) {
      const current = await getIntegration(admin, namespace, name);
      if (current.status?.observedGeneration === generation) settled++;
    }
    return settled;
  };

  await startReplica(0);
  await applyWave(0);
  await waitFor('the first wave to settle', async () =>
    (await settledAt(1)) === names.length ? true : undefined,
  );

  let killedMidWave = 0;
  for (let wave = 1; wave < waves.length; wave++) {
    await applyWave(wave);
    await sleep(Math.random() * 400);
    operator?.child.kill('SIGKILL');
    await operator?.exited;
    if ((await settledAt(wave + 1)) < names.length) killedMidWave++;
    await startReplica(wave);
    // The next replica finishes the wave the killed one left.
    await waitFor(
      `wave ${wave} to settle after the restart`,
      async () => ((await settledAt(wave + 1)) === names.length ? true : undefined),
      30_000,
    );
  }

  const last = waves.length;
  await waitFor(
    'every integration to reflect the last edit',
    async () => ((await settledAt(last)) === names.length ? true : undefined),
    60_000,
  );
  for (const name of names) {
    const current = await getIntegration(admin, namespace, name);
    assert.equal(condition(current, 'Ready')?.status, 'True', `${name} is Ready`);
    assert.equal(current.status?.deploymentsReady, '1/1');
  }
  await sleep(500); // the watch delivers the last writes
  assert.ok(killedMidWave >= 1, 'at least one kill interrupted a wave');

  assert.equal(
    versions.filter((v) => v.type === 'DELETED').length,
    0,
    'no ConfigMap was withdrawn',
  );
  const writes = versions.filter((v) => v.type === 'ADDED' || v.type === 'MODIFIED');
  // Each wave changes what is published, so each integration's ConfigMap has a version per wave.
  assert.ok(
    writes.length >= names.length * waves.length,
    `${writes.length} ConfigMap versions were seen`,
  );
  for (const { object } of writes) {
    const data = object.data ?? {};
    const where = `${object.metadata?.name}@${object.metadata?.resourceVersion}`;
    assert.equal(object.metadata?.annotations?.[annotations.contentHash], hashData(data), where);
    const document = publishedDocumentSchema.parse(JSON.parse(data[documentKey] ?? ''));
    const listed = document.deployments.map((d) => d.name);
    assert.equal(data.AZURE_OPENAI_DEPLOYMENTS, listed.join(','), where);
    assert.ok(listed.length > 0, where);
    for (const deployment of listed)
      assert.ok(existing.has(deployment), `${where} lists ${deployment}, which was never proven`);
  }
  for (const name of names) {
    const final = writes.filter((v) => v.object.metadata?.name === `${name}-azure-openai`).at(-1);
    assert.equal(final?.object.data?.AZURE_OPENAI_DEPLOYMENTS, 'gpt-4o', name);
  }
});
