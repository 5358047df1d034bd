// Proves the test control plane is a real one: what the operator's tests rely on
// (CRUD, watch, CRD schema and CEL, status subresource, RBAC, audit, GC) behaves
// as on a production API server.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import { moduleDir, pinnedVersions } from './binaries.ts';
import { applyManifestsIn } from './manifests.ts';

const cluster = sharedCluster();
const widgets = { group: 'harness.test', version: 'v1', plural: 'widgets' };

async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(100);
  }
}

function statusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

describe('control plane', () => {
  const kc = cluster.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);

  test('serves the pinned Kubernetes version', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, pinnedVersions().kubernetes);
  });

  test('ConfigMap CRUD is observed by a watch in order', async (t) => {
    const namespace = await testNamespace(t, kc);
    const seen: string[] = [];
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { fieldSelector: 'metadata.name=settings' },
      (type, object: { data?: Record<string, string> }) =>
        seen.push(`${type}:${object.data?.colour ?? ''}`),
      () => {},
    );
    t.after(() => watch.abort());

    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'settings' }, data: { colour: 'red' } },
    });
    const read = await core.readNamespacedConfigMap({ namespace, name: 'settings' });
    assert.equal(read.data?.colour, 'red');
    read.data = { colour: 'blue' };
    await core.replaceNamespacedConfigMap({ namespace, name: 'settings', body: read });
    await core.deleteNamespacedConfigMap({ namespace, name: 'settings' });
    await assert.rejects(
      core.readNamespacedConfigMap({ namespace, name: 'settings' }),
      (e) => statusCode(e) === 404,
    );

    await eventually(async () => (seen.length >= 3 ? true : undefined), 'three watch events');
    assert.deepEqual(seen, ['ADDED:red', 'MODIFIED:blue', 'DELETED:blue']);
  });

  describe('custom resources', async () => {
    await applyManifestsIn(kc, join(moduleDir, 'fixtures'));
    const custom = kc.makeApiClient(CustomObjectsApi);

    test('the schema applies defaults and the CEL rule rejects bad input with its message', async (t) => {
      const namespace = await testNamespace(t, kc);
      const created = (await custom.createNamespacedCustomObject({
        ...widgets,
        namespace,
        body: { apiVersion: 'harness.test/v1', kind: 'Widget', metadata: { name: 'ok' }, spec: {} },
      })) as { spec: { minReplicas: number; maxReplicas: number } };
      assert.deepEqual(created.spec, { minReplicas: 1, maxReplicas: 3 });

      await assert.rejects(
        custom.createNamespacedCustomObject({
          ...widgets,
          namespace,
          body: {
            apiVersion: 'harness.test/v1',
            kind: 'Widget',
            metadata: { name: 'bad' },
            spec: { minReplicas: 5, maxReplicas: 2 },
          },
        }),
        (e) =>
          statusCode(e) === 422 &&
          String((e as ApiException<string>).body).includes(
            'minReplicas must not exceed maxReplicas',
          ),
      );
    });

    test('status is written through its subresource with server-side apply, apart from spec', async (t) => {
      const namespace = await testNamespace(t, kc);
      await custom.createNamespacedCustomObject({
        ...widgets,
        namespace,
        body: { apiVersion: 'harness.test/v1', kind: 'Widget', metadata: { name: 'w' }, spec: {} },
      });
      const applied = (await custom.patchNamespacedCustomObjectStatus(
        {
          ...widgets,
          namespace,
          name: 'w',
          fieldManager: 'harness-test',
          force: true,
          body: {
            apiVersion: 'harness.test/v1',
            kind: 'Widget',
            metadata: { name: 'w' },
            status: { phase: 'Ready' },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      )) as { metadata: { generation: number }; status: { phase: string } };
      assert.equal(applied.status.phase, 'Ready');
      assert.equal(applied.metadata.generation, 1, 'a status write does not bump the generation');

      // A status sent to the main resource is ignored, as the status subresource promises.
      const current = (await custom.getNamespacedCustomObject({
        ...widgets,
        namespace,
        name: 'w',
      })) as Record<string, unknown>;
      const replaced = (await custom.replaceNamespacedCustomObject({
        ...widgets,
        namespace,
        name: 'w',
        body: { ...current, spec: { minReplicas: 2, maxReplicas: 3 }, status: { phase: 'Forged' } },
      })) as { metadata: { generation: number }; status: { phase: string } };
      assert.equal(replaced.status.phase, 'Ready');
      assert.equal(replaced.metadata.generation, 2);
    });
  });

  test('RBAC denies a ServiceAccount token what its Role does not grant, and the audit log records it', async (t) => {
    const namespace = await testNamespace(t, kc);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: 'reader' } },
    });
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      namespace,
      name: 'reader',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token;
    assert.ok(token);

    const asReader = new KubeConfig();
    const admin = kc.getCurrentCluster();
    assert.ok(admin);
    asReader.loadFromOptions({
      clusters: [admin],
      users: [{ name: 'reader', token }],
      contexts: [{ name: 'reader', cluster: admin.name, user: 'reader' }],
      currentContext: 'reader',
    });
    const readerCore = asReader.makeApiClient(CoreV1Api);
    const list = await readerCore.listNamespacedConfigMap({ namespace });
    assert.ok(Array.isArray(list.items));
    await assert.rejects(
      readerCore.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'nope' } } }),
      (e) => statusCode(e) === 403,
    );
    await assert.rejects(
      readerCore.listNamespacedSecret({ namespace }),
      (e) => statusCode(e) === 403,
    );

    const username = `system:serviceaccount:${namespace}:reader`;
    const denied = cluster
      .auditEvents()
      .filter((e) => e.user.username === username && e.responseStatus?.code === 403)
      .map((e) => `${e.verb} ${e.objectRef?.resource}`);
    assert.deepEqual(denied.sort(), ['create configmaps', 'list secrets']);
  });

  test('deleting an owner garbage-collects what it owns', async (t) => {
    const namespace = await testNamespace(t, kc);
    const owner = await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'owner' } },
    });
    assert.ok(owner.metadata?.uid);
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace, name: 'owner' });
    await eventually(
      () =>
        core.readNamespacedConfigMap({ namespace, name: 'owned' }).then(
          () => undefined,
          (e) => (statusCode(e) === 404 ? true : undefined),
        ),
      'the owned ConfigMap to be collected',
    );
  });
});
