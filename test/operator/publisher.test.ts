// The ConfigMap publisher against the real API server, with the informer cache it
// relies on left empty: what it does when the cache has not seen a ConfigMap yet.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { integrationResource } from '../../src/api/group.ts';
import type { Integration } from '../../src/api/integration.ts';
import { clouds } from '../../src/azure/clouds.ts';
import { makeApiClient } from '../../src/kube/transport.ts';
import { ConfigMapPublisher } from '../../src/publish/apply.ts';
import { buildPublication } from '../../src/publish/configmap.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import { integration } from '../support/operator.ts';

const cluster = sharedCluster();
const kc = cluster.kubeConfig();
const core = makeApiClient(kc, CoreV1Api);
const custom = makeApiClient(kc, CustomObjectsApi);

const publicationFor = (namespace: string, uid: string, deployments: string[]) =>
  buildPublication({
    integration: { name: 'contoso', namespace, uid },
    configMapName: 'contoso-azure-openai',
    endpointUrl: 'https://contoso.openai.azure.com/',
    tenantId: '11111111-1111-4111-8111-111111111111',
    clientId: '22222222-2222-4222-8222-222222222222',
    cloud: clouds.AzurePublicCloud,
    apiVersion: '2024-10-21',
    defaultDeployment: undefined,
    deployments: deployments.map((name) => ({ name })),
  });

/** The publisher's requests for ConfigMaps in the namespace, since `since` audit events. */
const requestsFor = (namespace: string, since: number) =>
  cluster
    .auditEvents()
    .slice(since)
    .filter(
      (e) =>
        e.stage === 'ResponseComplete' &&
        e.userAgent === 'azure-openai-operator' &&
        e.objectRef?.namespace === namespace &&
        e.objectRef?.resource === 'configmaps',
    )
    .map((e) => `${e.verb} ${e.responseStatus?.code}`);

/** An integration no operator watches (its namespace has no shard label): the owner GC must find. */
async function ownerIn(namespace: string): Promise<string> {
  const created = (await custom.createNamespacedCustomObject({
    ...integrationResource,
    namespace,
    body: integration(namespace, 'contoso', {
      tenantId: '11111111-1111-4111-8111-111111111111',
      endpoint: 'https://contoso.openai.azure.com/',
      deployments: [{ name: 'a' }],
    }),
  })) as Integration;
  return created.metadata.uid;
}

describe('ConfigMap publisher', { concurrency: true }, () => {
  // The informer that normally answers has not seen anything.
  const publisher = new ConfigMapPublisher(core, () => undefined);

  test('a first publication creates the ConfigMap in one request, without a read', async (t) => {
    const namespace = await testNamespace(t, kc);
    const uid = await ownerIn(namespace);
    const since = cluster.auditEvents().length;

    const outcome = await publisher.publish(namespace, uid, publicationFor(namespace, uid, ['a']));

    assert.equal(outcome.state, 'published');
    assert.deepEqual(requestsFor(namespace, since), ['patch 201']);
    const cm = await core.readNamespacedConfigMap({ namespace, name: 'contoso-azure-openai' });
    assert.equal(cm.data?.AZURE_OPENAI_DEPLOYMENTS, 'a');
    assert.deepEqual(
      cm.metadata?.managedFields?.map((f) => [f.manager, f.operation]),
      [['azure-openai-operator', 'Apply']],
      'owned by our apply, so a later apply can remove keys',
    );
  });

  test('a ConfigMap the cache has not shown yet is read, and updated only if it differs', async (t) => {
    const namespace = await testNamespace(t, kc);
    const uid = await ownerIn(namespace);
    await publisher.publish(namespace, uid, publicationFor(namespace, uid, ['a', 'b']));
    const written = await core.readNamespacedConfigMap({ namespace, name: 'contoso-azure-openai' });

    let since = cluster.auditEvents().length;
    const same = await publisher.publish(
      namespace,
      uid,
      publicationFor(namespace, uid, ['a', 'b']),
    );
    assert.equal(same.state, 'published');
    assert.deepEqual(requestsFor(namespace, since), ['patch 409', 'get 200']);
    const unchanged = await core.readNamespacedConfigMap({
      namespace,
      name: 'contoso-azure-openai',
    });
    assert.equal(unchanged.metadata?.resourceVersion, written.metadata?.resourceVersion);

    since = cluster.auditEvents().length;
    const fewer = await publisher.publish(namespace, uid, publicationFor(namespace, uid, ['a']));
    assert.equal(fewer.state, 'published');
    assert.deepEqual(requestsFor(namespace, since), ['patch 409', 'get 200', 'patch 200']);
    const updated = await core.readNamespacedConfigMap({ namespace, name: 'contoso-azure-openai' });
    assert.equal(updated.data?.AZURE_OPENAI_DEPLOYMENTS, 'a');
  });

  test("someone else's ConfigMap of the same name is reported and left as it was", async (t) => {
    const namespace = await testNamespace(t, kc);
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'contoso-azure-openai' }, data: { owner: 'someone else' } },
    });
    const uid = await ownerIn(namespace);

    const outcome = await publisher.publish(namespace, uid, publicationFor(namespace, uid, ['a']));

    assert.equal(outcome.state, 'conflict');
    const untouched = await core.readNamespacedConfigMap({
      namespace,
      name: 'contoso-azure-openai',
    });
    assert.deepEqual(untouched.data, { owner: 'someone else' });
    assert.equal(untouched.metadata?.ownerReferences, undefined);
  });
});
