// Two replicas of the binary: one leads and reconciles, the other stays ready and
// idle; when the leader is killed outright the follower takes over within the
// lease duration, and every spec edit is reflected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { customers } from '../azure-emulator/sample-world.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  createSecretIdentity,
  getIntegration,
  integration,
  startSampleEmulator,
  waitFor,
  waitForReason,
} from '../support/operator.ts';
import { installOperatorIdentity } from '../support/operator-identity.ts';
import { spawnOperator } from '../support/operator-process.ts';

const admin = sharedCluster().kubeConfig();
const leaseDurationSeconds = 3;

test('a follower takes over within the lease duration when the leader is SIGKILLed', async (t) => {
  const operatorNamespace = await testNamespace(t, admin);
  const identity = await installOperatorIdentity(admin, operatorNamespace, operatorNamespace);
  const { emulator } = await startSampleEmulator(t);
  const servicePrincipal = `ha-${operatorNamespace}`;
  await createSecretIdentity(t, admin, operatorNamespace, { name: servicePrincipal });
  const replica = (name: string) =>
    spawnOperator({
      kubeConfig: identity.kubeConfig,
      operatorNamespace,
      emulator,
      env: {
        POD_NAME: name,
        WATCH_NAMESPACE_SELECTOR: `ha=${operatorNamespace}`,
        LEASE_DURATION: `${leaseDurationSeconds}s`,
        RENEW_DEADLINE: '2s',
        RETRY_PERIOD: '500ms',
      },
    });
  const first = await replica('replica-a');
  t.after(() => first.child.kill('SIGKILL'));
  await first.waitReady();
  const second = await replica('replica-b');
  t.after(() => second.child.kill('SIGKILL'));
  await second.waitReady();

  const leases = admin.makeApiClient(CoordinationV1Api);
  const holder = async () =>
    (
      await leases.readNamespacedLease({
        namespace: operatorNamespace,
        name: 'azure-openai-operator',
      })
    ).spec?.holderIdentity;
  assert.equal(await waitFor('a leader', async () => (await holder()) || undefined), 'replica-a');

  const namespace = await testNamespace(t, admin, { ha: operatorNamespace });
  const { healthy } = customers;
  const spec = {
    tenantId: healthy.tenantId,
    endpoint: `https://${healthy.resource}.openai.azure.com/`,
    servicePrincipalRef: { name: servicePrincipal },
    deployments: [{ name: 'gpt-4o' }],
  };
  await apply(admin, integration(namespace, 'contoso', spec));
  await waitForReason(admin, namespace, 'contoso', 'Ready');
  const followerMetrics = (await second.get('/metrics')).body;
  assert.match(
    followerMetrics,
    /^aoai_operator_status_writes_total 0$/m,
    'the follower did not reconcile',
  );
  assert.match(followerMetrics, /^aoai_operator_leader 0$/m);
  assert.equal((await second.get('/readyz')).status, 200, 'the follower stays ready');

  first.child.kill('SIGKILL');
  const killedAt = Date.now();
  // An edit while nobody leads must not be lost.
  await apply(
    admin,
    integration(namespace, 'contoso', {
      ...spec,
      deployments: [{ name: 'gpt-4o' }, { name: 'text-embedding-3-small' }],
    }),
  );
  await waitFor(
    'the follower to lead',
    async () => ((await holder()) === 'replica-b' ? true : undefined),
    15_000,
  );
  const failoverMs = Date.now() - killedAt;
  assert.ok(failoverMs < (leaseDurationSeconds + 2) * 1000, `failover took ${failoverMs}ms`);
  const reconciled = await waitForReason(admin, namespace, 'contoso', 'Ready');
  assert.equal(reconciled.status?.observedGeneration, 2);
  assert.equal(reconciled.status?.deploymentsReady, '2/2');
  await sleep(100);
  assert.equal((await getIntegration(admin, namespace, 'contoso')).status?.deploymentsReady, '2/2');
});
