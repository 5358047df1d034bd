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

/** A clock and the queue's one timer, moved by hand. */
function fakeTime() {
  let clock = 0;
  let pending: { fn: () => void; at: number } | undefined;
  const delays: number[] = [];
  return {
    delays,
    options: {
      now: () => clock,
      setTimer: (fn: () => void, ms: number) => {
        delays.push(ms);
        pending = { fn, at: clock + ms };
        return pending;
      },
      clearTimer: (handle: unknown) => {
        if (pending === handle) pending = undefined;
      },
    },
    /** Moves the clock to the timer's time and fires it. */
    fireNext() {
      const due = pending;
      if (!due) return;
      clock = due.at;
      pending = undefined;
      due.fn();
    },
    get now() {
      return clock;
    },
  };
}

test('failures back off per key, exponentially up to the cap', async () => {
  const time = fakeTime();
  const queue = new WorkQueue({
    concurrency: 1,
    baseBackoffMs: 100,
    maxBackoffMs: 1_000,
    ...time.options,
  });
  queue.start(async () => {
    throw new Error('boom');
  });
  queue.add('k');
  for (let i = 0; i < 6; i++) {
    await tick();
    time.fireNext();
  }
  assert.deepEqual(time.delays, [100, 200, 400, 800, 1_000, 1_000]);
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
  const time = fakeTime();
  const queue = new WorkQueue({
    concurrency: 10,
    baseBackoffMs: 100,
    retryRatePerSecond: 10,
    retryBurst: 3,
    ...time.options,
  });
  const failedOnce = new Set<string>();
  const retriedAt: Record<string, number> = {};
  queue.start(async (key) => {
    if (failedOnce.has(key)) {
      retriedAt[key] = time.now;
      return undefined;
    }
    failedOnce.add(key);
    throw new Error('the API server is down');
  });
  for (let i = 0; i < 6; i++) queue.add(`k${i}`);
  await tick();
  // The clock stands still while they fail: the bucket refills only as it moves.
  for (let i = 0; i < 3; i++) {
    time.fireNext();
    await tick();
  }
  assert.deepEqual(
    Object.values(retriedAt).sort((a, b) => a - b),
    [100, 100, 100, 100, 200, 300],
    'three from the burst and one refilled token at 100 ms, then one per 100 ms',
  );
});

test('thousands of delayed keys share one timer, and each runs when it is due', async () => {
  const time = fakeTime();
  const queue = new WorkQueue({ concurrency: 100, ...time.options });
  const ran: Array<[string, number]> = [];
  queue.start(async (key) => {
    ran.push([key, time.now]);
    return undefined;
  });
  for (let i = 0; i < 3000; i++) queue.addAfter(`k${i}`, 1_000 + (i % 3) * 1_000);
  queue.addAfter('k1', 500); // sooner than it was: moved up
  queue.addAfter('k2', 9_000); // later than it was: ignored
  queue.add('k0'); // an event wins over its delay
  await tick();
  assert.equal(time.delays.length, 2, 'one timer, set again only when an earlier key came');
  for (let i = 0; i < 4; i++) {
    time.fireNext();
    await tick();
  }
  assert.equal(ran.length, 3000);
  const at = new Map(ran.map(([key, when]) => [key, when]));
  assert.equal(at.get('k0'), 0);
  assert.equal(at.get('k1'), 500);
  assert.equal(at.get('k2'), 3_000);
  assert.equal(at.get('k3'), 1_000);
  assert.equal(at.get('k2999'), 3_000);
});

test('an event for a key under routine re-validation supersedes that run: its signal aborts, and the key runs again, urgent', async () => {
  const queue = new WorkQueue({ concurrency: 2 });
  const runs: Array<[string, string]> = [];
  let routineSignal: AbortSignal | undefined;
  queue.start(async (key, lane, superseded) => {
    runs.push([key, lane]);
    if (lane === 'routine') {
      routineSignal = superseded;
      // A re-validation waiting on Azure, until superseded.
      await new Promise((resolve) => superseded?.addEventListener('abort', resolve));
    }
    return undefined;
  });
  queue.addAfter('k', 0);
  await tick();
  assert.equal(routineSignal?.aborted, false);
  queue.add('k'); // the user's edit
  await tick();
  assert.equal(routineSignal?.aborted, true);
  assert.deepEqual(runs, [
    ['k', 'routine'],
    ['k', 'urgent'],
  ]);
});

test('an urgent run is never superseded: it has no signal', async () => {
  const queue = new WorkQueue({ concurrency: 1 });
  const signals: Array<AbortSignal | undefined> = [];
  queue.start(async (_key, _lane, superseded) => {
    signals.push(superseded);
    return undefined;
  });
  queue.add('k');
  await tick();
  assert.deepEqual(signals, [undefined]);
});
