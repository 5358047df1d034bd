// The operator runs with a ServiceAccount token under exactly the RBAC that
// deploy/ ships: the audit log shows no request denied, and no granted verb unused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, KubeConfig, loadAllYaml } from '@kubernetes/client-node';
import { integrationResource } from '../../src/api/group.ts';
import { customers } from '../azure-emulator/sample-world.ts';
import { binaryPath, moduleDir } from '../controlplane/binaries.ts';
import { applyManifests } from '../controlplane/manifests.ts';
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

const cluster = sharedCluster();
const admin = cluster.kubeConfig();
const deployDir = join(moduleDir, '..', '..', 'deploy');

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

test('the operator needs exactly the RBAC of deploy/ and is never denied', async (t) => {
  const operatorNamespace = await testNamespace(t, admin);
  const suffix = operatorNamespace;
  // Render deploy/ as a user would (kubectl kustomize) and keep the identity and its RBAC.
  const rendered = loadAllYaml(
    execFileSync(binaryPath('kubectl'), ['kustomize', deployDir], { encoding: 'utf8' }),
  ) as Array<{
    kind: string;
    metadata: { name: string; namespace?: string };
    rules?: Rule[];
    roleRef?: { name: string };
    subjects?: Array<{ namespace?: string }>;
  }>;
  const rbacKinds = new Set([
    'ServiceAccount',
    'ClusterRole',
    'ClusterRoleBinding',
    'Role',
    'RoleBinding',
  ]);
  const objects = rendered
    .filter((o) => rbacKinds.has(o.kind))
    .map((o) => {
      const copy = structuredClone(o);
      if (copy.metadata.namespace) copy.metadata.namespace = operatorNamespace;
      if (copy.kind.startsWith('Cluster')) copy.metadata.name = `${copy.metadata.name}-${suffix}`;
      if (copy.kind === 'ClusterRoleBinding' && copy.roleRef)
        copy.roleRef.name = `${copy.roleRef.name}-${suffix}`;
      for (const subject of copy.subjects ?? []) subject.namespace = operatorNamespace;
      return copy;
    });
  await applyManifests(admin, objects as never);
  const granted = objects
    .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
    .flatMap((o) => o.rules ?? []);

  const core = admin.makeApiClient(CoreV1Api);
  const serviceAccount = rendered.find((o) => o.kind === 'ServiceAccount')?.metadata.name ?? '';
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    namespace: operatorNamespace,
    name: serviceAccount,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const asOperator = new KubeConfig();
  const clusterConfig = admin.getCurrentCluster();
  assert.ok(clusterConfig && tokenRequest.status?.token);
  asOperator.loadFromOptions({
    clusters: [clusterConfig],
    users: [{ name: 'operator', token: tokenRequest.status.token }],
    contexts: [{ name: 'operator', cluster: clusterConfig.name, user: 'operator' }],
    currentContext: 'operator',
  });

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

  const username = `system:serviceaccount:${operatorNamespace}:${serviceAccount}`;
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
