// The silent stall: the connection to the API server stops moving bytes but
// never breaks. No error reaches the informer; only its watchdog notices. It
// must stop claiming readiness, and once the path works again it must list
// afresh and deliver what changed meanwhile.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { ResilientInformer } from '../../src/controller/informer.ts';
import { createLogger } from '../../src/log.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import { startFreezableProxy } from '../support/freezable-proxy.ts';
import { waitFor } from '../support/operator.ts';

/** A namespace, and an informer on its ConfigMaps whose connections go through a proxy that can freeze. */
async function informerThroughProxy(t: TestContext) {
  const admin = sharedCluster().kubeConfig();
  const namespace = await testNamespace(t, admin);
  const server = new URL(admin.getCurrentCluster()?.server ?? '');
  const proxy = await startFreezableProxy({ host: server.hostname, port: Number(server.port) });
  t.after(() => proxy.close());

  // The informer's own view of the cluster goes through the proxy.
  const viaProxy = new KubeConfig();
  viaProxy.loadFromString(admin.exportConfig());
  const cluster = viaProxy.getCurrentCluster();
  viaProxy.clusters = viaProxy.clusters.map((c) =>
    c.name === cluster?.name ? { ...c, server: `https://127.0.0.1:${proxy.port}` } : c,
  );
  const proxied = viaProxy.makeApiClient(CoreV1Api);
  const informer = new ResilientInformer<V1ConfigMap>(
    'configMaps',
    viaProxy,
    `/api/v1/namespaces/${namespace}/configmaps`,
    () => proxied.listNamespacedConfigMap({ namespace }),
    createLogger('silent'),
    { staleAfterMs: 2_000 },
  );
  t.after(() => informer.stop());
  return { namespace, proxy, informer, core: admin.makeApiClient(CoreV1Api) };
}

test('a stalled informer is noticed by its watchdog, and catches up by listing again', async (t) => {
  const { namespace, proxy, informer, core } = await informerThroughProxy(t);
  const seen = new Set<string>();
  await informer.start({ add: (cm) => seen.add(cm.metadata?.name ?? '') });
  assert.equal(informer.ready, true);

  const create = (name: string) =>
    core.createNamespacedConfigMap({ namespace, body: { metadata: { name } } });
  await create('before-the-stall');
  await waitFor('the watch to deliver a ConfigMap', async () =>
    seen.has('before-the-stall') ? true : undefined,
  );

  proxy.freeze();
  await create('during-the-stall');
  await waitFor(
    'the watchdog to withdraw readiness',
    async () => (informer.ready ? undefined : true),
    10_000,
  );
  assert.ok(informer.staleRestarts >= 1);
  assert.equal(seen.has('during-the-stall'), false, 'nothing can arrive while frozen');

  proxy.thaw();
  await waitFor(
    'the informer to list again and be ready',
    async () => (informer.ready && seen.has('during-the-stall') ? true : undefined),
    15_000,
  );
  await create('after-the-stall');
  await waitFor('the new watch to deliver', async () =>
    seen.has('after-the-stall') ? true : undefined,
  );
});

test('after a stall, the fresh list is compared with what was known: deletes, updates and adds, nothing for the unchanged', async (t) => {
  const { namespace, proxy, informer, core } = await informerThroughProxy(t);
  const events: string[] = [];
  const name = (cm: V1ConfigMap | undefined) => cm?.metadata?.name ?? '';
  await informer.start({
    add: (cm) => events.push(`add ${name(cm)}`),
    update: (cm, previous) =>
      events.push(`update ${name(cm)} ${previous?.data?.v ?? 'unknown'} -> ${cm.data?.v}`),
    delete: (cm) => events.push(`delete ${name(cm)}`),
  });

  for (const each of ['kept', 'edited', 'deleted'])
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: each }, data: { v: '1' } },
    });
  await waitFor('the watch to deliver the ConfigMaps', async () =>
    events.length === 3 ? true : undefined,
  );

  proxy.freeze();
  events.length = 0;
  await core.patchNamespacedConfigMap(
    { namespace, name: 'edited', body: { data: { v: '2' } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await core.deleteNamespacedConfigMap({ namespace, name: 'deleted' });
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'created' }, data: { v: '1' } },
  });
  await waitFor(
    'the watchdog to withdraw readiness',
    async () => (informer.ready ? undefined : true),
    10_000,
  );

  proxy.thaw();
  await waitFor(
    'the informer to list again and be ready',
    async () => (informer.ready && events.length >= 3 ? true : undefined),
    15_000,
  );
  assert.deepEqual(events.sort(), ['add created', 'delete deleted', 'update edited 1 -> 2']);
  assert.deepEqual(informer.list().map(name).sort(), ['created', 'edited', 'kept']);
});
