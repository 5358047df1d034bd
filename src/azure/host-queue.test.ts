import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentWork, HostQueue } from './host-queue.ts';

test('one call at a time per host; an edit waiting goes before re-validations waiting longer', async () => {
  const hosts = new HostQueue(1);
  const order: string[] = [];
  const call = async (name: string, host = 'a.openai.azure.com') => {
    const release = await hosts.acquire(host);
    order.push(name);
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
  };
  await Promise.all([
    call('routine 1'),
    call('routine 2'),
    call('routine 3'),
    currentWork.run({ urgent: true }, () => call('edit')),
    call('other host', 'b.openai.azure.com'),
  ]);
  assert.deepEqual(order, ['routine 1', 'other host', 'edit', 'routine 2', 'routine 3']);
  assert.equal(hosts.busyHosts, 0, 'idle hosts are forgotten');
});

test('a slot released twice is freed once', async () => {
  const hosts = new HostQueue(1);
  const first = await hosts.acquire('a');
  first();
  first();
  const second = await hosts.acquire('a');
  let thirdStarted = false;
  const third = hosts.acquire('a').then((release) => {
    thirdStarted = true;
    return release;
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(thirdStarted, false, 'the second call still holds the host');
  second();
  (await third)();
  assert.equal(hosts.busyHosts, 0);
});

test('a call whose signal aborts while it waits leaves the queue, and the host serves the next', async () => {
  const hosts = new HostQueue(1);
  const hung = await hosts.acquire('a');
  const impatient = new AbortController();
  const waitingTooLong = hosts.acquire('a', impatient.signal);
  const patient = hosts.acquire('a');
  assert.equal(hosts.waiting, 2);

  impatient.abort(new Error('timed out'));
  await assert.rejects(waitingTooLong, /timed out/);
  assert.equal(hosts.waiting, 1, 'the aborted call no longer waits');

  hung();
  (await patient)();
  assert.equal(hosts.busyHosts, 0, 'the aborted call holds nothing');
});
