import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { internStrings, StringPool } from './string-pool.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// An integration as a watch delivers it: the same messages in every object.
const parsedIntegration = (i: number) =>
  JSON.parse(
    JSON.stringify({
      apiVersion: 'llm.runwhen.com/v1alpha1',
      kind: 'AzureOpenAIIntegration',
      metadata: { name: `team-${i}`, uid: `uid-${i}`, resourceVersion: String(1000 + i) },
      status: {
        conditions: Array.from({ length: 6 }, (_, c) => ({
          type: `Condition${c}`,
          status: 'True',
          reason: 'Verified',
          message: `Condition ${c} holds: ${'the endpoint accepted the platform token '.repeat(4)}`,
          lastTransitionTime: '2026-12-03T10:00:00Z',
        })),
      },
    }),
  );

test('interned objects keep one copy of each repeated string, and their values', () => {
  const pool = new StringPool();
  gc();
  const before = process.memoryUsage().heapUsed;
  const plain = Array.from({ length: 3000 }, (_, i) => parsedIntegration(i));
  gc();
  const plainBytes = process.memoryUsage().heapUsed - before;

  const interned = Array.from({ length: 3000 }, (_, i) => {
    const object = parsedIntegration(i);
    internStrings(object, pool);
    return object;
  });
  gc();
  const bothBytes = process.memoryUsage().heapUsed - before;
  const internedBytes = bothBytes - plainBytes;

  assert.deepEqual(interned, plain);
  // Six messages of 190 bytes each are most of an object; interned, they are gone.
  assert.ok(
    internedBytes < plainBytes * 0.6,
    `interned ${internedBytes} bytes, plain ${plainBytes} bytes`,
  );
});

test('the pool stays bounded however many distinct strings pass through it', () => {
  const pool = new StringPool({ maxEntries: 1000 });
  for (let i = 0; i < 100_000; i++) pool.intern(`value-${i}`);
  assert.ok(pool.size <= 2000, `${pool.size} entries`);
});
