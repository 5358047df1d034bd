import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue } from './work-queue.ts';

const tick = () => sleep(5);

test('a key waiting is held once, and never runs twice at once', async () => {
  const queue = new WorkQueue({ concurrency: 1 });
  const running = new Set<string>();
  const runs: string[] = [];
  let overlap = false;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  queue.start(async (key) => {
    if (running.has(key)) overlap = true;
    running.add(key);
    runs.push(key);
    if (runs.length === 1) await gate;
    running.delete(key);
    return undefined;
  });
  queue.add('a');
  await tick();
  queue.add('a'); // while running: marked dirty
  queue.add('a');
  queue.add('b');
  queue.add('b'); // waiting behind a: deduplicated
  await tick();
  release();
  await sleep(20);
  assert.equal(overlap, false);
  assert.deepEqual(runs, ['a', 'b', 'a'], 'a runs again after its first run, once');
});

test('concurrency is bounded', async () => {
  const queue = new WorkQueue({ concurrency: 2 });
  let now = 0;
  let peak = 0;
  queue.start(async () => {
    peak = Math.max(peak, ++now);
    await sleep(10);
    now--;
    return undefined;
  });
  for (let i = 0; i < 10; i++) queue.add(`k${i}`);
  await sleep(100);
  assert.equal(peak, 2);
});

test('failures back off per key, exponentially up to the cap', async () => {
  const delays: number[] = [];
  const timers: Array<() => void> = [];
  const queue = new WorkQueue({
    concurrency: 1,
    baseBackoffMs: 100,
    maxBackoffMs: 1_000,
    setTimer: (fn, ms) => {
      delays.push(ms);
      timers.push(fn);
      return timers.length;
    },
    clearTimer: () => {},
  });
  queue.start(async () => {
    throw new Error('boom');
  });
  queue.add('k');
  for (let i = 0; i < 6; i++) {
    await tick();
    timers.shift()?.();
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1_000, 1_000]);
});

test('a requeue after success is scheduled, and an earlier add wins', async () => {
  const delays: number[] = [];
  const queue = new WorkQueue({
    concurrency: 1,
    setTimer: (_fn, ms) => delays.push(ms),
    clearTimer: () => {},
  });
  queue.start(async () => ({ requeueAfterMs: 5_000 }));
  queue.add('k');
  await tick();
  queue.addAfter('k', 10_000);
  assert.deepEqual(delays, [5_000], 'the later requeue does not replace the earlier one');
});

test('a key woken by an event runs before routine re-validation that waits', async () => {
  const queue = new WorkQueue({ concurrency: 1 });
  const runs: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  queue.start(async (key) => {
    runs.push(key);
    if (key === 'busy') await gate;
    return undefined;
  });
  queue.add('busy');
  await tick();
  for (const key of ['r1', 'r2', 'r3']) queue.addAfter(key, 0);
  queue.add('edited');
  queue.add('r3'); // an edit of a key waiting as routine promotes it
  release();
  await sleep(20);
  assert.deepEqual(runs, ['busy', 'edited', 'r3', 'r1', 'r2']);
});

test('retries of all keys together are spaced by the overall bucket, beyond its burst', async () => {
  const delays: number[] = [];
  const queue = new WorkQueue({
    concurrency: 10,
    baseBackoffMs: 100,
    retryRatePerSecond: 10,
    retryBurst: 3,
    now: () => 0, // no refill: the fourth and later retries wait 100 ms more each
    setTimer: (_fn, ms) => delays.push(ms),
    clearTimer: () => {},
  });
  queue.start(async () => {
    throw new Error('the API server is down');
  });
  for (let i = 0; i < 6; i++) queue.add(`k${i}`);
  await tick();
  assert.deepEqual(
    delays.sort((a, b) => a - b),
    [100, 100, 100, 100, 200, 300],
  );
});
