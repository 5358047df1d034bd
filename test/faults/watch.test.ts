// The operator's watch (src/kube/watch.ts) against the real API server: what
// client-node's ListWatch needs of it to stay correct on the bad days. A 410 Gone
// needs a compacted etcd, so control-plane-faults.test.ts covers it on its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CoreV1Api,
  type KubernetesObject,
  ListWatch,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { makeApiClient, shareConnections } from '../../src/kube/transport.ts';
import { StreamingWatch } from '../../src/kube/watch.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import { waitFor } from '../support/operator.ts';

type Ended = { error: unknown };

function watchOnce(
  watch: StreamingWatch,
  path: string,
  params: Record<string, unknown> = {},
): { events: Array<{ phase: string; object: KubernetesObject }>; ended: Promise<Ended> } {
  const events: Array<{ phase: string; object: KubernetesObject }> = [];
  let resolve: (ended: Ended) => void = () => {};
  const ended = new Promise<Ended>((r) => {
    resolve = r;
  });
  void watch.watch(
    path,
    params,
    (phase, object) => events.push({ phase, object: object as KubernetesObject }),
    (error) => resolve({ error }),
  );
  return { events, ended };
}

test('an informer on this watch sees adds, edits and deletes, slimmed, in order', async (t) => {
  const kc = shareConnections(sharedCluster().kubeConfig());
  const namespace = await testNamespace(t, kc);
  const core = makeApiClient(kc, CoreV1Api);
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  let lives = 0;
  const informer = new ListWatch<V1ConfigMap>(
    path,
    new StreamingWatch(kc, {
      alive: () => lives++,
      slim: (object) => {
        if (object.metadata) object.metadata.managedFields = undefined;
      },
    }),
    () => core.listNamespacedConfigMap({ namespace }),
    false,
  );
  const seen: string[] = [];
  informer.on('add', (cm) => seen.push(`add ${cm.metadata?.name} ${cm.data?.v}`));
  informer.on('update', (cm) => seen.push(`update ${cm.metadata?.name} ${cm.data?.v}`));
  informer.on('delete', (cm) => seen.push(`delete ${cm.metadata?.name}`));
  await informer.start();
  t.after(() => informer.stop());

  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'a' }, data: { v: '1' } },
  });
  await core.replaceNamespacedConfigMap({
    namespace,
    name: 'a',
    body: { metadata: { name: 'a' }, data: { v: '2' } },
  });
  await core.deleteNamespacedConfigMap({ namespace, name: 'a' });
  await waitFor('the delete to arrive', async () => (seen.length === 3 ? true : undefined));
  assert.deepEqual(seen, ['add a 1', 'update a 2', 'delete a']);
  assert.ok(lives >= 4, `the accepted watch and three events are signs of life, got ${lives}`);

  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'b' } } });
  await waitFor('b in the cache', async () => informer.get('b', namespace));
  assert.equal(informer.get('b', namespace)?.metadata?.managedFields, undefined);
});

test('a refused watch ends with its HTTP status, which ListWatch reads', async () => {
  const kc = shareConnections(sharedCluster().kubeConfig());
  const { events, ended } = watchOnce(new StreamingWatch(kc), '/api/v1/nosuchresources');
  const { error } = await ended;
  assert.equal((error as { statusCode?: number }).statusCode, 404);
  assert.deepEqual(events, []);
});

test('a watch with no byte for its idle timeout ends as a TimeoutError, which ListWatch resumes at once', async (t) => {
  const kc = shareConnections(sharedCluster().kubeConfig());
  const namespace = await testNamespace(t, kc);
  const started = Date.now();
  const { ended } = watchOnce(
    new StreamingWatch(kc, { idleTimeoutMs: 1_000 }),
    `/api/v1/namespaces/${namespace}/configmaps`,
  );
  const { error } = await ended;
  assert.equal((error as Error).name, 'TimeoutError');
  assert.ok(Date.now() - started >= 900, 'not before the idle timeout');
});

test('a watch stopped by its caller reports nothing', async (t) => {
  const kc = shareConnections(sharedCluster().kubeConfig());
  const namespace = await testNamespace(t, kc);
  let reported = false;
  const controller = await new StreamingWatch(kc).watch(
    `/api/v1/namespaces/${namespace}/configmaps`,
    {},
    () => {},
    () => {
      reported = true;
    },
  );
  controller.abort();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(reported, false);
});
