// The bad days of the API server, on a control plane of this file's own (it is
// restarted): a restart mid-watch, etcd compacted so the watch resumes with 410
// Gone, and the operator's RBAC removed and restored. In every case no spec edit
// is lost and every integration reaches its right state.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { customers } from '../azure-emulator/sample-world.ts';
import { moduleDir } from '../controlplane/binaries.ts';
import { type ControlPlane, startControlPlane } from '../controlplane/controlplane.ts';
import { testNamespace } from '../support/cluster.ts';
import {
  apply,
  createSecretIdentity,
  getIntegration,
  integration,
  startOperator,
  startSampleEmulator,
  waitFor,
  waitForReason,
} from '../support/operator.ts';
import { installOperatorIdentity } from '../support/operator-identity.ts';

const { healthy } = customers;

describe('control plane faults', async () => {
  const suite = { name: 'faults', after };
  const controlPlane: ControlPlane = await startControlPlane({
    manifestDirs: [join(moduleDir, '..', '..', 'crds')],
  });
  after(() => controlPlane.stop());
  const admin: KubeConfig = controlPlane.kubeConfig();
  const operatorNamespace = await testNamespace(suite, admin);
  const identity = await installOperatorIdentity(admin, operatorNamespace);
  const { emulator } = await startSampleEmulator(suite);
  const servicePrincipal = 'faults';
  await createSecretIdentity(suite, admin, operatorNamespace, { name: servicePrincipal });
  const operator = await startOperator(suite, {
    kc: identity.kubeConfig,
    emulator,
    operatorNamespace,
    adminKubeConfig: admin,
  });
  const namespace = await operator.namespace(suite);
  const spec = (deployments: string[]) => ({
    tenantId: healthy.tenantId,
    endpoint: `https://${healthy.resource}.openai.azure.com/`,
    servicePrincipalRef: { name: servicePrincipal },
    deployments: deployments.map((name) => ({ name })),
    probe: { interval: '1h' },
  });
  const expectDeployments = async (name: string, ready: string) => {
    await waitFor(
      `${name} to show ${ready}`,
      async () => {
        const current = await getIntegration(admin, namespace, name);
        const condition = current.status?.conditions?.find((c) => c.type === 'Ready');
        return condition?.observedGeneration === current.metadata.generation &&
          current.status?.deploymentsReady === ready
          ? true
          : undefined;
      },
      30_000,
    );
  };

  test('an API server restart mid-watch: edits after it are seen', async () => {
    await apply(admin, integration(namespace, 'restart', spec(['gpt-4o'])));
    await waitForReason(admin, namespace, 'restart', 'Ready');
    await controlPlane.restartApiServer();
    await apply(
      admin,
      integration(namespace, 'restart', spec(['gpt-4o', 'text-embedding-3-small'])),
    );
    await expectDeployments('restart', '2/2');
  });

  test('etcd compacted while the watch is down: 410 Gone, relist, nothing lost', async () => {
    await apply(admin, integration(namespace, 'compacted', spec(['gpt-4o'])));
    await waitForReason(admin, namespace, 'compacted', 'Ready');
    await controlPlane.stopApiServer();
    // Compact etcd to its current revision: the operator's resourceVersion is now history.
    const status = (await (
      await fetch(`${controlPlane.etcdUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' })
    ).json()) as {
      header: { revision: string };
    };
    const compacted = await fetch(`${controlPlane.etcdUrl}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: status.header.revision, physical: true }),
    });
    assert.equal(compacted.status, 200);
    await controlPlane.startApiServer();
    await apply(
      admin,
      integration(namespace, 'compacted', spec(['gpt-4o', 'text-embedding-3-small'])),
    );
    await expectDeployments('compacted', '2/2');
  });

  test('RBAC removed then restored: not ready meanwhile, then every edit is reflected', async () => {
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const binding = await rbac.readClusterRoleBinding({ name: 'azure-openai-operator' });
    await rbac.deleteClusterRoleBinding({ name: 'azure-openai-operator' });
    // Existing watches outlive an RBAC change; a restart makes the operator list again, and be refused.
    await controlPlane.restartApiServer();
    await waitFor(
      'the operator to notice it cannot list',
      async () => (operator.manager.ready ? undefined : true),
      20_000,
    );
    await apply(admin, integration(namespace, 'forbidden', spec(['gpt-4o'])));
    await sleep(1_000);
    const { metadata: _, ...restored } = binding;
    await rbac.createClusterRoleBinding({
      body: { ...restored, metadata: { name: 'azure-openai-operator' } },
    });
    await waitFor(
      'the operator to be ready again',
      async () => (operator.manager.ready ? true : undefined),
      60_000,
    );
    await waitForReason(admin, namespace, 'forbidden', 'Ready', 30_000);
  });
});
