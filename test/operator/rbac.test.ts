// The operator runs with a ServiceAccount token under exactly the RBAC that
// deploy/ ships: the audit log shows no request denied, and no granted verb unused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { integrationResource } from '../../src/api/group.ts';
import { customers } from '../azure-emulator/sample-world.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  createSecretIdentity,
  integration,
  startOperator,
  startSampleEmulator,
  waitFor,
  waitForReason,
} from '../support/operator.ts';
import { installOperatorIdentity } from '../support/operator-identity.ts';

const cluster = sharedCluster();
const admin = cluster.kubeConfig();

test('the operator needs exactly the RBAC of deploy/ and is never denied', async (t) => {
  const operatorNamespace = await testNamespace(t, admin);
  const suffix = operatorNamespace;
  const {
    kubeConfig: asOperator,
    username,
    granted,
  } = await installOperatorIdentity(admin, operatorNamespace, suffix);

  const { emulator } = await startSampleEmulator(t);
  const identity = `rbac-${suffix}`;
  await createSecretIdentity(t, admin, operatorNamespace, { name: identity });
  const operator = await startOperator(t, { kc: asOperator, emulator, operatorNamespace });

  // Exercise every path: publish, withdraw on a definitive failure, clean up on deletion.
  const namespace = await operator.namespace(t);
  const healthy = customers.healthy;
  const spec = {
    tenantId: healthy.tenantId,
    endpoint: `https://${healthy.resource}.openai.azure.com/`,
    servicePrincipalRef: { name: identity },
    deployments: [{ name: 'gpt-4o' }],
    probe: { interval: '30s' },
  };
  await apply(admin, integration(namespace, 'good', spec));
  await waitForReason(admin, namespace, 'good', 'Ready');
  await apply(
    admin,
    integration(namespace, 'good', { ...spec, deployments: [{ name: 'no-such-deployment' }] }),
  );
  await waitForReason(admin, namespace, 'good', 'DeploymentNotFound');
  await apply(admin, integration(namespace, 'good', spec));
  await waitForReason(admin, namespace, 'good', 'Ready');
  const custom = admin.makeApiClient(CustomObjectsApi);
  await custom.deleteNamespacedCustomObject({ ...integrationResource, namespace, name: 'good' });
  await waitFor('the integration to be gone', async () =>
    custom.getNamespacedCustomObject({ ...integrationResource, namespace, name: 'good' }).then(
      () => undefined,
      () => true,
    ),
  );

  // Stopping releases the leader Lease: that request belongs in the audit too.
  await operator.stop();
  const requests = cluster.auditEvents().filter((e) => e.user.username === username);
  assert.ok(requests.length > 0, 'the audit log has the operator requests');
  const denied = requests
    .filter((e) => e.responseStatus?.code === 403)
    .map((e) => `${e.verb} ${e.requestURI}`);
  assert.deepEqual(denied, [], 'no request of the operator was forbidden');

  const used = new Set(
    requests.flatMap((e) => {
      const resource = e.objectRef?.subresource
        ? `${e.objectRef.resource}/${e.objectRef.subresource}`
        : e.objectRef?.resource;
      const used = `${e.objectRef?.apiGroup ?? ''}:${resource}`;
      // A server-side apply that creates the object (201) is authorized as create too.
      return e.verb === 'patch' && e.responseStatus?.code === 201
        ? [`${used}:patch`, `${used}:create`]
        : [`${used}:${e.verb}`];
    }),
  );
  const unused = granted
    .flatMap((rule) =>
      rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) =>
          rule.verbs.map((verb) => `${group}:${resource}:${verb}`),
        ),
      ),
    )
    .filter((grant) => !used.has(grant));
  assert.deepEqual(unused, [], 'every granted verb is used');
});
