import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { trim } from './informer.ts';

test('the cache keeps neither managedFields nor kubectl last-applied copy, and keeps other annotations', () => {
  const applied = {
    metadata: {
      name: 'team-a',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{"tenantId":"..."}}',
        'example.com/owner': 'team-a',
      },
      managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }],
    },
  } as KubernetesObject;
  trim(applied);
  assert.deepEqual(applied.metadata, {
    name: 'team-a',
    annotations: { 'example.com/owner': 'team-a' },
    managedFields: undefined,
  });

  const onlyLastApplied = {
    metadata: {
      name: 'b',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    },
  } as KubernetesObject;
  trim(onlyLastApplied);
  assert.equal(onlyLastApplied.metadata?.annotations, undefined);
});
